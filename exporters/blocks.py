"""Current-mode building blocks, written as SPICE subcircuits.

Signals are currents. A value is carried by the current of a diode-connected
NMOS (an "n-node": its gate voltage lets NMOS mirror outputs copy the current
as sinks). A signed value is a pair ``(pos, neg)`` of n-nodes (either may be
absent), worth ``pos - neg``. A mirror output of width ``ratio * W`` copies
``ratio`` times the current.

Every block is one ``.subckt`` (a :class:`Block`): its ports are the nets it
reads and writes plus ``vdd`` and ``gnd``; the exporter instantiates it once.
"""

from dataclasses import dataclass, field

from exporters.pdk import ProcessModels


@dataclass
class Mirror:
    """How a ratio is realized: ``m`` parallel devices of ``width`` x ``length``."""

    ratio: float  # requested
    width: float  # metres
    length: float  # metres
    m: int

    def realized(self, unit_width: float, unit_length: float) -> float:
        return self.m * (self.width / self.length) / (unit_width / unit_length)


@dataclass
class Sizing:
    """Realizable mirror devices. A ratio widens the unit device (``r * W``
    on a ``grid`` between ``min_width`` and ``max_width``, parallel devices
    beyond); a ratio too small for ``min_width`` lengthens a ``min_width``
    device instead (up to ``max_length``; smaller ratios round to 0 and the
    weight report says so). Measured in ngspice (GF180MCU, 4 um / 8 um unit,
    1 nA, 1.8 V): widths of 0.8 / 2 / 8 / 15 um copy 0.202 / 0.502 / 2.089 /
    3.929 of the unit current, within 5 % of their width ratio."""

    unit_width: float
    unit_length: float
    min_width: float = 0.5e-6
    max_width: float = 15e-6
    max_length: float = 50e-6  # the longest device the GF180MCU bins cover
    # GF180MCU's manufacturing grid. A 0.1 um grid left weights up to 8 % off
    # (median 1 %), and the quantized kws_yes_d4 model changed 4.7 % of its
    # held-out clip decisions; at 5 nm: 0.5 % (median 0.04 %), 2.2 %.
    grid: float = 0.005e-6

    def mirror(self, ratio: float) -> Mirror | None:
        """The realizable mirror closest to ``ratio`` (None: rounds to 0)."""
        target = abs(ratio) * self.unit_width
        if target >= self.min_width:
            m = int(-(-target // self.max_width))
            width = min(round(target / m / self.grid) * self.grid, self.max_width)
            return Mirror(abs(ratio), width, self.unit_length, m)
        length = round(self.unit_length * self.min_width / target / self.grid) * self.grid
        if length > self.max_length:
            return None
        return Mirror(abs(ratio), self.min_width, length, 1)


@dataclass
class Block:
    """One subcircuit: its name, ports, body lines and transistor count."""

    name: str
    kind: str  # input, dense, relu, memory, add, readout
    ports: list[str]
    lines: list[str] = field(default_factory=list)
    transistors: int = 0
    _count: int = 0

    def net(self, hint: str) -> str:
        self._count += 1
        return f"{hint}{self._count}"

    def mos(self, kind: str, d: str, g: str, s: str, models: ProcessModels, mirror=None):
        """A transistor: the unit device, or the device of ``mirror``."""
        width = models.width if mirror is None else mirror.width
        length = models.length if mirror is None else mirror.length
        m = 1 if mirror is None else mirror.m
        device = models.nmos if kind == "n" else models.pmos
        self.transistors += m
        self.lines.append(
            f"M{len(self.lines) + 1} {d} {g} {s} {s} {device} "
            f"w={width:.3g} l={length:.3g}" + (f" m={m}" if m > 1 else "")
        )

    def instance(self, line: str, transistors: int) -> None:
        self.lines.append(line)
        self.transistors += transistors

    def text(self) -> str:
        return "\n".join(
            [
                f".subckt {self.name} {' '.join(self.ports)}",
                *self.lines,
                f".ends {self.name}",
            ]
        )


def sum_node(block: Block, terms: list, models, sizing, source: str = "vdd"):
    """A diode-connected PMOS (source on ``source``) that carries
    ``sum(ratio * current(n-node))`` over ``terms`` = [(n-node, ratio)], by
    NMOS copies sinking from it. Returns the node (a p-node: PMOS copies of
    its gate voltage source the sum) and the realized mirrors."""
    node = block.net("s")
    block.mos("p", node, node, source, models)
    realized = []
    for n_node, ratio in terms:
        mirror = sizing.mirror(ratio)
        realized.append(mirror)
        if mirror is not None:
            block.mos("n", node, n_node, "gnd", models, mirror)
    return node, realized


def p_to_n(block: Block, p_node: str, out: str, models, source: str = "vdd") -> str:
    """Copy the current of p-node ``p_node`` into the new n-node ``out`` (the
    copy's source on ``source``)."""
    block.mos("p", out, p_node, source, models)
    block.mos("n", out, out, "gnd", models)
    return out
