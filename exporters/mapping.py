"""From software parameters to circuit quantities.

One software unit is the unit current ``I_unit`` (pA to nA). An FQ-BMRU unit
becomes a cell with ``I_thresh = beta_high * I_unit`` (switch up),
``I_width = (beta_high - beta_low) * I_unit`` (so it switches down at
``beta_low * I_unit``) and ``I_gain = alpha * I_unit`` (its output current).
"""

from dataclasses import dataclass

import numpy as np

#: Each cell bias current: its node prefix in the netlist, its name in the
#: bias table, its :class:`CellCurrents` field.
CELL_BIASES = (
    ("th", "I_thresh", "i_thresh"),
    ("wd", "I_width", "i_width"),
    ("gn", "I_gain", "i_gain"),
)


@dataclass(frozen=True)
class CellCurrents:
    i_thresh: float
    i_width: float
    i_gain: float


def fqbmru_cell_currents(layer, unit_current: float) -> list[CellCurrents]:
    """The bias currents of every unit of an ``FQBMRU`` layer (amperes)."""
    high = np.asarray(layer.beta_high, float)
    low = np.asarray(layer.beta_low, float)
    alpha = np.asarray(layer.alpha, float)
    return [
        CellCurrents(h * unit_current, (h - lo) * unit_current, a * unit_current)
        for h, lo, a in zip(high, low, alpha, strict=True)
    ]
