"""MFCC features with ``tf.signal``, normalisation and first-quadrant scaling.

A clip of ``clip_seconds`` gives ``1 + samples // hop`` frames (101 for 1 s at a
10 ms hop: the signal is padded by ``n_fft / 2`` on each side, as librosa's
``center=True``). Each frame has ``n_mfcc`` coefficients.

The network input must be a non-negative, bounded current. After
normalisation to ``z`` (zero mean, unit variance per coefficient), inputs are

    x = clip(1/2 + z / (2 * scale_sigma), 0, 1)

so ``z = 0`` is half the full-scale current, ``z = +-scale_sigma`` are full
scale and zero. Normalisation is either per clip (``"clip"``: statistics of
the clip itself, over time, as the paper; not causal) or with fixed
statistics of the training set (``"dataset"``: causal, what a hardware front
end could do).

Fed to the network as they are, such inputs train badly: each unit of the
first Dense layer sees a large constant ``W . 1/2`` and a signal compressed
by ``1 / (2 scale_sigma)``. The model therefore starts with
``Rescaling(*input_scaling(config))`` (training sees centred z-scores), and
:func:`bmru_keras.models.fold_input_scaling` folds that rescaling into the
first Dense layer's weights and bias when training ends, so that the saved
model, and the circuit, read the non-negative currents ``x`` directly
(``docs/results.md``, "What makes the FQ-BMRU learn").
"""

import numpy as np

from bmru_keras.config import FeatureConfig


def frames_per_clip(config: FeatureConfig) -> int:
    samples = int(round(config.sample_rate * config.clip_seconds))
    return 1 + samples // hop_samples(config)


def hop_samples(config: FeatureConfig) -> int:
    return int(round(config.sample_rate * config.hop_ms / 1000))


def mfcc(waveforms: np.ndarray, config: FeatureConfig, batch: int = 512) -> np.ndarray:
    """MFCCs ``(n, frames, n_mfcc)`` of waveforms ``(n, samples)``."""
    import tensorflow as tf

    mel = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=config.n_mels,
        num_spectrogram_bins=config.n_fft // 2 + 1,
        sample_rate=config.sample_rate,
        lower_edge_hertz=config.f_min,
        upper_edge_hertz=config.f_max,
    )
    pad = config.n_fft // 2
    out = []
    for start in range(0, len(waveforms), batch):
        x = tf.constant(waveforms[start : start + batch], tf.float32)
        x = tf.pad(x, [[0, 0], [pad, pad]], mode="REFLECT")
        spectrum = tf.signal.stft(
            x,
            frame_length=config.n_fft,
            frame_step=hop_samples(config),
            fft_length=config.n_fft,
            window_fn=tf.signal.hann_window,
        )
        log_mel = tf.math.log(tf.tensordot(tf.abs(spectrum) ** 2, mel, 1) + 1e-6)
        coefficients = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)
        out.append(coefficients[..., : config.n_mfcc].numpy())
    return np.concatenate(out).astype("float32")


def input_scaling(config: FeatureConfig) -> tuple[float, float]:
    """``(scale, offset)`` with ``z = scale * x + offset``: the inverse of the
    first-quadrant mapping, for ``keras.layers.Rescaling`` (inputs clipped at
    ``z = +-scale_sigma`` stay clipped)."""
    return 2.0 * config.scale_sigma, -config.scale_sigma


def dataset_statistics(features: np.ndarray) -> dict:
    """Per-coefficient mean and standard deviation over clips and frames."""
    flat = features.reshape(-1, features.shape[-1])
    return {"mean": flat.mean(0).tolist(), "std": (flat.std(0) + 1e-6).tolist()}


def to_network_input(
    features: np.ndarray, config: FeatureConfig, statistics: dict | None = None
) -> np.ndarray:
    """Normalise and scale to ``[0, 1]`` (see the module docstring)."""
    if config.normalization == "clip":
        mean = features.mean(axis=1, keepdims=True)
        std = features.std(axis=1, keepdims=True) + 1e-6
    else:
        if statistics is None:
            raise ValueError("normalization 'dataset' needs the training statistics")
        mean, std = np.asarray(statistics["mean"]), np.asarray(statistics["std"])
    z = (features - mean) / std
    return np.clip(0.5 + z / (2 * config.scale_sigma), 0.0, 1.0).astype("float32")
