"""Input layers that turn first-quadrant input currents back into signed values."""

import keras
from keras.layers import Layer


@keras.saving.register_keras_serializable(package="bmru_keras")
class SignedPair(Layer):
    """``scale * (x[..., :n] - x[..., n:])`` with ``n`` half the features.

    The inputs are pairs of non-negative currents, all positive parts first
    (``x+ = clip(z / scale, 0, 1)``), then all negative parts; the output is
    the signed ``z`` (clipped at ``+-scale``). It has no weights:
    :func:`bmru_keras.models.fold_input_scaling` folds it into the Dense
    layer that reads it (``W -> [scale W; -scale W]``).

    Args:
        scale: positive float, the ``|z|`` of a full-scale current.
    """

    def __init__(self, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if not scale > 0:
            raise ValueError(f"`scale` must be positive. Received: scale={scale!r}")
        self.scale = float(scale)

    def build(self, input_shape):
        if input_shape[-1] is None or input_shape[-1] % 2:
            raise ValueError(
                "SignedPair needs an even number of input features (positive parts, "
                f"then negative parts). Received: input_shape={input_shape}"
            )

    def call(self, inputs):
        n = inputs.shape[-1] // 2
        return self.scale * (inputs[..., :n] - inputs[..., n:])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
