"""Download and unpack the full Speech Commands v0.02 archive."""

import hashlib
import logging
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from bmru_keras.data.speech_commands import CORE_WORDS, DatasetError

log = logging.getLogger(__name__)

URL = "https://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
#: The archive's SHA-256 and size, as published in the TensorFlow Datasets checksums.
SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
SIZE = 2_428_923_189
#: v0.02 has 105,829 utterances of 35 words.
EXPECTED_CLIPS = 105_829
CHUNK = 1 << 20


def download_speech_commands(
    directory: str | Path, url: str = URL, sha256: str = SHA256, size: int | None = SIZE
) -> Path:
    """Fetch, check (SHA-256) and unpack the dataset into ``directory``;
    return it. A cut download resumes from its ``.part`` file where the
    server allows it; progress goes to the log. Fails fast (10 s) with a
    clear message when there is no network."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    archive = target / Path(url).name
    if not archive.is_file():
        partial = archive.with_suffix(".part")
        _fetch(url, partial, size)
        digest = _sha256(partial)
        if digest != sha256:
            raise DatasetError(
                f"{partial} has SHA-256 {digest}, not the published {sha256}: the download "
                "is damaged or not the v0.02 archive. Delete it and run the command again."
            )
        partial.replace(archive)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, EOFError) as error:
        raise DatasetError(
            f"{archive} is not a valid archive ({error}); delete it and run again"
        ) from error
    verify_dataset(target)
    return target


def _fetch(url: str, partial: Path, size: int | None) -> None:
    """Download ``url`` into ``partial``, resuming what it already holds."""
    have = partial.stat().st_size if partial.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            resumed = have and response.status == 206
            if not resumed:
                have = 0  # the server sends the whole file
            total = have + int(response.headers.get("Content-Length", 0)) or size
            next_report = 0.0
            with open(partial, "ab" if resumed else "wb") as out:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    have += len(chunk)
                    if total and have / total >= next_report:
                        log.info("downloaded %.1f of %.1f MB", have / 1e6, total / 1e6)
                        next_report += 0.05
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise DatasetError(
            f"could not download {url}: {error}. This needs a network (run the command "
            "again to resume); offline, copy an unpacked Speech Commands folder here and "
            "pass it with --data-dir (the package's sample works with no download)."
        ) from error
    if size and partial.stat().st_size != size:
        raise DatasetError(
            f"download of {url} is incomplete ({partial.stat().st_size} of {size} bytes); "
            "run the command again to resume"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_dataset(root: Path) -> None:
    """Check the unpacked layout: lists, core words, number of clips."""
    missing = [w for w in CORE_WORDS if not (root / w).is_dir()]
    expected = ("validation_list.txt", "testing_list.txt", "_background_noise_")
    missing += [name for name in expected if not (root / name).exists()]
    if missing:
        raise DatasetError(f"{root} lacks {missing} after unpacking")
    clips = sum(1 for _ in root.glob("*/*.wav")) - sum(
        1 for _ in (root / "_background_noise_").glob("*.wav")
    )
    if clips != EXPECTED_CLIPS:
        raise DatasetError(
            f"{root} holds {clips} clips; Speech Commands v0.02 has {EXPECTED_CLIPS}"
        )
