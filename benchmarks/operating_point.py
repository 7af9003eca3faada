"""The operating point sweep behind exporters.design.Design's defaults: for
each unit current, cell ratio, supply and unit device, the power, the
estimated area and the clip agreement with
software (the first --clips held-out clips, uncalibrated) and the weakest
memory cell's noise suppression (--noise-clips clips, --noise-frames frames).

    python benchmarks/operating_point.py RUN_DIR --data-dir DIR
        [--unit-currents 3e-10 5e-10 7e-10] [--supplies 0.75 0.9]
        [--output-capacitances 2e-12] [--cell-ratios 1 2] [--unit-devices 4x8 8x16]
        [--clips 8] [--noise-clips 2]
        [--noise-frames 30] [--workers 2] [--out DIR]

Every point logs under --out (default RUN_DIR/operating_point) and resumes.
"""

import argparse
import itertools
import json
from pathlib import Path

from bmru_keras.dependencies import import_tensorflow_quietly
from exporters.design import Design


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--unit-currents", type=float, nargs="+", default=[3e-10, 5e-10, 7e-10])
    parser.add_argument("--supplies", type=float, nargs="+", default=[0.75, 0.9])
    parser.add_argument("--output-capacitances", type=float, nargs="+", default=[2e-12])
    parser.add_argument("--cell-ratios", type=int, nargs="+", default=[1])
    parser.add_argument(
        "--unit-devices", type=_device, nargs="+", metavar="WxL",
        default=[Design().unit_device_um],
        help="unit transistors, um (mismatch falls as 1/sqrt(W L))",
    )  # fmt: skip
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--noise-clips", type=int, default=2)
    parser.add_argument("--noise-frames", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="default RUN_DIR/operating_point")
    args = parser.parse_args()
    # The studies load TensorFlow: imported here, not at the top, as every
    # spawned simulation worker imports this script again.
    import_tensorflow_quietly()
    from exporters.robustness import STUDIES
    from exporters.study import StudyOptions
    from exporters.verify import verify_run

    out = Path(args.out or Path(args.run_dir) / "operating_point")
    rows = []
    points = itertools.product(
        args.unit_devices, args.output_capacitances, args.supplies, args.unit_currents,
        args.cell_ratios,
    )  # fmt: skip
    for (width, length), capacitance, vdd, unit, ratio in points:
        design = Design(
            unit_current=unit, vdd=vdd, output_capacitance=capacitance, cell_ratio=ratio,
            unit_width=1e-6 * width, unit_length=1e-6 * length,
        )  # fmt: skip
        folder = out / f"{unit:g}A_{vdd:g}V_{capacitance:g}F_x{ratio}"
        if (design.unit_width, design.unit_length) != (Design.unit_width, Design.unit_length):
            folder = folder.with_name(f"{folder.name}_{width:g}x{length:g}um")
        options = StudyOptions(
            args.run_dir, args.data_dir, "heldout", args.clips, design, workers=args.workers
        )
        verified = verify_run(options, folder / "verify")
        noise_options = StudyOptions(
            args.run_dir, args.data_dir, "heldout", args.noise_clips, design,
            workers=args.workers, frames=args.noise_frames,
        )  # fmt: skip
        (folder / "noise").mkdir(parents=True, exist_ok=True)
        noise = STUDIES["noise"](noise_options, folder / "noise")
        rows.append(
            {
                "unit_current_a": unit,
                "vdd_v": vdd,
                "output_capacitance_f": capacitance,
                "cell_ratio": ratio,
                "unit_device_um": [width, length],
                "area_m2": verified["area_m2"],
                "avg_power_w": verified["avg_power_w"],
                "clip_agreement": verified["clip_agreement"],
                "state_agreement": verified["state_agreement"],
                "noise_suppression_min": noise["noise_suppression_min"],
            }
        )
    (out / "operating_point.json").write_text(json.dumps(rows, indent=1))
    print(
        "| unit current | cells | supply | C_out | unit device | gate area | power "
        "| clip agreement | states | noise min |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        noise = r["noise_suppression_min"]
        device = "x".join(f"{v:g}" for v in r["unit_device_um"])
        print(
            f"| {r['unit_current_a'] * 1e12:.0f} pA | x{r['cell_ratio']} | {r['vdd_v']:g} V | "
            f"{r['output_capacitance_f'] * 1e12:g} pF | {device} um | "
            f"{1e6 * r['area_m2']['gate']:.3f} mm^2 | {r['avg_power_w'] * 1e9:.1f} nW | "
            f"{100 * r['clip_agreement']:.0f} % | {100 * r['state_agreement']:.1f} % | "
            f"{'n/a' if noise is None else f'{noise:.1f}x'} |"
        )


def _device(text: str) -> tuple[float, float]:
    """``"4x8"`` -> (4.0, 8.0), um."""
    try:
        width, length = (float(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give WxL in um, e.g. 4x8") from None
    return width, length


if __name__ == "__main__":
    main()
