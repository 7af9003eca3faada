"""First-Quadrant Bistable Memory Recurrent Unit (FQ-BMRU).

Per unit, with ``H`` the Heaviside step::

    h_hat_t = ReLU(x_t @ kernel + bias)              candidate, >= 0
    z_lo_t  = H(beta_low - h_hat_t)                   below the band
    z_hi_t  = H(h_hat_t - beta_high)                  above the band
    hold_t  = (1 - z_lo_t) * (1 - z_hi_t)
    h_t     = hold_t * h_{t-1} + alpha * z_hi_t

At ``epsilon = 0`` the state is in ``{0, alpha}``: it rises to ``alpha`` above
``beta_high``, falls to 0 below ``beta_low`` and holds in between.
``relaxation`` chooses the unit in training at ``0 < epsilon <= 1``:

- ``"noise"`` (default): the exact unit, its candidate jittered by a logistic
  noise in training only, ``h_hat_t + tau * log(u / (1 - u))`` with ``u ~
  U(0, 1)`` per unit and step and ``tau = epsilon * (beta_high - beta_low)``
  (no gradient through ``tau``): a unit switches up with probability
  ``sigmoid((h_hat_t - beta_high) / tau)``, down with ``sigmoid((beta_low -
  h_hat_t) / tau)``. States stay in ``{0, alpha}``; outside training the unit
  is exact at every ``epsilon``.
- ``"leaky"``: ``a_t = hold_t + epsilon * (1 - hold_t)``, ``b_t = (1 -
  epsilon) * alpha * z_hi_t``: a switching step keeps ``epsilon`` of the
  previous state, so gradients flow through it in time, and moves the state
  the fraction ``1 - epsilon`` of the way to its target (``alpha`` above the
  band, 0 below): the state stays in ``[0, alpha]``.
- ``"ladder"``: ``a_t`` as ``"leaky"``, ``b_t = alpha * (z_hi_t - epsilon / 2
  * (1 - hold_t))``, the BMRU/CMRU family ``s_t = z (sign + epsilon s_{t-1}) +
  (1 - z) s_{t-1}`` in first-quadrant coordinates ``(s + 1) / 2``: at
  ``epsilon = 1`` it climbs ``alpha / 2`` above the band and descends
  ``alpha / 2`` below it, without bound (on a 1-s clip the state reaches tens
  of ``alpha``).
"""

import keras
from keras import initializers, ops, random

from bmru_keras.layers.bistable import BistableCell, BistableRNN

RELAXATIONS = ("noise", "leaky", "ladder")


@keras.saving.register_keras_serializable(package="bmru_keras")
class FQBMRUCell(BistableCell):
    """Cell of the FQ-BMRU, for :class:`keras.layers.RNN` or :class:`FQBMRU`.

    Thresholds are kept unconstrained: ``beta_low = |p_low|``,
    ``beta_high = beta_low + |p_width|``, ``alpha = |p_alpha|``.

    Args:
        units: positive integer, number of units.
        beta_low_initializer: initializer of ``p_low`` (default
            ``RandomUniform(0.05, 0.5)``).
        beta_width_initializer: initializer of ``p_width``, the hysteresis
            width ``beta_high - beta_low`` (default ``RandomUniform(0.1, 0.5)``).
        relaxation: ``"noise"``, ``"leaky"`` or ``"ladder"``, the unit in
            training at ``epsilon > 0`` (module docstring); each is the exact
            unit at ``epsilon = 0``.
        **kwargs: see :class:`bmru_keras.layers.bistable.BistableCell`
            (``gradient``, ``sharpness``, ``epsilon``, initializers,
            regularizers and constraints of the input projection).
    """

    def __init__(
        self,
        units: int,
        beta_low_initializer=None,
        beta_width_initializer=None,
        relaxation: str = "noise",
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        if relaxation not in RELAXATIONS:
            raise ValueError(
                f"Unknown `relaxation`: {relaxation!r}. Expected one of {RELAXATIONS}."
            )
        self.relaxation = relaxation
        if relaxation == "noise" and self.seed_generator is None:
            self.seed_generator = random.SeedGenerator()
        self.beta_low_initializer = self.threshold_initializer(beta_low_initializer, 0.05, 0.5)
        self.beta_width_initializer = self.threshold_initializer(beta_width_initializer, 0.1, 0.5)

    def build_unit_weights(self) -> None:
        self.raw_beta_low = self.unit_weight("raw_beta_low", self.beta_low_initializer)
        self.raw_beta_width = self.unit_weight("raw_beta_width", self.beta_width_initializer)

    @property
    def beta_low(self):
        """Lower threshold per unit (``>= 0``): the state falls below it."""
        return ops.abs(self.raw_beta_low)

    @property
    def beta_high(self):
        """Upper threshold per unit (``>= beta_low``): the state rises above it."""
        return self.beta_low + ops.abs(self.raw_beta_width)

    def candidate(self, inputs, training=False):
        """``h_hat = ReLU(inputs @ kernel + bias)`` (plus the ``input_noise``
        in training)."""
        return ops.relu(self.project(inputs, training))

    def switching_noise(self, h_hat):
        """The ``"noise"`` relaxation's logistic noise on the candidate, of
        scale ``epsilon * (beta_high - beta_low)``."""
        tiny = 1e-6
        u = random.uniform(
            ops.shape(h_hat), tiny, 1.0 - tiny, dtype=h_hat.dtype, seed=self.seed_generator
        )
        scale = ops.cast(self.epsilon, h_hat.dtype) * (self.beta_high - self.beta_low)
        return ops.stop_gradient(scale * (ops.log(u) - ops.log1p(-u)))

    def gates(self, inputs, training=False):
        h_hat = self.candidate(inputs, training)
        if self.relaxation == "noise" and training:
            h_hat = h_hat + self.switching_noise(h_hat)
        z_lo = self.step(self.beta_low - h_hat)
        z_hi = self.step(h_hat - self.beta_high)
        hold = (1.0 - z_lo) * (1.0 - z_hi)
        if self.relaxation == "noise":
            return hold, self.alpha * z_hi
        a = self.relax(hold)
        if self.relaxation == "leaky":
            # b = (1 - epsilon) * alpha * z_hi, with 1 - epsilon = 1 - a + hold.
            return a, self.alpha * z_hi * (1.0 - a + hold)
        # b = alpha * (z_hi - epsilon / 2 * (1 - hold)), with a - hold = epsilon (1 - hold).
        return a, self.alpha * (z_hi - 0.5 * (a - hold))

    def get_config(self):
        return {
            **super().get_config(),
            "beta_low_initializer": initializers.serialize(self.beta_low_initializer),
            "beta_width_initializer": initializers.serialize(self.beta_width_initializer),
            "relaxation": self.relaxation,
        }


@keras.saving.register_keras_serializable(package="bmru_keras")
class FQBMRU(BistableRNN):
    """First-Quadrant Bistable Memory Recurrent Unit layer.

    Inputs ``(batch, time, features)``; outputs ``(batch, time, units)`` with
    ``return_sequences=True``, else ``(batch, units)``; values in
    ``{0, alpha}`` at ``epsilon = 0``.

    Args:
        units: positive integer, number of units.
        gradient: ``"ste"`` or ``"surrogate"`` (see
            :func:`bmru_keras.layers.quantizers.heaviside`).
        sharpness: slope factor of the ``"surrogate"`` gradient.
        epsilon: initial relaxation (0: exact FQ-BMRU; anneal it with
            :class:`bmru_keras.EpsilonAnnealing`).
        relaxation: ``"noise"``, ``"leaky"`` or ``"ladder"`` (see
            :class:`FQBMRUCell`).
        implementation: ``"scan"`` (parallel scan) or ``"loop"`` (stepwise).
        **kwargs: cell arguments (``use_bias``, ``*_initializer``,
            ``*_regularizer``, ``*_constraint``) and :class:`keras.layers.RNN`
            arguments (``return_sequences``, ``return_state``,
            ``go_backwards``, ``stateful``, ``unroll``).

    Example:

    >>> layer = FQBMRU(4, return_sequences=True)
    >>> layer(np.zeros((2, 10, 3), "float32")).shape
    (2, 10, 4)
    """

    cell_class = FQBMRUCell

    def __init__(
        self,
        units: int,
        gradient: str = "ste",
        sharpness: float = 1.0,
        epsilon: float = 0.0,
        implementation: str = "scan",
        relaxation: str = "noise",
        **kwargs,
    ):
        super().__init__(
            units,
            implementation=implementation,
            gradient=gradient,
            sharpness=sharpness,
            epsilon=epsilon,
            relaxation=relaxation,
            **kwargs,
        )

    @property
    def beta_low(self):
        return self.cell.beta_low

    @property
    def beta_high(self):
        return self.cell.beta_high
