"""Where a mismatched chip's errors come from: Pelgrom mismatch in one block
at a time.

    python benchmarks/mismatch_budget.py RUN_DIR --data-dir DIR [--clips 2]
        [--seed 0] [--blocks [NAME ...]] [--vdd 1.0] [--workers 2] [--json]

The run is exported at the default design (or ``--vdd``), uncalibrated, and
one chip's draws (mismatch seed ``--seed``, as ``signoff.py --parts
montecarlo`` draws its chip of that seed) are applied to no block, to each
block alone (its devices and the cells it holds; the rest nominal; or only
the ``--blocks`` named, none with a bare ``--blocks``) and to all of them;
each variant is simulated on the first ``--clips`` held-out clips. At
every probe (each hidden Dense layer's outputs, each memory layer's cell
inputs, the readout) it prints the spread, over frames, of
the measured value less the software computed from the circuit's own
upstream signals (:func:`exporters.software.local_sums`), its mean over the
clips removed: the error a bias trim cannot cancel, in units, the largest
over the layer's outputs. A block whose mismatch moves a probe's spread far
above the nominal row is where sizing, not calibration, has to act.
"""

import argparse
import json
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--clips", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blocks", nargs="*", help="the blocks to draw alone (default: each)")
    parser.add_argument("--vdd", type=float)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from bmru_keras.parallel import map_unordered
    from exporters.design import Design
    from exporters.export import export_to_circuit
    from exporters.mismatch import mismatched
    from exporters.simulate import simulate_job
    from exporters.software import probe_readings, quantized_model
    from exporters.study import StudyOptions, load_clips

    design = Design() if args.vdd is None else Design(vdd=args.vdd)
    run = load_clips(StudyOptions(args.run_dir, args.data_dir, "heldout", args.clips, design))
    nominal = export_to_circuit(run.model, design)
    realized = quantized_model(run.model, nominal)
    blocks = (
        [block.name for block in nominal.circuit.blocks] if args.blocks is None else args.blocks
    )
    variants = {"none": set(), **{name: {name} for name in blocks}, "all": None}
    chips = {
        name: nominal if kept == set() else mismatched(nominal, args.seed, blocks=kept)
        for name, kept in variants.items()
    }
    jobs = [
        (chip, (name, i), run.x[i], 0.01, 27.0)
        for name, chip in chips.items()
        for i in range(len(run.x))
    ]
    results = dict(map_unordered(simulate_job, jobs, args.workers, None, "simulations"))

    spreads: dict[str, dict[str, float]] = {}
    for name in variants:
        errors: dict[str, list] = {}
        for i in range(len(run.x)):
            result = results[(name, i)]
            if "error" in result:
                raise SystemExit(f"{name}, clip {i}: {result['error']}")
            for layer, (measured, software) in probe_readings(realized, run.x[i], result).items():
                errors.setdefault(layer, []).append(measured - software)
        spreads[name] = {}
        for layer, values in errors.items():
            error = np.concatenate(values)
            spread = np.sqrt(np.nanmean((error - np.nanmean(error, 0)) ** 2, 0))
            spreads[name][layer] = float(np.nanmax(spread))
    if args.json:
        print(json.dumps({"seed": args.seed, "clips": len(run.x), "spread_units": spreads}))
        return
    layers = list(spreads["none"])
    print(
        f"mismatch seed {args.seed}, {len(run.x)} held-out clips; the spread (units) at each probe"
    )
    print("| mismatch in | " + " | ".join(layers) + " |")
    print("|---" * (len(layers) + 1) + "|")
    for name, row in spreads.items():
        print(f"| {name} | " + " | ".join(f"{row[layer]:.3f}" for layer in layers) + " |")


if __name__ == "__main__":
    main()
