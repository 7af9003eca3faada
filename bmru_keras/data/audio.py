"""Reading clips into fixed-length waveforms with ``tf.audio``."""

import logging
from pathlib import Path

import numpy as np

from bmru_keras.data.speech_commands import Clip, DatasetError

log = logging.getLogger(__name__)


class EmptyWavError(ValueError):
    """A WAV file with a valid header and no samples."""


def read_wav(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float32 samples in [-1, 1] (several channels are averaged, with a
    warning); a wrong rate is a :class:`DatasetError` naming the file; an
    unreadable file raises ``tf.errors.InvalidArgumentError``, an empty one
    :class:`EmptyWavError`."""
    import tensorflow as tf

    audio, rate = tf.audio.decode_wav(tf.io.read_file(str(path)))
    if int(rate) != sample_rate:
        raise DatasetError(
            f"{path} is sampled at {int(rate)} Hz; this experiment expects "
            f"{sample_rate} Hz (Speech Commands is 16 kHz). Resample it or set "
            "`features.sample_rate`."
        )
    samples = audio.numpy()
    if samples.shape[0] == 0:
        raise EmptyWavError(f"{path} holds no samples")
    if samples.shape[1] > 1:
        log.warning("%s has %d channels; using their mean", path, samples.shape[1])
    return samples.mean(axis=1)


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
        except (tf.errors.InvalidArgumentError, EmptyWavError) as error:
            skipped.append(str(path))
            log.warning("skipping unreadable WAV %s: %s", path, getattr(error, "message", error))
            continue
        waves.append(fix_length(samples, length))
        kept.append(clip)
    if skipped:
        log.warning("skipped %d unreadable WAV file(s) in %s", len(skipped), root)
    if not waves:
        raise DatasetError(f"none of the {len(clips)} clips in {root} could be read")
    lost = sorted({c.label for c in clips} - {c.label for c in kept})
    if lost:
        words = sorted({c.word for c in clips if c.label in lost})
        raise DatasetError(
            f"every clip of class index(es) {lost} (words {words}) in {root} is unreadable "
            "(see the warnings above); replace those files or change the task"
        )
    return np.stack(waves).astype("float32"), kept
