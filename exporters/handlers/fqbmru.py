"""``bmru_keras.FQBMRU``: its input kernel and one 9-transistor cell per unit."""

import numpy as np

from bmru_keras.layers import FQBMRU
from exporters.network import Memory
from exporters.registry import register_handler, unsupported


@register_handler(FQBMRU)
def fqbmru(layer, sources):
    if not layer.return_sequences:
        raise unsupported(
            layer, "return_sequences=False (the circuit puts out a decision every frame)"
        )
    if layer.go_backwards:
        raise unsupported(layer, "go_backwards=True (a circuit cannot read a clip backwards)")
    if layer.stateful:
        raise unsupported(layer, "stateful=True (each clip starts from the reset state on silicon)")
    if float(layer.epsilon) != 0.0:
        raise unsupported(
            layer,
            f"epsilon={float(layer.epsilon)} (the relaxed unit of training; end the "
            "epsilon curriculum at 0, or set layer.epsilon to 0 before exporting)",
        )
    kernel = np.asarray(layer.kernel, float)
    bias = np.asarray(layer.bias, float) if layer.cell.use_bias else np.zeros(layer.units)
    (source,) = sources
    return Memory(
        layer.name,
        source,
        kernel,
        bias,
        np.asarray(layer.beta_low, float).reshape(-1) * np.ones(layer.units),
        np.asarray(layer.beta_high, float).reshape(-1) * np.ones(layer.units),
        np.asarray(layer.alpha, float).reshape(-1) * np.ones(layer.units),
        layer.start_delay,
    )
