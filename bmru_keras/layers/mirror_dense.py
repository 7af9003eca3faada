"""A Dense layer that adds the current its circuit draws to the loss."""

import keras
from keras import ops


def mirror_current(inputs, kernel, bias=None):
    """Per frame, ``sum_j ( sum_i |x_i| |W_ij| + |b_j| )``: the current, in
    units, that a Dense layer's mirror arrays (each weight a mirror putting
    out ``|W_ij| |x_i|``) and bias references carry; ``inputs`` ``(..., i)``,
    the result ``(...)``."""
    current = ops.sum(ops.matmul(ops.abs(inputs), ops.abs(kernel)), axis=-1)
    return current if bias is None else current + ops.sum(ops.abs(bias))


@keras.saving.register_keras_serializable(package="bmru_keras")
class MirrorDense(keras.layers.Dense):
    """``keras.layers.Dense`` that adds, when called in training,

        current_penalty * mean_frames( sum_j ( sum_i |x_i| |W_ij| + |b_j| ) )

    to the model's losses: its :func:`mirror_current` (the exporter's
    feed-forward power follows it, ``docs/results.md``, "Power-aware
    training"). Otherwise it is ``Dense``; the exporter maps it as one.

    Args:
        units: output width, as ``Dense``.
        current_penalty: non-negative float, the loss per unit of current;
            0 adds nothing.
        **kwargs: any other ``Dense`` argument.
    """

    def __init__(self, units: int, current_penalty: float = 0.0, **kwargs):
        super().__init__(units, **kwargs)
        if not current_penalty >= 0:
            raise ValueError(
                f"`current_penalty` must be non-negative. Received: {current_penalty!r}"
            )
        self.current_penalty = float(current_penalty)

    def call(self, inputs, training=None):
        if training and self.current_penalty:
            bias = self.bias if self.use_bias else None
            self.add_loss(
                self.current_penalty * ops.mean(mirror_current(inputs, self.kernel, bias))
            )
        return super().call(inputs, training=training)

    def get_config(self):
        return {**super().get_config(), "current_penalty": self.current_penalty}
