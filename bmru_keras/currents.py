"""The current a model's feed-forward circuit carries, estimated in software."""

import keras
import numpy as np

from bmru_keras.models import fold_input_scaling


def mirror_currents(model: keras.Model, x: np.ndarray, batch_size: int = 128) -> dict[str, float]:
    """Per Dense layer, the mean over clips and frames of

        sum_j ( sum_i |x_i| |W_ij| + |b_j| )

    in units of the unit current: what its mirror arrays and bias references
    carry, each weight a mirror putting out ``|W_ij| |x_i|``. Input scaling
    is folded first (:func:`~bmru_keras.models.fold_input_scaling`), so the
    first layer reads the input currents as the circuit does. The exporter's
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
    kernels = [np.abs(np.asarray(layer.kernel)) for layer in dense]
    totals = np.zeros(len(dense))
    frames = 0
    for start in range(0, len(x), batch_size):
        signals = probe.predict_on_batch(x[start : start + batch_size])
        signals = signals if isinstance(signals, (list, tuple)) else [signals]
        for k, (kernel, signal) in enumerate(zip(kernels, signals, strict=True)):
            totals[k] += (np.abs(signal).reshape(-1, kernel.shape[0]) @ kernel).sum()
        frames += int(np.prod(signals[0].shape[:-1]))
    return {
        layer.name: float(total / frames)
        + (float(np.abs(np.asarray(layer.bias)).sum()) if layer.use_bias else 0.0)
        for layer, total in zip(dense, totals, strict=True)
    }
