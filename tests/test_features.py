"""MFCC features, normalisation, first-quadrant scaling and augmentation."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bmru_keras.config import AugmentConfig, DataConfig, FeatureConfig
from bmru_keras.data.audio import load_waveforms
from bmru_keras.data.pipeline import augment, load_split
from bmru_keras.data.speech_commands import build_clips, sample_dir
from bmru_keras.features import (
    dataset_statistics,
    frames_per_clip,
    mfcc,
    n_inputs,
    to_network_input,
)


@pytest.fixture(scope="module")
def sample_waves():
    _, splits = build_clips(sample_dir(), DataConfig(), seed=0, splits=("all",))
    waves, clips = load_waveforms(sample_dir(), splits["all"][:24], 16000, 16000)
    return waves, clips


def test_mfcc_shape_and_frames(sample_waves):
    waves, _ = sample_waves
    config = FeatureConfig()
    features = mfcc(waves, config)
    assert frames_per_clip(config) == 101
    assert features.shape == (len(waves), 101, 13)
    assert np.all(np.isfinite(features))
    short = mfcc(waves[:2, :8000], FeatureConfig(clip_seconds=0.5, n_mfcc=10, hop_ms=20))
    assert short.shape == (2, 26, 10)


def test_network_input_is_first_quadrant_and_bounded(sample_waves):
    waves, _ = sample_waves
    config = FeatureConfig(input_mapping="offset")
    features = mfcc(waves, config)
    x = to_network_input(features, config)
    assert x.min() >= 0 and x.max() <= 1 and x.shape[-1] == n_inputs(config) == 13
    # Per-clip normalisation: each coefficient has mean 1/2 over the clip
    # (up to clipping at 0 and 1).
    assert abs(np.median(x.mean(axis=1)) - 0.5) < 0.02
    dataset = FeatureConfig(normalization="dataset", input_mapping="offset")
    with pytest.raises(ValueError, match="training statistics"):
        to_network_input(features, dataset)
    xd = to_network_input(features, dataset, dataset_statistics(features))
    assert xd.min() >= 0 and xd.max() <= 1 and abs(np.mean(xd) - 0.5) < 0.05


def test_pair_mapping_splits_each_coefficient_into_two_currents(sample_waves):
    waves, _ = sample_waves
    config = FeatureConfig()  # input_mapping "pair", the default
    x = to_network_input(mfcc(waves, config), config)
    assert x.shape[-1] == n_inputs(config) == 26 and x.min() >= 0 and x.max() <= 1
    positive, negative = x[..., :13], x[..., 13:]
    assert np.all((positive == 0) | (negative == 0))  # one of the two carries z
    offset = to_network_input(mfcc(waves, config), FeatureConfig(input_mapping="offset"))
    # Both read back to the same clipped z-score.
    np.testing.assert_allclose(3 * (positive - negative), 6 * offset - 3, atol=1e-5)


def test_features_are_cached(tmp_path, sample_waves):
    _, clips = sample_waves
    first = load_split(sample_dir(), clips, FeatureConfig(), tmp_path)
    assert len(list(tmp_path.glob("features-*.npz"))) == 1
    second = load_split(sample_dir(), clips, FeatureConfig(), tmp_path)
    np.testing.assert_array_equal(first.features, second.features)
    assert second.clips == first.clips
    load_split(sample_dir(), clips, FeatureConfig(n_mfcc=10), tmp_path)
    assert len(list(tmp_path.glob("features-*.npz"))) == 2


def test_runs_that_cache_the_same_clips_at_once_both_finish(tmp_path, sample_waves, monkeypatch):
    # Two runs featurise the same clips at once (a sweep's workers): each
    # writes its cache file before either renames it. One shared temporary
    # name made the second rename fail.
    _, clips = sample_waves
    both_written = threading.Barrier(2, timeout=60)
    savez = np.savez

    def savez_then_wait(*args, **kwargs):
        savez(*args, **kwargs)
        both_written.wait()

    monkeypatch.setattr(np, "savez", savez_then_wait)
    with ThreadPoolExecutor(2) as pool:
        config = FeatureConfig()
        runs = [pool.submit(load_split, sample_dir(), clips, config, tmp_path) for _ in range(2)]
        first, second = (run.result() for run in runs)
    np.testing.assert_array_equal(first.features, second.features)
    (cache,) = tmp_path.iterdir()  # one cache file, no temporary one left
    assert cache.name.startswith("features-") and ".tmp" not in cache.name


def test_augmentation_mixes_noise_at_the_requested_snr(sample_waves):
    waves, _ = sample_waves
    rng = np.random.default_rng(0)
    noise = [rng.normal(0, 0.1, 50000).astype("float32")]
    config = AugmentConfig(noise_probability=1.0, snr_db=[10.0, 10.0], time_shift_ms=0)
    mixed = augment(waves[:4], noise, config, 16000, np.random.default_rng(1))
    for clean, noisy in zip(waves[:4], mixed, strict=True):
        snr = 10 * np.log10(np.mean(clean**2) / np.mean((noisy - clean) ** 2))
        assert abs(snr - 10.0) < 0.5


def test_time_shift_moves_the_clip(sample_waves):
    waves, _ = sample_waves
    config = AugmentConfig(noise_probability=0.0, time_shift_ms=100)
    shifted = augment(waves[:8], [], config, 16000, np.random.default_rng(0))
    moved = [not np.array_equal(a, b) for a, b in zip(waves[:8], shifted, strict=True)]
    assert sum(moved) >= 6
    assert np.abs(shifted).max() <= 1
