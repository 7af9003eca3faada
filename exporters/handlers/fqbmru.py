"""``bmru_keras.FQBMRU``: its input kernel and one 9-transistor cell per unit."""

import numpy as np

from bmru_keras.layers import FQBMRU
from exporters.mapping import fqbmru_cell_currents
from exporters.registry import register_handler


@register_handler(FQBMRU)
def fqbmru(builder, layer, inputs):
    if layer.go_backwards or not layer.return_sequences:
        raise builder.unsupported(layer, "an FQBMRU without return_sequences=True")
    if float(layer.epsilon) != 0.0:
        raise builder.unsupported(layer, f"an FQBMRU with epsilon={float(layer.epsilon)}")
    kernel = np.asarray(layer.kernel, float)
    bias = np.asarray(layer.bias, float) if layer.cell.use_bias else np.zeros(layer.units)
    (signal,) = inputs
    return builder.memory(
        layer.name,
        signal,
        kernel,
        bias,
        fqbmru_cell_currents(layer, builder.unit_current),
    )
