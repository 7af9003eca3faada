"""Bipolar BMRU and its cumulative variant, the CMRU: the baselines.

Per unit, with ``H`` the Heaviside step::

    c_t = x_t @ kernel + bias                        candidate
    z_t = H(|c_t| - beta)                             update gate, beta = |p_beta|
    h_t = a_t * h_{t-1} + alpha * z_t * sign(c_t),   a_t = (1 - z_t) + epsilon * z_t

At ``epsilon = 0`` (BMRU) the state is in ``{-alpha, +alpha}`` once set (it
starts at 0); the CMRU is ``epsilon = 1`` fixed, a state on an integer ladder
``alpha * k`` through which the gradient flows unchanged in time.
"""

import keras
from keras import initializers, ops

from bmru_keras.layers.bistable import BistableCell, BistableRNN


@keras.saving.register_keras_serializable(package="bmru_keras")
class BMRUCell(BistableCell):
    """Cell of the bipolar BMRU.

    Args:
        units: positive integer, number of units.
        beta_initializer: initializer of ``p_beta`` (``beta = |p_beta|``;
            default ``RandomUniform(0.1, 0.5)``).
        **kwargs: see :class:`bmru_keras.layers.bistable.BistableCell`.
    """

    def __init__(
        self,
        units: int,
        beta_initializer=None,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.beta_initializer = self.threshold_initializer(beta_initializer, 0.1, 0.5)

    def build_unit_weights(self) -> None:
        self.raw_beta = self.unit_weight("raw_beta", self.beta_initializer)

    @property
    def beta(self):
        """Update threshold per unit (``>= 0``) on ``|c_t|``."""
        return ops.abs(self.raw_beta)

    def gates(self, inputs, training=False):
        c = self.project(inputs, training)
        z = self.step(ops.abs(c) - self.beta)
        return self.relax(1.0 - z), self.alpha * z * self.sign(c)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_initializer": initializers.serialize(self.beta_initializer),
        }


@keras.saving.register_keras_serializable(package="bmru_keras")
class CMRUCell(BMRUCell):
    """Cell of the CMRU: the BMRU gates with ``epsilon = 1`` fixed."""

    relaxable = False


@keras.saving.register_keras_serializable(package="bmru_keras")
class BMRU(BistableRNN):
    """Bipolar Bistable Memory Recurrent Unit layer (a baseline).

    Arguments as :class:`bmru_keras.FQBMRU`, with ``beta_initializer`` in place
    of the two threshold initializers.
    """

    cell_class = BMRUCell

    def __init__(
        self,
        units: int,
        gradient: str = "ste",
        sharpness: float = 1.0,
        epsilon: float = 0.0,
        implementation: str = "scan",
        **kwargs,
    ):
        super().__init__(
            units,
            implementation=implementation,
            gradient=gradient,
            sharpness=sharpness,
            epsilon=epsilon,
            **kwargs,
        )

    @property
    def beta(self):
        return self.cell.beta


@keras.saving.register_keras_serializable(package="bmru_keras")
class CMRU(BistableRNN):
    """Cumulative Memory Recurrent Unit layer (a baseline): the BMRU with
    ``epsilon = 1``, so ``h_t = h_{t-1} + alpha * z_t * sign(c_t)``.

    Arguments as :class:`BMRU`, without ``epsilon``.
    """

    cell_class = CMRUCell

    def __init__(
        self,
        units: int,
        gradient: str = "ste",
        sharpness: float = 1.0,
        implementation: str = "scan",
        **kwargs,
    ):
        super().__init__(
            units,
            implementation=implementation,
            gradient=gradient,
            sharpness=sharpness,
            **kwargs,
        )

    @property
    def beta(self):
        return self.cell.beta
