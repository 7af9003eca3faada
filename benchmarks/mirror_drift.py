"""How mirror copies drift against their diode across corners, by geometry.

    python benchmarks/mirror_drift.py [--unit-current 7e-10] [--vdd 1.8]

One ngspice operating point per corner (GF180MCU, 4 um / 8 um unit diode,
every copy's drain held where a summing node sits, as
:func:`exporters.mirrors.measure_copies`): each copy's current against
its own at typical / 27 C / nominal supply, in percent, side by side for the
narrow copies the sizing used to take for ratios under 1 and the unit-width
ones it takes now (``exporters.blocks.Sizing``, ``docs/circuits.md``).
"""

import argparse
import dataclasses

import numpy as np

from exporters.blocks import Mirror
from exporters.mirrors import measure_copies
from exporters.pdk import gf180mcu

UNIT_WIDTH, UNIT_LENGTH = 4e-6, 8e-6
GROUPS = {
    "0.5-1.3 um wide, 8 um long": [Mirror(0, w, UNIT_LENGTH, 1) for w in (0.5e-6, 0.9e-6, 1.3e-6)],
    "2.35 um wide, 8 um long": [Mirror(0, 2.35e-6, UNIT_LENGTH, 1)],
    "4 um wide, 8-50 um long, 1-8 in series": [
        Mirror(0, UNIT_WIDTH, length, 1, series)
        for series in (1, 4, 8)
        for length in (UNIT_LENGTH, 20e-6, 50e-6)
    ],
    "8-15 um wide, 8 um long": [Mirror(0, w, UNIT_LENGTH, 1) for w in (8e-6, 15e-6)],
}
CORNERS = [("typical", -40, 1.0), ("typical", 85, 1.0), ("ff", 85, 1.1), ("ss", -40, 0.9)]


def copies(corner: str, temperature: float, vdd: float, unit: float) -> np.ndarray:
    models = dataclasses.replace(gf180mcu(), corner=corner)
    mirrors = [m for group in GROUPS.values() for m in group]
    return np.array(measure_copies(models, unit, vdd, mirrors, temperature))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unit-current", type=float, default=7e-10)
    parser.add_argument("--vdd", type=float, default=1.8)
    args = parser.parse_args()
    nominal = copies("typical", 27.0, args.vdd, args.unit_current)
    header = [f"{c}, {t:g} C, {args.vdd * s:.2f} V" for c, t, s in CORNERS]
    print("| copy | " + " | ".join(header) + " |")
    print("|---" * (len(CORNERS) + 1) + "|")
    drifts = [
        100 * (copies(c, t, args.vdd * s, args.unit_current) / nominal - 1) for c, t, s in CORNERS
    ]
    start = 0
    for name, group in GROUPS.items():
        cells = [d[start : start + len(group)] for d in drifts]
        start += len(group)
        spans = [f"{c.min():+.1f} to {c.max():+.1f} %" for c in cells]
        print(f"| {name} | " + " | ".join(spans) + " |")


if __name__ == "__main__":
    main()
