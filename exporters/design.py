"""The operating point of an exported circuit: one default for each setting,
used by :func:`exporters.export_to_circuit`, every ``bmru`` command and the
docs.

The defaults are the point the hardware figures of ``docs/results.md`` are
measured at, chosen by the operating-point sweep and the sign-off there: 350
pA per software unit in the feed-forward blocks (they draw most of the power,
in proportion to it) and three times that in the memory cells (``cell_ratio``
3), 7.5 pF on each cell's output (a cell's output noise is set by that
capacitor, not by its current; 5 pF left the weakest cell at 19x, under the
20x target, and the current rises with the capacitor so that a state's edge
keeps its time), 1 um / 16 um cell switches (they leak less at the hot
corners), a power-on reset per cell (every cell starts off, as the software's),
a 1.0 V supply (at 0.9 V the slow, cold corner at -10 % starves the stacked
mirror paths), the open GF180MCU models at their typical corner and 27 C, and
a 4 um / 8 um unit device.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

from exporters.blocks import Sizing
from exporters.cells import OUTPUT_CAPACITANCE
from exporters.errors import ExportError
from exporters.pdk import GF180_CORNERS, ProcessModels, gf180mcu
from exporters.trims import BiasDac

LEVELS = ("transistor", "behavioral")


@dataclass(frozen=True)
class Design:
    """Where and how a circuit is built.

    Args:
        unit_current: amperes per software unit (0.1 pA - 100 nA: subthreshold).
        vdd: the supply voltage.
        level: ``"transistor"`` (MOSFETs of a process) or ``"behavioral"``
            (ideal current-mode elements; no power; fast).
        corner: the GF180MCU corner (``typical``, ``ff``, ``ss``, ``fs``,
            ``sf``), when ``models`` is not given.
        temperature: degrees C of a simulation.
        output_capacitance: farads on each memory cell's output (0: none).
        cell_ratio: the memory cells run at ``cell_ratio * unit_current``
            (an integer, 1-8; :mod:`exporters.cells`): the feed-forward
            blocks at a small unit current, the cells at the current their
            noise suppression needs.
        unit_width, unit_length: the unit device, metres (mismatch falls as
            ``1 / sqrt(W L)``), when ``models`` is not given.
        switch_width, switch_length: the memory cell's two switches, metres
            (None, None: the unit device; :func:`exporters.cells.cell_library`).
        power_on_reset: a reset transistor per memory cell, held on by the
            top level for ``exporters.cells.RESET_SECONDS`` after power-up, so
            every cell starts off as its software unit (:mod:`exporters.cells`).
        models: your own :class:`~exporters.pdk.ProcessModels`; None: GF180MCU.
        sizing: the realizable mirrors; None: the unit device's defaults,
            their copy ratios measured in ngspice (:mod:`exporters.mirrors`).
        bias_dac: the programmable bias references (:mod:`exporters.trims`).
    """

    unit_current: float = 350e-12
    vdd: float = 1.0
    level: str = "transistor"
    corner: str = "typical"
    temperature: float = 27.0
    output_capacitance: float = OUTPUT_CAPACITANCE
    cell_ratio: int = 3
    unit_width: float = 4e-6
    unit_length: float = 8e-6
    switch_width: float | None = 1e-6
    switch_length: float | None = 16e-6
    power_on_reset: bool = True
    models: ProcessModels | None = None
    sizing: Sizing | None = None
    bias_dac: BiasDac = BiasDac()

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ExportError(f"level={self.level!r}: choose 'transistor' or 'behavioral'")
        if not 1e-13 <= self.unit_current <= 1e-7:
            raise ExportError(
                f"unit_current={self.unit_current:g} A is outside 0.1 pA - 100 nA (subthreshold)"
            )
        if not 0.3 <= self.vdd <= 3.6:
            raise ExportError(f"vdd={self.vdd:g} V: give a supply of 0.3 - 3.6 V")
        if self.output_capacitance < 0:
            raise ExportError(f"output_capacitance={self.output_capacitance:g} F: give 0 or more")
        if not (isinstance(self.cell_ratio, int) and 1 <= self.cell_ratio <= 8):
            raise ExportError(
                f"cell_ratio={self.cell_ratio!r}: give an integer 1-8 (the cells' currents "
                "over the unit current, realized by parallel unit devices)"
            )
        if self.unit_width <= 0 or self.unit_length <= 0:
            raise ExportError(
                f"unit device {self.unit_width:g} m x {self.unit_length:g} m: give positive sizes"
            )
        switch = (self.switch_width, self.switch_length)
        if switch != (None, None) and not (None not in switch and min(switch) > 0):
            raise ExportError(
                f"switch device {switch}: give both width and length, in metres, > 0 "
                "(or neither: the unit device)"
            )
        if self.models is None and self.corner not in GF180_CORNERS:
            raise ExportError(
                f"unknown GF180MCU corner {self.corner!r}; choose from {GF180_CORNERS}"
            )
        if not -55 <= self.temperature <= 150:
            raise ExportError(f"temperature={self.temperature:g} C: give -55 to 150 C")

    @property
    def unit_device_um(self) -> tuple[float, float]:
        """The unit device (width, length) in micrometres, as commands take it."""
        return 1e6 * self.unit_width, 1e6 * self.unit_length

    @property
    def switch_device(self) -> tuple[float, float] | None:
        """The cell switches' (width, length) in metres; None: the unit device
        (also when given its size, so that both export the same netlist)."""
        switch = (self.switch_width, self.switch_length)
        if None in switch or switch == (self.unit_width, self.unit_length):
            return None
        return switch

    @property
    def switch_device_um(self) -> tuple[float, float] | None:
        """The cell switches in micrometres, as commands take them; None: the unit device."""
        if self.switch_device is None:
            return None
        return 1e6 * self.switch_width, 1e6 * self.switch_length

    def replace(self, **changes) -> Design:
        return dataclasses.replace(self, **changes)

    def process(self) -> ProcessModels:
        """The transistor models (GF180MCU at ``corner`` unless ``models``)."""
        if self.models is not None:
            self.models.check()
            return self.models
        return gf180mcu(self.corner, self.unit_width, self.unit_length)

    def unit_sizing(self) -> Sizing:
        """The sizing mirrors are drawn from, before any measurement."""
        if self.sizing is not None:
            return self.sizing
        if self.level == "behavioral":
            return Sizing(self.unit_width, self.unit_length)
        models = self.process()
        return Sizing(models.width, models.length)


def add_arguments(
    parser: argparse.ArgumentParser, devices: argparse._ActionsContainer | None = None
) -> None:
    """The design point's options, each defaulting to :class:`Design`'s:
    ``--unit-current``, ``--vdd``, ``--output-capacitance`` and ``--cell-ratio`` on
    ``parser``; ``--unit-device``, ``--switch-device`` and ``--power-on-reset`` on
    ``devices`` (an argument group; default ``parser``). :func:`from_arguments` reads
    them. The one home of these options, for ``bmru`` and the benchmark scripts."""
    design = Design()
    devices = parser if devices is None else devices
    parser.add_argument(
        "--unit-current", type=float, default=design.unit_current, metavar="A",
        help=f"current of one software unit (default {design.unit_current:g} A)",
    )  # fmt: skip
    parser.add_argument(
        "--vdd", type=float, default=design.vdd, help=f"supply (default {design.vdd} V)"
    )
    parser.add_argument(
        "--output-capacitance", type=float, default=design.output_capacitance, metavar="F",
        help="capacitor on each memory cell's output, a low-pass on its state current "
        f"(transistor level; default {design.output_capacitance:g} F; 0 for none)",
    )  # fmt: skip
    parser.add_argument(
        "--cell-ratio", type=int, default=design.cell_ratio, metavar="K",
        help="the memory cells run at K times the unit current, 1-8 (transistor level; "
        f"default {design.cell_ratio})",
    )  # fmt: skip
    unit, switch = design.unit_device_um, design.switch_device_um
    for flag, size, text in (
        ("--unit-device", unit, "the unit transistor, um (default {}; mismatch falls as "
         "1/sqrt(W L))"),
        ("--switch-device", switch, "the memory cell's two switches, um (default {}: narrow "
         "and long, they leak less when hot; the unit device's size for unit switches)"),
    ):  # fmt: skip
        devices.add_argument(
            flag, type=float, nargs=2, metavar=("W_UM", "L_UM"), default=size,
            help=text.format(f"{size[0]:g} {size[1]:g}"),
        )  # fmt: skip
    devices.add_argument(
        "--power-on-reset", action=argparse.BooleanOptionalAction,
        default=design.power_on_reset,
        help="a reset transistor per memory cell, so every cell starts off "
        f"(default {'on' if design.power_on_reset else 'off'})",
    )  # fmt: skip


def from_arguments(args: argparse.Namespace, **fields) -> Design:
    """The :class:`Design` of :func:`add_arguments`' options; ``fields`` sets the
    others (level, corner, models, temperature)."""
    width, length = (1e-6 * v for v in args.unit_device)
    return Design(
        unit_current=args.unit_current, vdd=args.vdd, cell_ratio=args.cell_ratio,
        unit_width=width, unit_length=length, output_capacitance=args.output_capacitance,
        power_on_reset=args.power_on_reset, **switch_fields(args.switch_device), **fields,
    )  # fmt: skip


def switch_fields(switch_um: list[float] | None) -> dict:
    """The :class:`Design` fields of ``--switch-device W_UM L_UM`` (None: the default's)."""
    if switch_um is None:
        return {}
    width, length = (1e-6 * v for v in switch_um)
    return {"switch_width": width, "switch_length": length}
