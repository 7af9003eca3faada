"""``keras.layers.Add`` (skip connections): currents summed by KCL."""

import keras

from exporters.network import Add
from exporters.registry import register_handler


@register_handler(keras.layers.Add)
def add(layer, sources):
    return Add(layer.name, tuple(sources))
