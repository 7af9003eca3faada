"""The software side of a hardware comparison: the model with the weights
the circuit realizes, and its memory cells' input currents."""

import keras
import numpy as np

from exporters.export import CircuitExport


def quantized_model(model: keras.Model, export: CircuitExport) -> keras.Model:
    """A copy of ``model`` whose kernels and biases are the realized mirror
    ratios of the export."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for name, (kernel, bias) in export.quantized_weights.items():
        layer = copy.get_layer(name)
        layer.kernel.assign(kernel)
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(bias)
    return copy


def realized_candidates(model: keras.Model, x: np.ndarray, layers: list[str]) -> dict:
    """Each memory layer's input currents in software: ``inputs @ kernel +
    bias`` before the cell's ReLU, ``(clips, frames, units)``."""
    inputs = keras.Model(model.inputs, [model.get_layer(n).input for n in layers])
    values = inputs.predict(x, verbose=0)
    values = values if isinstance(values, list) else [values]
    out = {}
    for name, value in zip(layers, values, strict=True):
        cell = model.get_layer(name).cell
        bias = np.asarray(cell.bias) if cell.use_bias else 0.0
        out[name] = value @ np.asarray(cell.kernel) + bias
    return out
