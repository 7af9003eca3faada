import os
import tempfile

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Feature caches of the tests go to a fresh folder, not the user's cache.
os.environ["BMRU_CACHE_DIR"] = tempfile.mkdtemp(prefix="bmru-test-cache-")


TINY_RUN = """
name: tiny
data:
  split: {method: speaker_hash, salt: sample36, validation: 0.2, test: 0.2}
augment: {enabled: false}
model: {units: 2, layers: 1}
train: {epochs: 2, batch_size: 16, epsilon: null, tensorboard: false, verbose: 0}
"""


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A 2-unit model trained 2 epochs on the embedded sample: a real run folder."""
    from bmru_keras.cli import main

    folder = tmp_path_factory.mktemp("run")
    (folder / "tiny.yaml").write_text(TINY_RUN)
    assert main(["run", str(folder / "tiny.yaml"), "--out", str(folder / "run")]) == 0
    return folder / "run"
