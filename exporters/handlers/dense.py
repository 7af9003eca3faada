"""``keras.layers.Dense``: mirror arrays into differential summing nodes."""

import keras
import numpy as np

from exporters.registry import register_handler


@register_handler(keras.layers.Dense)
def dense(builder, layer, inputs):
    if layer.activation not in (keras.activations.linear, None):
        raise builder.unsupported(layer, "a Dense layer with an activation")
    kernel = np.asarray(layer.kernel, float)
    bias = np.asarray(layer.bias, float) if layer.use_bias else np.zeros(kernel.shape[1])
    (signal,) = inputs
    readout = builder.is_output(layer)
    return builder.affine(layer.name, signal, kernel, bias, readout=readout)
