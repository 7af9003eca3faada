"""Hardware sign-off at one operating point: every hardware figure of a
trained run, measured on the same circuit (exporters.design.Design's
defaults unless changed), with a calibration that silicon can do (bias
currents only, exporters/trims.py).

    python benchmarks/signoff.py RUN_DIR --data-dir DIR [--split heldout|all]
        [--clips N] [--calibrate 16] [--calibration-passes 3] [--reset-guard 0]
        [--noise-clips 8] [--noise-frames 60]
        [--corner-clips 20] [--process-corners ...] [--temperatures ...]
        [--supply-scales ...] [--corner-trims process|nominal] [--mc-chips 20] [--mc-clips 40]
        [--unit-device W_UM L_UM] [--switch-device W_UM L_UM] [--no-power-on-reset]
        [--parts verify noise corners montecarlo] [--workers 2]
        [--scheduler ADDRESS] [--out DIR] [--json]

Parts:
- verify: every clip of the split (--clips: the first N, classes
  interleaved), the chip calibrated on --calibrate training clips;
- noise: transient noise at every memory cell (--noise-clips clips,
  --noise-frames frames each);
- corners: process corners x temperatures x supplies (default the full grid,
  5 x 3 x 3), --corner-clips clips each, each process corner calibrated on
  its own at 27 C and the nominal supply, as a tester trims each chip
  (--corner-trims nominal: the nominal chip's trims at every corner, logged
  in corners_nominal_trims/);
- montecarlo: --mc-chips mismatch samples, each calibrated on its own (a
  tester's per-chip calibration, bias currents only), --mc-clips clips each;
  its report gives each chip's accuracy, agreement with software and power.

Each part logs its simulations under --out (default
RUN_DIR/signoff) and resumes where it stopped. --json prints one object.
"""

import argparse
import dataclasses
import json
from pathlib import Path

from bmru_keras.dependencies import import_tensorflow_quietly
from exporters.design import add_arguments, from_arguments

PAPER = {
    "clip_agreement": 49 / 50,
    "avg_power_w": 82.6e-9,
    "transistors": 768,
    "noise_suppression_min": 20.0,
}
TARGETS = {
    "clip_agreement": (">=", 0.99),
    "avg_power_w": ("<=", 80e-9),
    "noise_suppression_min": (">=", 20.0),
    "corner_kept_fraction": (">=", 0.95),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--split", choices=["heldout", "all"], default="heldout")
    parser.add_argument("--clips", type=int, help="verify: the first N clips (default all)")
    parser.add_argument("--calibrate", type=int, default=16, metavar="N")
    parser.add_argument("--calibration-passes", type=int, help="default exporters.calibrate's")
    parser.add_argument("--reset-guard", type=float, help="units; default exporters.calibrate's")
    parser.add_argument("--noise-clips", type=int, default=8)
    parser.add_argument("--noise-frames", type=int, default=60)
    parser.add_argument("--corner-clips", type=int, default=20)
    parser.add_argument("--process-corners", nargs="+")
    parser.add_argument("--temperatures", type=float, nargs="+")
    parser.add_argument("--supply-scales", type=float, nargs="+")
    parser.add_argument("--corner-trims", choices=["process", "nominal"], default="process")
    parser.add_argument("--mc-chips", type=int, default=20)
    parser.add_argument("--mc-clips", type=int, default=40)
    parser.add_argument(
        "--parts", nargs="+", default=["verify", "noise", "corners", "montecarlo"],
        choices=["verify", "noise", "corners", "montecarlo"],
    )  # fmt: skip
    add_arguments(parser)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler")
    parser.add_argument("--out", help="default RUN_DIR/signoff")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # The studies load TensorFlow: imported here, not at the top, as every
    # spawned simulation worker imports this script again.
    import_tensorflow_quietly()
    from exporters.calibrate import PASSES, RESET_GUARD
    from exporters.robustness import STUDIES
    from exporters.study import StudyOptions
    from exporters.verify import verify_run, write_report

    out = Path(args.out or Path(args.run_dir) / "signoff")
    passes = PASSES if args.calibration_passes is None else args.calibration_passes
    guard = RESET_GUARD if args.reset_guard is None else args.reset_guard
    design = from_arguments(args)

    def options(**changes) -> StudyOptions:
        base = StudyOptions(
            args.run_dir, args.data_dir, args.split, args.clips, design, args.calibrate,
            passes, guard, args.workers, args.scheduler,
        )  # fmt: skip
        return dataclasses.replace(base, **changes)

    # Parts run separately add to one summary (at the same design point).
    previous = out / "signoff.json"
    summary: dict = json.loads(previous.read_text()) if previous.is_file() else {}
    point = {
        "unit_current_a": design.unit_current,
        "vdd_v": design.vdd,
        "cell_ratio": design.cell_ratio,
        "unit_device_um": [round(v, 3) for v in design.unit_device_um],
        "output_capacitance_f": design.output_capacitance,
        "reset_guard_units": guard,
    }
    if design.switch_device is not None:  # only when set: earlier summaries still match
        point["switch_device_um"] = [round(v, 3) for v in design.switch_device_um]
    if design.power_on_reset:
        point["power_on_reset"] = True
    if summary.get("design") != point:
        summary = {}
    summary["design"] = point
    if "verify" in args.parts:
        result = verify_run(options(), out / "verify")
        write_report(result, out / "verify")
        summary.update(
            {
                "n_clips": result["n_clips"],
                "clip_agreement": result["clip_agreement"],
                "clip_agreement_balanced": result["clip_agreement_balanced"],
                "sw_accuracy": result["sw_clip_accuracy"],
                "hw_accuracy": result["hw_clip_accuracy"],
                "sw_balanced_accuracy": result["sw_balanced_accuracy"],
                "hw_balanced_accuracy": result["hw_balanced_accuracy"],
                "avg_power_w": result["avg_power_w"],
                "energy_per_inference_j": result["energy_per_inference_j"],
                "transistors": result["transistors"],
                **{f"area_{k}_mm2": 1e6 * v for k, v in (result["area_m2"] or {}).items()},
            }
        )
    if "noise" in args.parts:
        folder = out / "noise"
        folder.mkdir(parents=True, exist_ok=True)
        run = options(clips=args.noise_clips, frames=args.noise_frames, calibrate=0)
        result = STUDIES["noise"](run, folder)
        _write(result, folder, "noise")
        summary["noise_suppression_min"] = result["noise_suppression_min"]
        summary["noise_suppression_median"] = result["noise_suppression_median"]
    if "corners" in args.parts:
        each = args.corner_trims == "process"
        folder = out / ("corners" if each else "corners_nominal_trims")
        folder.mkdir(parents=True, exist_ok=True)
        run = options(
            clips=args.corner_clips,
            trim_each=each,
            process_corners=tuple(args.process_corners) if args.process_corners else None,
            temperatures=tuple(args.temperatures) if args.temperatures else None,
            supply_scales=tuple(args.supply_scales) if args.supply_scales else None,
        )
        result = STUDIES["corners"](run, folder)
        _write(result, folder, "corners")
        summary["corners"] = len(result["corners"])
        summary["corner_trims"] = args.corner_trims
        summary["corner_clips"] = result["n_clips"]
        summary["corner_kept_fraction"] = result["corner_kept_fraction"]
        summary["corner_worst_accuracy"] = result["worst_accuracy"]
    if "montecarlo" in args.parts:
        folder = out / "montecarlo"
        folder.mkdir(parents=True, exist_ok=True)
        run = options(clips=args.mc_clips, trials=args.mc_chips, trim_each=True)
        result = STUDIES["montecarlo"](run, folder)
        _write(result, folder, "montecarlo")
        summary.update(
            {
                "mc_chips": args.mc_chips,
                "mc_clips": result["n_clips"],
                "mc_sw_accuracy": result["sw_clip_accuracy"],
                "mc_mean_accuracy": result["hw_clip_accuracy_mean"],
                "mc_worst_accuracy": result["hw_clip_accuracy_min"],
                "mc_mean_agreement": result["clip_agreement_mean"],
                "mc_avg_power_w": result["avg_power_w"],
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / "signoff.json").write_text(json.dumps(summary, indent=1, default=float))
    if args.json:
        print(json.dumps(summary, default=float))
        return
    for key, value in summary.items():
        target = TARGETS.get(key)
        mark = ""
        if target and value is not None:
            op, bound = target
            mark = "met" if (value >= bound if op == ">=" else value <= bound) else "NOT met"
            mark = f"  (target {op} {bound:g}: {mark}; paper {PAPER.get(key, 'n/a')})"
        print(f"{key}: {value}{mark}")


def _write(result: dict, folder: Path, part: str) -> None:
    """A part's report (markdown) and its full result (JSON) in its folder."""
    (folder / f"{part}.md").write_text(result.pop("report"))
    (folder / f"{part}.json").write_text(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
