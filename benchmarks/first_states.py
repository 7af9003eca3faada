"""Do the circuit's memory cells start as the software's? With and without
the power-on reset, at a few corners.

    python benchmarks/first_states.py [RUN_DIR] --data-dir DIR [--clips 20]
        [--switch-device W_UM L_UM] [--json]

The software starts every unit off (``h_0 = 0``); a cell whose first input
lies between its thresholds is bistable, and ngspice's operating point at
t = 0 (as silicon's power-up) may find it on. The first ``--clips`` held-out
clips of the run (default: the shipped hardware model) are simulated for
their first 3 frames, untrimmed, at the design's defaults, once without and
once with ``Design.power_on_reset``; printed per corner, side by side: how
many (clip, memory layer) pairs hold a cell whose state at frame 0 differs
from the software's, of all pairs.
"""

import argparse
import json

from bmru_keras.dependencies import import_tensorflow_quietly

CORNERS = [("typical", 27.0, 1.0), ("ff", 85.0, 1.1), ("ss", -40.0, 0.9)]
FRAMES = 3


def differing(clips, design) -> tuple[int, int]:
    """(clip, layer) pairs whose frame-0 states differ from the software's, and all pairs."""
    from exporters.export import export_to_circuit
    from exporters.simulate import simulate_clip
    from exporters.software import quantized_model, realized_states

    export = export_to_circuit(clips.model, design)
    layers = list(export.states)
    software = realized_states(quantized_model(clips.model, export), clips.x, layers)
    bad = 0
    for i, x in enumerate(clips.x):
        states = simulate_clip(export, x[:FRAMES], clips.frame, design.temperature).states
        bad += sum(bool((states[n][0] != software[n][i, 0]).any()) for n in layers)
    return bad, len(clips.x) * len(layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default="benchmarks/models/kws_yes_d4_hat")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--switch-device", type=float, nargs=2, metavar=("W_UM", "L_UM"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import_tensorflow_quietly()
    from exporters.design import Design, switch_fields
    from exporters.study import StudyOptions, load_clips

    base = Design(**switch_fields(args.switch_device))
    options = StudyOptions(args.run_dir, args.data_dir, "heldout", args.clips, base, 0)
    clips = load_clips(options)
    rows = []
    for corner, temperature, scale in CORNERS:
        point = base.replace(corner=corner, temperature=temperature, vdd=base.vdd * scale)
        counts = {
            name: differing(clips, point.replace(power_on_reset=reset))
            for name, reset in (("no reset", False), ("reset", True))
        }
        rows.append({"corner": f"{corner}, {temperature:g} C, {point.vdd:.2f} V", **counts})
    if args.json:
        print(json.dumps(rows, default=int))
        return
    print("| corner | pairs differing at frame 0, no reset | with the power-on reset |")
    print("|---|---|---|")
    for row in rows:
        cells = [f"{b} of {n} ({100 * b / n:.0f} %)" for b, n in (row["no reset"], row["reset"])]
        print(f"| {row['corner']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
