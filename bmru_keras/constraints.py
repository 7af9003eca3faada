"""Weight constraints that keep a trained model realizable in hardware.

Applied by the optimizer after every step (``keras.constraints``); both are
registered for ``.keras`` saving.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bmru_keras")
class MirrorRatio(keras.constraints.Constraint):
    """Weights a current mirror can realize: ``0`` or ``low <= |w| <= high``.

    ``w -> 0`` where ``|w| < low / 2``, else ``sign(w) * clip(|w|, low, high)``.
    With the default exporter sizing (4 um / 8 um unit device) copies down to
    about 0.03 keep the unit width (8 devices of 4 um x 50 um in series) and
    smaller ones take 0.5 um devices (down to about 0.003), which drift more
    over temperature; ``high`` bounds the copy's area.
    """

    def __init__(self, low: float = 0.02, high: float = 8.0):
        if not 0 <= low < high:
            raise ValueError(f"MirrorRatio needs 0 <= low < high; got low={low}, high={high}")
        self.low = float(low)
        self.high = float(high)

    def __call__(self, w):
        magnitude = ops.clip(ops.abs(w), self.low, self.high)
        return ops.where(ops.abs(w) < self.low / 2, ops.zeros_like(w), ops.sign(w) * magnitude)

    def get_config(self):
        return {"low": self.low, "high": self.high}


@keras.saving.register_keras_serializable(package="bmru_keras")
class MagnitudeRange(keras.constraints.Constraint):
    """``sign(w) * clip(|w|, low, high)``: a bias current of ``|w|`` units kept
    in ``[low, high]`` (the FQ-BMRU's ``alpha``, ``beta_low`` and
    ``beta_high - beta_low`` are magnitudes of raw weights)."""

    def __init__(self, low: float = 0.0, high: float = 4.0):
        if not 0 <= low < high:
            raise ValueError(f"MagnitudeRange needs 0 <= low < high; got low={low}, high={high}")
        self.low = float(low)
        self.high = float(high)

    def __call__(self, w):
        sign = ops.where(w < 0, -ops.ones_like(w), ops.ones_like(w))
        return sign * ops.clip(ops.abs(w), self.low, self.high)

    def get_config(self):
        return {"low": self.low, "high": self.high}
