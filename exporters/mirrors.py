"""Mirror copy ratios measured in the process, so weights are sized to them.

In subthreshold a copy does not carry exactly its nominal ``W / L`` ratio
of its diode's current. Measured here (GF180MCU typical, 27 C, 4 um / 8 um
unit device, 700 pA, 0.9 V, the copy's drain where a summing node holds it):
a 0.5 um wide copy at the unit length carries 1.06 times its nominal ratio,
lengthened to 20 / 50 um 1.14 / 1.18 times, two 40 um devices in series
1.36 times; widths of 1 / 15 um at the unit length 0.96 / 1.02 times. Sized
by the nominal ratio, every weight under 0.125 units came out 6-18 % strong;
a per-output trim (:mod:`exporters.calibrate`) can only average that out.

:func:`characterize` measures the correction for each family of devices
:class:`exporters.blocks.Sizing` draws from (widths at the unit length; one
device of ``min_width``, then of ``narrow_width``, lengthened, and 2 to
``max_series`` of them in series) in one ngspice run, and returns the sizing with it, so
:meth:`~exporters.blocks.Sizing.mirror` solves each device's size against
the measured ratio and the realized weights the verification compares with
are the measured ones.
"""

import dataclasses
import functools

import numpy as np

from exporters.blocks import WIDTHS, Family, Mirror, Sizing
from exporters.circuit import Block
from exporters.errors import SimulationError
from exporters.ngspice import run_deck
from exporters.pdk import ProcessModels
from exporters.writers.transistor import element_line

POINTS = 12  # measured nominal ratios per family


def _families(sizing: Sizing) -> dict[Family, list[Mirror]]:
    """The devices measured: ``POINTS`` geometries spanning each family."""
    widths = np.geomspace(sizing.min_width, sizing.max_width, POINTS)
    families = {WIDTHS: [Mirror(0.0, w, sizing.unit_length, 1) for w in widths]}
    for width, series in sizing.stacks():
        shortest = sizing.unit_length if series == 1 else sizing.max_length * (series - 1) / series
        lengths = np.geomspace(shortest, sizing.max_length, POINTS)
        families[width, series] = [Mirror(0.0, width, length, 1, series) for length in lengths]
    return families


def _deck(
    models: ProcessModels,
    unit_current: float,
    vdd: float,
    mirrors: list[Mirror],
    temperature: float = 27.0,
) -> str:
    """A unit diode and every measured copy of it, each copy's drain held by
    a 0-V probe at the voltage a unit PMOS diode (a summing node) sits at."""
    block = Block("copies", [])
    unit = (models.width, models.length)
    block.mos("n", "d", "d", "0", unit)
    block.mos("p", "p", "p", "vdd", unit)
    lines = [f".title mirror copy ratios ({models.nmos})", *models.spice_lines()]
    lines += [
        f"VDD vdd 0 {vdd:g}",
        f"IU vdd d {unit_current:g}",
        f"IP p 0 {unit_current:g}",
        "EP held 0 p 0 1",
    ]
    for k, mirror in enumerate(mirrors):
        lines.append(f"VC{k} held c{k} 0")
        block.mos("n", f"c{k}", "d", "0", unit, mirror)
    devices = [element_line(device, models) for device in block.elements]
    return "\n".join([*lines, *devices, f".temp {temperature:g}", ".tran 1u 20u", ".end"])


def measure_copies(
    models: ProcessModels,
    unit_current: float,
    vdd: float,
    mirrors: list[Mirror],
    temperature: float = 27.0,
) -> list[float]:
    """What each of ``mirrors`` copies of a unit diode carrying
    ``unit_current``, in units of it (one ngspice operating point)."""
    vectors = run_deck(_deck(models, unit_current, vdd, mirrors, temperature), 20e-6)
    return [float(vectors[f"vc{k}#branch"][-1]) / unit_current for k in range(len(mirrors))]


@functools.lru_cache(maxsize=32)
def characterize(sizing: Sizing, models: ProcessModels, unit_current: float, vdd: float) -> Sizing:
    """``sizing`` with :attr:`~exporters.blocks.Sizing.measured` filled in
    from one ngspice run of ``models`` at 27 C (cached per arguments)."""
    families = _families(sizing)
    mirrors = [m for family in families.values() for m in family]
    copies = measure_copies(models, unit_current, vdd, mirrors)
    if not all(np.isfinite(c) and c > 0 for c in copies):
        raise SimulationError(
            f"the mirror characterization of {models.nmos} at {unit_current:g} A and "
            f"{vdd:g} V read a copy that carries no current: is the supply too low?"
        )
    measured, start = [], 0
    for family, members in families.items():
        nominals = [m.nominal(sizing.unit_width, sizing.unit_length) for m in members]
        got = copies[start : start + len(members)]
        corrections = [c / n for c, n in zip(got, nominals, strict=True)]
        start += len(members)
        order = np.argsort(nominals)
        measured.append(
            (
                family,
                tuple(float(nominals[i]) for i in order),
                tuple(float(corrections[i]) for i in order),
            )
        )
    return dataclasses.replace(sizing, measured=tuple(measured))
