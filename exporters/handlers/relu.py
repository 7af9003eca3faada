"""``keras.layers.ReLU``: the difference of a signed pair into a diode."""

import keras

from exporters.network import Relu
from exporters.registry import register_handler, unsupported


@register_handler(keras.layers.ReLU)
def relu(layer, sources):
    if layer.max_value is not None or layer.negative_slope or layer.threshold:
        raise unsupported(layer, "a ReLU with max_value, slope or threshold")
    (source,) = sources
    return Relu(layer.name, source)
