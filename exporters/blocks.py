"""Current mirrors: the realizable devices of a weight (:class:`Sizing`), and
the current-mode pieces the lowering builds blocks from (summing nodes,
copies). A mirror output of width ``ratio * W`` copies ``ratio`` times the
current of its diode (see :mod:`exporters.circuit` for the signals).
"""

import math
from dataclasses import dataclass

import numpy as np

from exporters.circuit import Block


@dataclass(frozen=True)
class Mirror:
    """How a ratio is realized: ``m`` parallel copies, each ``series`` devices
    of ``width`` x ``length`` in series with one gate (one device when 1)."""

    ratio: float  # requested
    width: float  # metres
    length: float  # metres, of each device in series
    m: int
    series: int = 1

    def nominal(self, unit_width: float, unit_length: float) -> float:
        """``m W / (series L)`` against the unit device's ``W / L``."""
        return self.m * self.width / (self.series * self.length) * unit_length / unit_width


Family = tuple[float, int]  # (device width, devices in series); WIDTHS for widened unit devices
WIDTHS: Family = (0.0, 0)


@dataclass(frozen=True)
class Sizing:
    """Realizable mirror devices. A ratio widens the unit device (on a
    ``grid`` between ``min_width`` and ``max_width``, parallel copies beyond);
    a ratio too small for ``min_width`` lengthens a ``min_width`` device
    instead (up to ``max_length``), then puts up to ``max_series`` of them in
    series; a ratio too small for those takes ``narrow_width`` devices the
    same way; smaller ratios round to 0 and the weight report says so.

    ``min_width`` defaults to the unit width: a copy narrower than its diode
    drifts against it with temperature and process. Measured in ngspice
    (GF180MCU, 4 um / 8 um unit, 700 pA, 1.8 V; ``docs/circuits.md``): copies
    0.5-1.3 um wide carry 14-17 % less at -40 C and 10-13 % more at 85 C
    than at 27 C; copies at the unit width, lengthened or in series, within
    3 %. Unit-width stacks reach ``unit_length / (max_series max_length)``
    (0.02 for a 4 um / 8 um unit); the narrow ones, 8 times less at 0.5 um,
    carry only ratios that small, whose drift is as small in absolute terms.

    A copy does not carry exactly its nominal ``W / L`` ratio in
    subthreshold: ``measured`` holds, per :data:`Family` (:data:`WIDTHS`:
    widths at the unit length; ``(w, s)``: ``s`` devices ``w`` wide in
    series), the copy ratio over the nominal one at a few nominal ratios
    (:func:`exporters.mirrors.characterize` measures it in ngspice); sizes
    are solved against it and :meth:`realized` reads it. None: nominal."""

    unit_width: float
    unit_length: float
    min_width: float | None = None  # None: unit_width (see above)
    narrow_width: float = 0.5e-6
    max_width: float = 15e-6
    max_length: float = 50e-6  # the longest device the GF180MCU bins cover
    # GF180MCU's manufacturing grid. A 0.1 um grid left weights up to 8 % off
    # (median 1 %), and the quantized kws_yes_d4 model changed 4.7 % of its
    # held-out clip decisions; at 5 nm: 0.5 % (median 0.04 %), 2.2 %.
    grid: float = 0.005e-6
    max_series: int = 8
    measured: tuple[tuple[Family, tuple[float, ...], tuple[float, ...]], ...] | None = None

    def __post_init__(self):
        if self.min_width is None:
            object.__setattr__(self, "min_width", self.unit_width)

    def stacks(self) -> list[Family]:
        """The lengthened / stacked families, in the order :meth:`mirror` tries them."""
        widths = [self.min_width] + [self.narrow_width] * (self.narrow_width < self.min_width)
        return [(w, s) for w in widths for s in range(1, self.max_series + 1)]

    def correction(self, family: Family, nominal: float) -> float:
        """Measured over nominal copy ratio of one copy in ``family``
        (log-log interpolation, constant beyond the measured points)."""
        for f, nominals, corrections in self.measured or ():
            if f == family:
                return float(
                    np.exp(np.interp(np.log(nominal), np.log(nominals), np.log(corrections)))
                )
        return 1.0

    def copy_ratio(self, family: Family, nominal: float) -> float:
        return nominal * self.correction(family, nominal)

    def _solve(self, family: Family, ratio: float) -> float:
        """The nominal ratio whose copy in ``family`` carries ``ratio``."""
        nominal = ratio
        for _ in range(8):  # the correction varies slowly: a fixed point
            nominal = ratio / self.correction(family, nominal)
        return nominal

    def family(self, mirror: Mirror) -> Family:
        widened = mirror.series == 1 and mirror.length == self.unit_length
        if widened and mirror.width >= self.min_width:
            return WIDTHS
        return mirror.width, mirror.series

    def realized(self, mirror: Mirror) -> float:
        """The ratio ``mirror`` copies (measured where :attr:`measured` has it)."""
        per_copy = mirror.nominal(self.unit_width, self.unit_length) / mirror.m
        return mirror.m * self.copy_ratio(self.family(mirror), per_copy)

    def mirror(self, ratio: float) -> Mirror | None:
        """The realizable mirror closest to ``ratio`` (None: rounds to 0)."""
        ratio = abs(ratio)
        if ratio >= self.copy_ratio(WIDTHS, self.min_width / self.unit_width):
            m = math.ceil(ratio / self.copy_ratio(WIDTHS, self.max_width / self.unit_width))
            width = round(self._solve(WIDTHS, ratio / m) * self.unit_width / self.grid) * self.grid
            return Mirror(ratio, min(width, self.max_width), self.unit_length, m)
        for width, series in self.stacks():
            scale = width / self.unit_width * self.unit_length / series  # nominal ratio x length
            if ratio >= self.copy_ratio((width, series), scale / self.max_length):
                length = round(scale / self._solve((width, series), ratio) / self.grid) * self.grid
                return Mirror(ratio, width, min(length, self.max_length), 1, series)
        return None


def sum_node(block: Block, terms: list, unit, sizing: Sizing, source: str = "vdd"):
    """A diode-connected PMOS (source on ``source``) that carries
    ``sum(ratio * current(n-node))`` over ``terms`` = [(n-node, ratio)], by
    NMOS copies sinking from it. Returns the node (a p-node: PMOS copies of
    its gate voltage source the sum) and the realized mirrors."""
    node = block.net("s")
    block.mos("p", node, node, source, unit)
    realized = []
    for t, (n_node, ratio) in enumerate(terms):
        mirror = sizing.mirror(ratio)
        realized.append(mirror)
        if mirror is not None:  # named by its sum and term: a trim does not rename it
            block.mos("n", node, n_node, "gnd", unit, mirror, name=f"M{node}_{t}")
    return node, realized


def p_to_n(block: Block, p_node: str, out: str, unit, source: str = "vdd") -> str:
    """Copy the current of p-node ``p_node`` into the new n-node ``out`` (the
    copy's source on ``source``)."""
    block.mos("p", out, p_node, source, unit)
    block.mos("n", out, out, "gnd", unit)
    return out


def subtract(
    block: Block, p_node: str, n_node: str, out: str, unit, name: str | None = None
) -> str:
    """``max(I(p_node) - I(n_node), 0)`` into the n-node ``out``: a PMOS copy
    of the p-node sources it, an NMOS copy of the n-node sinks it, a
    diode-connected NMOS takes the rest (none when the sink wins). ``name``:
    the devices' name prefix (None: the block's next names)."""
    names = (None, None, None) if name is None else (f"{name}c", f"{name}s", f"{name}d")
    block.mos("p", out, p_node, "vdd", unit, name=names[0])
    block.mos("n", out, n_node, "gnd", unit, name=names[1])
    block.mos("n", out, out, "gnd", unit, name=names[2])
    return out


def quantize(values: np.ndarray, sizing: Sizing) -> np.ndarray:
    """The values ``sizing``'s mirrors realize (sign kept; 0 where a value
    rounds to no mirror)."""
    out = np.zeros_like(values, dtype=float)
    for index, value in np.ndenumerate(values):
        mirror = sizing.mirror(value) if value != 0 else None
        out[index] = 0.0 if mirror is None else np.sign(value) * sizing.realized(mirror)
    return out


def weight_row(layer: str, ratio: float, mirror: Mirror | None, sizing: Sizing) -> dict:
    """A row of the weight report: a requested ratio, what its mirror realizes."""
    realized = 0.0 if mirror is None else sizing.realized(mirror)
    return {
        "layer": layer,
        "requested": ratio,
        "realized": realized,
        "relative_error": realized / ratio - 1,
        "width_um": None if mirror is None else mirror.width * 1e6,
        "length_um": None if mirror is None else mirror.length * 1e6,
        "devices": 0 if mirror is None else mirror.m * mirror.series,
        "series": 0 if mirror is None else mirror.series,
    }
