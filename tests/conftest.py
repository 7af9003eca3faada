import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Feature caches of the tests go to a fresh folder, not the user's cache.
os.environ["BMRU_CACHE_DIR"] = tempfile.mkdtemp(prefix="bmru-test-cache-")
