"""How far each memory cell's switch points move over temperature and
supply, per process, by switch device.

    python benchmarks/cell_drift.py [RUN_DIR] [--switch-device W_UM L_UM ...]
        [--process-corners typical ff ss fs sf] [--json]

Every cell of the run's model (default: the shipped hardware model) is
characterized in ngspice (:func:`exporters.characterize.characterize_network`,
the design's defaults) at each process corner, cold and low (-40 C, 0.9 V),
nominal (27 C, 1.0 V) and hot and high (85 C, 1.1 V), once with the unit
device as the switches ``M3`` / ``M6`` and once with each ``--switch-device``
(default 1 um x 16 um). Printed per process and extreme, side by side: the
range over the cells of the rising threshold's move from the same process
at 27 C (software units), the largest move of the falling threshold, and
the largest off-state output. A chip is trimmed at 27 C
(``docs/circuits.md``, Calibration): these moves are what the trims leave.
"""

import argparse
import json

from bmru_keras.dependencies import import_tensorflow_quietly
from exporters.characterize import characterize_network
from exporters.design import Design, switch_fields
from exporters.pdk import GF180_CORNERS

EXTREMES = {"cold": (-40.0, 0.9), "nominal": (27.0, 1.0), "hot": (85.0, 1.1)}


def cells(network, design: Design) -> list[dict]:
    """Switch points and off-state output of every cell, in units."""
    unit = design.unit_current
    return [
        {
            "up": r["loop"].switch_up / unit,
            "down": None if r["loop"].switch_down is None else r["loop"].switch_down / unit,
            "low": r["loop"].output_low / unit,
        }
        for r in characterize_network(network, design)
    ]


def drift(rows: list[dict], nominal: list[dict]) -> dict:
    """Moves of ``rows`` from ``nominal`` (the same cells at 27 C, 1.0 V)."""
    up = [r["up"] - n["up"] for r, n in zip(rows, nominal, strict=True)]
    down = [
        abs(r["down"] - n["down"])
        for r, n in zip(rows, nominal, strict=True)
        if r["down"] is not None and n["down"] is not None
    ]
    return {
        "up_min": min(up),
        "up_max": max(up),
        "down_max": max(down, default=0.0),
        "low_max": max(r["low"] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default="benchmarks/models/kws_yes_d4_hat")
    parser.add_argument(
        "--switch-device", type=float, nargs=2, action="append", metavar=("W_UM", "L_UM"),
        help="switch sizes to compare with the unit device (repeatable; default 1 16)",
    )  # fmt: skip
    parser.add_argument("--process-corners", nargs="+", default=list(GF180_CORNERS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import_tensorflow_quietly()
    from bmru_keras.training import load_run
    from exporters.graph import to_network

    _, model, _ = load_run(args.run_dir)
    network = to_network(model)
    variants = {"unit device": {"switch_width": None, "switch_length": None}}
    for w, length in args.switch_device or [(1.0, 16.0)]:
        variants[f"{w:g} x {length:g} um"] = switch_fields((w, length))
    result = {}
    for name, fields in variants.items():
        for corner in args.process_corners:
            measured = {
                extreme: cells(network, Design(corner=corner, temperature=t, vdd=v, **fields))
                for extreme, (t, v) in EXTREMES.items()
            }
            for extreme in ("cold", "hot"):
                result[f"{name} / {corner} / {extreme}"] = drift(
                    measured[extreme], measured["nominal"]
                )
    if args.json:
        print(json.dumps(result))
        return
    print("| switches | process | extreme | rising threshold moves (units) | falling, largest "
          "move | off-state output, largest |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for key, d in result.items():
        name, corner, extreme = key.split(" / ")
        print(
            f"| {name} | {corner} | {extreme} | {d['up_min']:+.3f} to {d['up_max']:+.3f} | "
            f"{d['down_max']:.3f} | {d['low_max']:.4f} |"
        )


if __name__ == "__main__":
    main()
