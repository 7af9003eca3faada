"""``keras.layers.ReLU``: the difference of a signed pair into a diode."""

import keras

from exporters.registry import register_handler


@register_handler(keras.layers.ReLU)
def relu(builder, layer, inputs):
    if layer.max_value is not None or layer.negative_slope or layer.threshold:
        raise builder.unsupported(layer, "a ReLU with max_value, slope or threshold")
    (signal,) = inputs
    return builder.relu(layer.name, signal)
