"""How far a circuit has settled through each frame: every hidden Dense
output and memory-cell input, read at several points of the frame, against
the software.

    python benchmarks/settling.py RUN_DIR --data-dir DIR [--clips KEY ...]
        [--first N] [--fractions 0.3 0.6 0.95] [--unit-current A] [--vdd V]
        [--cell-ratio 3] [--unit-device W_UM L_UM] [--output-capacitance F]
        [--workers 2] [--json]

The nominal chip of the design point (uncalibrated: settling is the
design's, not a calibration's) is simulated once per clip (``--clips`` keys
of the held-out clips, or the first ``--first`` of them) and read at each
fraction of every frame (the verification reads at 0.95). Per layer it
prints the mean distance, in units, of the circuit's sums from the
software's (with the circuit's realized weights) computed from the
circuit's own upstream signals
(:func:`exporters.software.probe_readings`: the layer's own error, not the
errors it inherits), and the share of (frame, unit) readings off by more
than 0.05 units (a twentieth of the unit current: an error that size moves
a cell's switching by a frame, ``docs/results.md``). A layer whose error
still falls between the last two fractions has not settled by the sample.
"""

import argparse
import json
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: Units: a reading further than this from the software's counts as off.
OFF = 0.05


def main() -> None:
    from exporters.design import add_arguments, from_arguments

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--clips", nargs="+", help="held-out clip keys")
    parser.add_argument("--first", type=int, default=4, help="without --clips: the first N")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.3, 0.6, 0.95])
    add_arguments(parser)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not all(0 < f < 1 for f in args.fractions):
        parser.error(f"--fractions {args.fractions}: give fractions of a frame, 0 < f < 1")

    from bmru_keras.parallel import map_unordered
    from bmru_keras.training import load_run, run_inputs
    from exporters import export_to_circuit
    from exporters.simulate import samples_job
    from exporters.software import probe_readings, quantized_model

    design = from_arguments(args)
    config, model, normalization = load_run(args.run_dir)
    limit = None if args.clips else args.first
    _, data, x = run_inputs(config, normalization, args.data_dir, "heldout", limit)
    keys = [clip.key for clip in data.clips]
    chosen = args.clips or keys
    missing = [k for k in chosen if k not in keys]
    if missing:
        raise SystemExit(f"clips not among the run's held-out clips: {missing}")
    index = [keys.index(k) for k in chosen]
    export = export_to_circuit(model, design)
    software = quantized_model(model, export)
    frame = config.features.hop_ms / 1e3
    fractions = tuple(args.fractions)
    jobs = [(export, i, x[i], frame, design.temperature, fractions) for i in index]
    results = dict(map_unordered(samples_job, jobs, args.workers, None, "clips"))
    errors = [keys[i] + ": " + results[i]["error"] for i in index if "error" in results[i]]
    if errors:
        raise SystemExit("\n".join(errors))

    errors_at: dict[str, dict[float, list]] = {}  # layer -> fraction -> per-clip errors
    for i in index:
        for fraction, result in zip(fractions, results[i], strict=True):
            for name, (measured, local) in probe_readings(software, x[i], result).items():
                if name in result["candidates"]:  # a cell reads its input through its ReLU
                    measured, local = np.maximum(measured, 0), np.maximum(local, 0)
                error = np.abs(measured - local)
                errors_at.setdefault(name, {}).setdefault(fraction, []).append(
                    error[np.isfinite(error)]
                )
    layers = {
        name: {
            f"{f:g}": {
                "mean_error_units": float(np.mean(np.concatenate(e))),
                "share_off": float(np.mean(np.concatenate(e) > OFF)),
            }
            for f, e in by_fraction.items()
        }
        for name, by_fraction in errors_at.items()
    }
    summary = {
        "run": args.run_dir,
        "clips": chosen,
        "design": {
            "unit_current_a": design.unit_current,
            "vdd_v": design.vdd,
            "cell_ratio": design.cell_ratio,
            "unit_device_um": list(design.unit_device_um),
            "output_capacitance_f": design.output_capacitance,
            "frame_s": frame,
        },
        "layers": layers,
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(
        f"{len(chosen)} held-out clips, {1e3 * frame:g} ms frames, nominal chip "
        f"({design.unit_current:g} A, {design.vdd:g} V, unit device "
        f"{design.unit_device_um[0]:g} x {design.unit_device_um[1]:g} um, "
        f"{design.output_capacitance:g} F on each cell's output): each layer's own "
        f"error against the software, mean units / share off by > {OFF:g}, at each fraction "
        "of the frame"
    )
    for name, by_fraction in summary["layers"].items():
        cells = "  ".join(
            f"{f}: {v['mean_error_units']:.3f} / {100 * v['share_off']:.1f} %"
            for f, v in by_fraction.items()
        )
        print(f"  {name:16s} {cells}")


if __name__ == "__main__":
    main()
