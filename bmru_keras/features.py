"""MFCC features with ``tf.signal``, normalisation and first-quadrant scaling.

A clip of ``clip_seconds`` gives ``1 + samples // hop`` frames (101 for 1 s at a
10 ms hop: the signal is padded by ``n_fft / 2`` on each side, as librosa's
``center=True``). Each frame has ``n_mfcc`` coefficients.

The network input must be a non-negative, bounded current. After
normalisation to ``z`` (zero mean, unit variance per coefficient), each
coefficient becomes (``features.input_mapping``):

- ``"pair"`` (default): two currents, ``x+ = clip(z / scale_sigma, 0, 1)``
  and ``x- = clip(-z / scale_sigma, 0, 1)``; ``2 n_mfcc`` inputs, 0 at
  ``z = 0``.
- ``"offset"``: one current, ``x = clip(1/2 + z / (2 scale_sigma), 0, 1)``:
  ``z = 0`` is half the full-scale current.

``z = +-scale_sigma`` is full scale. Normalisation is either per clip
(``"clip"``: statistics of the clip itself, over time, as the paper; not
causal) or with fixed statistics of the training set (``"dataset"``:
causal, what a hardware front end could do).

Fed to the network as they are, such inputs train badly: the signal is
compressed by ``1 / scale_sigma`` (and, with ``"offset"``, each unit of the
first Dense layer sees a large constant ``W . 1/2``). The model therefore
starts with a layer that maps them back to z-scores
(:func:`bmru_keras.models.centring_layer`: ``SignedPair(scale_sigma)`` or
``Rescaling(2 scale_sigma, -scale_sigma)``; training sees z-scores, the same
for both mappings), and :func:`bmru_keras.models.fold_input_scaling` folds
it into the first Dense layer's weights and bias when training ends, so that
the saved model, and the circuit, read the non-negative currents directly.
The pair costs twice the input mirrors; the offset makes every input mirror
carry the constant half-scale current, amplified (``docs/kws.md``).
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


def n_inputs(config: FeatureConfig) -> int:
    """Network inputs per frame: ``n_mfcc``, twice that for ``"pair"``."""
    return config.n_mfcc * (2 if config.input_mapping == "pair" else 1)


def describe_mapping(config: FeatureConfig) -> str:
    """The input mapping in words, for a run's ``normalization.json``."""
    if config.input_mapping == "pair":
        return (
            "x = [clip(z / scale_sigma, 0, 1), clip(-z / scale_sigma, 0, 1)] (all n_mfcc "
            "positive parts, then all negative parts), z the normalised MFCC; x = 1 is "
            "the full-scale input current"
        )
    return (
        "x = clip(0.5 + z / (2 * scale_sigma), 0, 1), z the normalised MFCC; x = 1 is "
        "the full-scale input current"
    )


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
    if config.input_mapping == "pair":
        x = np.concatenate([z, -z], axis=-1) / config.scale_sigma
    else:
        x = 0.5 + z / (2 * config.scale_sigma)
    return np.clip(x, 0.0, 1.0).astype("float32")
