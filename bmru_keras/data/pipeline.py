"""From a dataset folder to network inputs: cached waveforms and MFCCs, and
the augmented training stream."""

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from bmru_keras.config import AugmentConfig, FeatureConfig
from bmru_keras.data.audio import load_waveforms, read_wav
from bmru_keras.data.speech_commands import NOISE_SPANS, Clip, noise_files
from bmru_keras.features import frames_per_clip, mfcc, to_network_input

log = logging.getLogger(__name__)


@dataclass
class SplitData:
    """The readable clips of one split, their waveforms and raw MFCCs."""

    clips: list[Clip]
    waveforms: np.ndarray  # (n, samples) float32
    features: np.ndarray  # (n, frames, n_mfcc) float32, before normalisation

    @property
    def labels(self) -> np.ndarray:
        return np.array([c.label for c in self.clips], "int32")


def default_cache_dir() -> Path:
    return Path(os.environ.get("BMRU_CACHE_DIR", Path.home() / ".cache" / "bmru_keras"))


def _cache_key(root: Path, clips: list[Clip], config: FeatureConfig) -> str:
    digest = hashlib.sha1(json.dumps(asdict(config), sort_keys=True).encode())
    for clip in clips:
        stat = (root / clip.path).stat()
        digest.update(
            f"{clip.path}|{clip.offset}|{clip.gain}|{stat.st_size}|{stat.st_mtime_ns}\n".encode()
        )
    return digest.hexdigest()[:20]


def load_split(
    root: Path, clips: list[Clip], config: FeatureConfig, cache_dir: Path | None
) -> SplitData:
    """Waveforms and MFCCs of ``clips``, from the cache when the same clips
    (same files, sizes and times) were featurised with the same settings."""
    root = Path(root)
    samples = int(round(config.sample_rate * config.clip_seconds))
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"features-{_cache_key(root, clips, config)}.npz"
        if path.is_file():
            try:
                with np.load(path) as cached:
                    kept = [clips[i] for i in cached["kept"]]
                    return SplitData(kept, _from_pcm(cached["waveforms"]), cached["features"])
            except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile) as error:
                log.warning("feature cache %s is damaged (%r); computing it again", path, error)
    waves, kept = load_waveforms(root, clips, config.sample_rate, samples)
    # The cache holds 16-bit samples; a first run uses them too, so that it
    # trains exactly as a later one that reads the cache.
    pcm = np.round(np.clip(waves, -1, 1) * 32767).astype("int16")
    waves = _from_pcm(pcm)
    features = mfcc(waves, config)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        index = {id(c): i for i, c in enumerate(clips)}
        # A temporary file of its own, then an atomic rename: runs that
        # featurise the same clips at once (a sweep's workers) each write a
        # whole file, and the last rename wins.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.stem}.", suffix=".tmp.npz")
        try:
            with os.fdopen(fd, "wb") as file:
                kept_index = np.array([index[id(c)] for c in kept])
                np.savez(file, kept=kept_index, waveforms=pcm, features=features)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return SplitData(kept, waves, features)


def _from_pcm(pcm: np.ndarray) -> np.ndarray:
    """16-bit samples (as the cache holds them) to float32 in [-1, 1]."""
    return pcm.astype("float32") / 32767.0


def frame_labels(labels: np.ndarray, frames: int) -> np.ndarray:
    """Per-frame targets: each clip's label at every frame."""
    return np.repeat(labels[:, None], frames, axis=1).astype("int32")


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per clip, ``n / (K n_k)`` for its class ``k`` (``n`` clips, ``K``
    classes, ``n_k`` of class ``k``): every class weighs ``n / K`` in the
    loss, as if the split were balanced."""
    counts = np.bincount(labels, minlength=n_classes)
    return (len(labels) / (n_classes * np.maximum(counts, 1)))[labels].astype("float32")


def noise_pool(root: Path, split: str, sample_rate: int) -> list[np.ndarray]:
    """The part of each background-noise recording reserved for ``split``."""
    start, stop = NOISE_SPANS[split]
    pool = []
    for name in noise_files(Path(root)):
        samples = read_wav(Path(root) / name, sample_rate)
        pool.append(samples[int(start * len(samples)) : int(stop * len(samples))])
    return pool


def augment(
    waveforms: np.ndarray,
    noise: list[np.ndarray],
    config: AugmentConfig,
    sample_rate: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Random time shift (zero fill) and background noise at a random SNR."""
    out = np.empty_like(waveforms)
    max_shift = int(config.time_shift_ms * sample_rate / 1000)
    length = waveforms.shape[1]
    for i, wave in enumerate(waveforms):
        shift = int(rng.integers(-max_shift, max_shift + 1)) if max_shift else 0
        shifted = np.roll(wave, shift)
        if shift > 0:
            shifted[:shift] = 0
        elif shift < 0:
            shifted[shift:] = 0
        power = np.mean(shifted**2)
        usable = [n for n in noise if len(n) > length]
        if usable and power > 0 and rng.random() < config.noise_probability:
            source = usable[rng.integers(len(usable))]
            offset = int(rng.integers(0, len(source) - length))
            window = source[offset : offset + length]
            snr = rng.uniform(*config.snr_db)
            scale = np.sqrt(power / (np.mean(window**2) + 1e-12) / 10 ** (snr / 10))
            shifted = shifted + scale * window
        out[i] = shifted
    return np.clip(out, -1.0, 1.0)


class AugmentedTrainingData(keras.utils.PyDataset):
    """Training batches, re-augmented and re-featurised every epoch; with
    per-clip ``weights``, each batch carries them at every frame."""

    def __init__(
        self,
        data: SplitData,
        noise: list[np.ndarray],
        augment_config: AugmentConfig,
        feature_config: FeatureConfig,
        statistics: dict | None,
        batch_size: int,
        seed: int,
        weights: np.ndarray | None = None,
    ):
        super().__init__()
        self.data = data
        self.weights = weights
        self.noise = noise
        self.augment_config = augment_config
        self.feature_config = feature_config
        self.statistics = statistics
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.frames = frames_per_clip(feature_config)
        self.order = self.rng.permutation(len(data.clips))

    def __len__(self) -> int:
        return -(-len(self.data.clips) // self.batch_size)

    def __getitem__(self, index: int):
        chosen = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        rate = self.feature_config.sample_rate
        waves = augment(
            self.data.waveforms[chosen], self.noise, self.augment_config, rate, self.rng
        )
        x = to_network_input(mfcc(waves, self.feature_config), self.feature_config, self.statistics)
        y = frame_labels(self.data.labels[chosen], self.frames)
        if self.weights is None:
            return x, y
        return x, y, np.repeat(self.weights[chosen, None], self.frames, axis=1)

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.data.clips))
