"""The current a model's feed-forward circuit carries, estimated in software."""

import keras
import numpy as np

from bmru_keras.layers.mirror_dense import mirror_current
from bmru_keras.models import fold_input_scaling


def mirror_currents(model: keras.Model, x: np.ndarray, batch_size: int = 128) -> dict[str, float]:
    """Per Dense layer, the mean over clips and frames of its
    :func:`~bmru_keras.layers.mirror_dense.mirror_current`, in units of the
    unit current (the loss term of :class:`~bmru_keras.layers.MirrorDense`,
    measured on ``x``). Input scaling is folded first
    (:func:`~bmru_keras.models.fold_input_scaling`), so the first layer
    reads the input currents as the circuit does. The exporter's
    feed-forward power follows the sum over layers (``docs/results.md``,
    "Power-aware training").

    Args:
        model: a model whose Dense layers are to be estimated.
        x: network inputs, ``(clips, frames, features)``.
        batch_size: clips per call.
    """
    model = fold_input_scaling(model)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not dense:
        return {}
    probe = keras.Model(model.inputs, [layer.input for layer in dense])
    totals = np.zeros(len(dense))
    frames = 0
    for start in range(0, len(x), batch_size):
        signals = probe.predict_on_batch(x[start : start + batch_size])
        signals = signals if isinstance(signals, (list, tuple)) else [signals]
        for k, (layer, signal) in enumerate(zip(dense, signals, strict=True)):
            bias = layer.bias if layer.use_bias else None
            totals[k] += float(np.sum(mirror_current(signal, layer.kernel, bias)))
        frames += int(np.prod(signals[0].shape[:-1]))
    return {layer.name: float(total / frames) for layer, total in zip(dense, totals, strict=True)}
