"""``keras.layers.Dense``: mirror arrays into differential summing nodes."""

import keras
import numpy as np

from exporters.network import Affine
from exporters.registry import register_handler, unsupported


@register_handler(keras.layers.Dense)
def dense(layer, sources):
    if layer.activation not in (keras.activations.linear, None):
        raise unsupported(layer, "a Dense layer with an activation (add a ReLU layer)")
    kernel = np.asarray(layer.kernel, float)
    bias = np.asarray(layer.bias, float) if layer.use_bias else np.zeros(kernel.shape[1])
    (source,) = sources
    return Affine(layer.name, source, kernel, bias)
