"""Hardware against software for a trained run: export it at transistor level
(GF180MCU), simulate held-out clips in ngspice, print the verification table.

    python benchmarks/hardware.py RUN_DIR --data-dir DIR [--clips 250] [--workers 2]
        [--split heldout] [--unit-current A] [--vdd V] [--restart]
        [--calibrate N] [--calibration-passes 3] [--out DIR]

The clips are the held-out speakers' (validation and test splits: the model
never trained on them; the validation clips chose its checkpoint). The report
lands in RUN_DIR/verification_benchmark/ (markdown, JSON, and clips.jsonl,
written clip by clip: an interrupted benchmark resumes where it stopped).
"""

import argparse
import json

from exporters.calibrate import PASSES
from exporters.design import Design
from exporters.study import StudyOptions
from exporters.verify import verify_run, write_report

PAPER = {"clip_agreement": 49 / 50, "avg_power_w": 82.6e-9, "transistors": 768}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--clips", type=int, default=250)
    parser.add_argument("--split", default="heldout")
    parser.add_argument("--restart", action="store_true")
    parser.add_argument("--calibrate", type=int, default=0, metavar="N")
    parser.add_argument("--calibration-passes", type=int, default=PASSES, metavar="P")
    parser.add_argument("--out", help="default RUN_DIR/verification_benchmark")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--unit-current", type=float, default=Design.unit_current)
    parser.add_argument("--vdd", type=float, default=Design.vdd)
    args = parser.parse_args()
    out = args.out or f"{args.run_dir}/verification_benchmark"
    options = StudyOptions(
        args.run_dir,
        args.data_dir,
        args.split,
        args.clips,
        Design(unit_current=args.unit_current, vdd=args.vdd),
        calibrate=args.calibrate,
        calibration_passes=args.calibration_passes,
        workers=args.workers,
        restart=args.restart,
    )
    result = verify_run(options, out)
    out = write_report(result, out)
    print((out / "verification.md").read_text())
    print("against the paper (Spectre, 180 nm, 1.8 V):")
    print(f"  clip agreement {result['clip_agreement']:.3f} (paper {PAPER['clip_agreement']:.2f})")
    print(f"  average power {1e9 * result['avg_power_w']:.1f} nW (paper 82.6 nW)")
    print(f"  transistors {result['transistors']} (paper 768)")
    summary = {k: v for k, v in result.items() if k != "clips"}
    print(json.dumps(summary, default=float))


if __name__ == "__main__":
    main()
