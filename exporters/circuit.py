"""The circuit model: the transistor-level circuit as plain data.

Lowering (:mod:`exporters.lower`) builds it from a :class:`~exporters.network.Network`;
writers (:mod:`exporters.writers`) turn it into SPICE text; mismatch
(:mod:`exporters.mismatch`) and noise (:mod:`exporters.noise`) work on its
devices, bias sources and probes by the names it gives them. It knows
nothing of SPICE syntax.

Signals are currents. A value is carried by the current of a diode-connected
NMOS (an "n-node": its gate voltage lets NMOS copies sink the current). A
signed value is a pair ``(pos, neg)`` of n-nodes (either may be absent),
worth ``pos - neg``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

#: Supply kinds and their nets: memory cells, feed-forward blocks, and the
#: bias references and inputs (not part of the power budget).
SUPPLIES = {"cell": "vdd_cell", "ff": "vdd_ff", "bias": "vdd_bias"}


@dataclass(frozen=True)
class Device:
    """One MOSFET. ``width`` / ``length`` None: the unit device (the
    subcircuit's ``w`` / ``l`` parameters); ``params``: instance parameters
    (mismatch: ``delvto``, ``mulu0``)."""

    name: str
    kind: str  # "n" or "p"
    drain: str
    gate: str
    source: str
    bulk: str
    width: float | None = None
    length: float | None = None
    m: int = 1
    params: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Capacitor:
    name: str
    plus: str
    minus: str
    farads: float


@dataclass(frozen=True)
class Instance:
    """A subcircuit instance: its nodes in the order of the subcircuit's ports."""

    name: str
    nodes: tuple[str, ...]
    subcircuit: str
    transistors: int


Element = Device | Capacitor | Instance


@dataclass
class Subcircuit:
    """A subcircuit: ports, elements, and (for library cells) the unit-size
    parameters ``w`` / ``l`` its unit devices take."""

    name: str
    ports: list[str]
    elements: list[Element] = field(default_factory=list)
    sized: bool = False  # library cells: unit devices read the w / l parameters

    @property
    def transistors(self) -> int:
        return sum(
            e.m if isinstance(e, Device) else e.transistors
            for e in self.elements
            if not isinstance(e, Capacitor)
        )


@dataclass
class Block(Subcircuit):
    """One block of the network (a layer, the inputs, a bias reference),
    instantiated once at the top level on the supply ``supply``."""

    kind: str = ""  # input, dense, relu, memory, add, readout, bias
    supply: str = "ff"  # a key of SUPPLIES
    _nets: int = 0
    _devices: int = 0

    def net(self, hint: str) -> str:
        """A fresh internal net."""
        self._nets += 1
        return f"{hint}{self._nets}"

    def port(self, net: str) -> str:
        """``net``, made a port of the block."""
        if net not in self.ports:
            self.ports.append(net)
        return net

    def mos(self, kind: str, d: str, g: str, s: str, unit, mirror=None, name: str | None = None):
        """A transistor: the unit device ``unit`` ``(width, length)``, or the
        devices of ``mirror`` (in series from ``d`` to ``s`` when it has
        several, their bulk on ``s``).

        Its name is ``name``, or ``M<k>`` for the block's k-th unnamed call;
        series devices after the first add ``x<i>``. Names do not depend on
        any mirror's size: a circuit rebuilt with other ratios (a trim) names
        every device as before, and a Monte Carlo chip (:mod:`exporters.mismatch`
        draws by name) stays the same chip."""
        if name is None:
            self._devices += 1
            name = f"M{self._devices}"
        width, length = unit if mirror is None else (mirror.width, mirror.length)
        m = 1 if mirror is None else mirror.m
        series = 1 if mirror is None else mirror.series
        nodes = [d, *(f"{name}_k{i}" for i in range(1, series)), s]
        for i, (drain, source) in enumerate(itertools.pairwise(nodes)):
            self.elements.append(
                Device(f"{name}{f'x{i}' if i else ''}", kind, drain, g, source, s, width, length, m)
            )


@dataclass(frozen=True)
class BiasSource:
    """A bias current drawn from ``vdd_bias`` into the n-node ``node``."""

    name: str
    node: str
    amperes: float
    block: str  # the layer, or "reference"
    unit: int | str  # the unit of the layer ("" for the reference)
    label: str  # I_unit, I_thresh, I_width, I_gain


@dataclass
class Circuit:
    """A transistor-level network: library cells, one block per layer, bias
    sources and the names of everything a simulation reads.

    Probes are 0-V sources from a supply into a block's port, named here by
    the port; a simulation reads their currents.
    """

    library: list[Subcircuit]
    blocks: list[Block]
    sources: list[BiasSource]
    inputs: list[str]  # input n-nodes, one per network input
    readout: list[tuple[str | None, str | None]]  # per logit (pos, neg) probe ports
    cell_probes: dict[str, list[tuple[str | None, str | None, str | None]]]
    dense_probes: dict[str, list[tuple[str | None, str | None]]]
    states: dict[str, list[str | None]]  # memory layer -> each cell's v0 port (None: omitted)
    omitted: list[tuple[str, int]]  # (layer, unit) of cells that never switch on
    weights: list[dict]  # per mirror: requested and realized ratio, size
    quantized: dict[str, list]  # layer -> [kernel, bias] the mirrors realize
    reset: bool = False  # the cells have a power-on reset, driven at the top level
    # reset net -> frames it holds after the power-on reset (layers with a
    # start_delay), driven by each clip's stimulus
    held_resets: dict[str, int] = field(default_factory=dict)

    def transistors(self) -> dict[str, int]:
        """Transistors per block kind (library cells counted per instance)."""
        counts: dict[str, int] = {}
        for block in self.blocks:
            counts[block.kind] = counts.get(block.kind, 0) + block.transistors
        return counts

    def area(self, unit: tuple[float, float], capacitor_density: float) -> dict[str, float]:
        """Estimated silicon area, square metres: ``gate`` (W x L x m of every
        transistor, unit devices ``unit`` = (width, length)) and ``capacitor``
        (each capacitor's farads over ``capacitor_density``, F/m^2); wiring,
        diffusions and spacing are not counted."""
        library = {s.name: s for s in self.library}

        def of(elements) -> tuple[float, float]:
            gate = capacitor = 0.0
            for e in elements:
                if isinstance(e, Device):
                    gate += (e.width or unit[0]) * (e.length or unit[1]) * e.m
                elif isinstance(e, Capacitor):
                    capacitor += e.farads / capacitor_density
                else:
                    g, c = of(library[e.subcircuit].elements)
                    gate, capacitor = gate + g, capacitor + c
            return gate, capacitor

        gate, capacitor = of([e for block in self.blocks for e in block.elements])
        return {"gate": gate, "capacitor": capacitor}

    def bias_table(self) -> list[dict]:
        """Every bias current, and each omitted cell, as rows for a designer."""
        rows = [
            {"block": s.block, "unit": s.unit, "name": s.label, "amperes": s.amperes}
            for s in self.sources
        ]
        rows += [
            {"block": layer, "unit": unit, "name": "omitted (never on)", "amperes": 0.0}
            for layer, unit in self.omitted
        ]
        return rows
