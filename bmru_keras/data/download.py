"""Download and unpack the full Speech Commands v0.02 archive."""

import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from bmru_keras.data.speech_commands import CORE_WORDS, DatasetError

URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
#: v0.02 has 105,829 utterances of 35 words.
EXPECTED_CLIPS = 105_829


def download_speech_commands(directory: str | Path, url: str = URL) -> Path:
    """Fetch, verify and unpack the dataset into ``directory``; return it.

    Fails fast (10 s) with a clear message when there is no network."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    archive = target / Path(url).name
    if not archive.is_file():
        partial = archive.with_suffix(".part")
        try:
            with (
                urllib.request.urlopen(url, timeout=10) as response,
                open(partial, "wb") as out,
            ):
                expected = int(response.headers.get("Content-Length", 0))
                while chunk := response.read(1 << 20):
                    out.write(chunk)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            partial.unlink(missing_ok=True)
            raise DatasetError(
                f"could not download {url}: {error}. This needs a network; offline, "
                "copy an unpacked Speech Commands folder here and pass it with "
                "--data-dir (the package's sample works with no download)."
            ) from error
        if expected and partial.stat().st_size != expected:
            raise DatasetError(
                f"download of {url} is incomplete ({partial.stat().st_size} of "
                f"{expected} bytes); run the command again"
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
