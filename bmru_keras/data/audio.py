"""Reading clips into fixed-length waveforms with ``tf.audio``."""

import logging
from pathlib import Path

import numpy as np

from bmru_keras.data.speech_commands import Clip, DatasetError

log = logging.getLogger(__name__)


def read_wav(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float32 samples in [-1, 1]; a wrong rate is a :class:`DatasetError`
    naming the file; an unreadable file raises ``tf.errors.InvalidArgumentError``."""
    import tensorflow as tf

    audio, rate = tf.audio.decode_wav(tf.io.read_file(str(path)))
    if int(rate) != sample_rate:
        raise DatasetError(
            f"{path} is sampled at {int(rate)} Hz; this experiment expects "
            f"{sample_rate} Hz (Speech Commands is 16 kHz). Resample it or set "
            "`features.sample_rate`."
        )
    return audio.numpy().mean(axis=1)


def fix_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad at the end to ``length`` samples."""
    if len(samples) >= length:
        return samples[:length]
    return np.pad(samples, (0, length - len(samples)))


def load_waveforms(
    root: Path, clips: list[Clip], sample_rate: int, length: int
) -> tuple[np.ndarray, list[Clip]]:
    """Waveforms ``(n, length)`` float32 of the readable clips, and those clips.

    A corrupt WAV is skipped with a logged warning and counted; a WAV at the
    wrong sample rate stops everything (it means a wrong dataset)."""
    import tensorflow as tf

    waves, kept, skipped, noise_cache = [], [], [], {}
    for clip in clips:
        path = Path(root) / clip.path
        try:
            if clip.offset or clip.gain != 1.0:  # a silence window of a noise file
                if clip.path not in noise_cache:
                    noise_cache[clip.path] = read_wav(path, sample_rate)
                samples = noise_cache[clip.path][clip.offset : clip.offset + length]
                samples = clip.gain * samples
            else:
                samples = read_wav(path, sample_rate)
        except tf.errors.InvalidArgumentError as error:
            skipped.append(str(path))
            log.warning("skipping unreadable WAV %s: %s", path, error.message)
            continue
        waves.append(fix_length(samples, length))
        kept.append(clip)
    if skipped:
        log.warning("skipped %d unreadable WAV file(s) in %s", len(skipped), root)
    if not waves:
        raise DatasetError(f"none of the {len(clips)} clips in {root} could be read")
    return np.stack(waves).astype("float32"), kept
