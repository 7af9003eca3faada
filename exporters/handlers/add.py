"""``keras.layers.Add`` (skip connections): currents summed by KCL."""

import keras

from exporters.registry import register_handler


@register_handler(keras.layers.Add)
def add(builder, layer, inputs):
    return builder.add(layer.name, inputs)
