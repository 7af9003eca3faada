"""Why a circuit's memory states differ from the software's: transients
between the frame samples.

    python benchmarks/transients.py VERIFY_DIR --data-dir DIR [--clips KEY ...]
        [--workers 2] [--json]

VERIFY_DIR is a verification folder (``bmru verify`` or ``benchmarks/signoff.py
--parts verify``: ``verification.json``, ``clips.jsonl``). The chip is
rebuilt with that verification's settings and calibration trims (nothing is
recalibrated) and simulated on the clips whose hardware decision differed
(or ``--clips``). For every cell state that differs from the software, it
sorts where each difference starts: after a transient (the cell's input
crossed the deciding threshold between the frame's start and its sample,
while its sampled value is on the software's side: an input the software
never computes), with the sampled input already across the threshold (an
error upstream), or neither (the cell's own offset or speed). It counts the
differences that start where the software's own input is within 0.05 units
of the threshold that decides (an analog error that small flips them) and,
of the frames whose decision differs, those the software readout also
decides differently when fed the circuit's own states and Dense outputs
(the readout's own error).

It also replays, in software and on every clip of the verification, the
transient of a first-layer cell switching at a frame edge: the second
memory layer updated once with this frame's features and the previous
frame's first-layer states, then with the settled input
(``docs/results.md``, "Why states differ"). Models of
``bmru_keras.models.build_kws_model`` with two or more memory layers and
skip connections only.
"""

import argparse
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


#: Where a state difference starts: a transient between the frame samples,
#: the sampled input on the other side of the threshold, or the cell itself.
CAUSES = ("transient", "input", "cell")

#: Units: a start where the software's input is this near its deciding threshold is "near".
NEAR = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("verify_dir")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--clips", nargs="+", help="clip keys (default: those that differed)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from bmru_keras.evaluation import clip_decisions
    from bmru_keras.models import predict_in_batches
    from bmru_keras.parallel import map_unordered
    from bmru_keras.training import load_run, run_inputs
    from exporters import export_to_circuit
    from exporters.design import Design
    from exporters.graph import output_layer
    from exporters.simulate import simulate_job
    from exporters.software import (
        frame_edge_logits,
        probe_readings,
        quantized_model,
        realized_states,
        realized_sums,
    )
    from exporters.trims import BiasTrims

    folder = Path(args.verify_dir)
    report = json.loads((folder / "verification.json").read_text())
    rows = [json.loads(line) for line in (folder / "clips.jsonl").read_text().splitlines()]
    rows = [row for row in rows if "clip" in row]
    trims = BiasTrims.from_dict(report["calibration_trims"] or {"thresholds": {}, "biases": {}})
    width, length = report.get("unit_device_um", Design().unit_device_um)  # older reports: none
    design = Design(
        unit_current=report["unit_current_a"],
        vdd=report["vdd_v"],
        output_capacitance=report["output_capacitance_f"],
        temperature=report["temperature_c"],
        cell_ratio=report.get("cell_ratio", Design.cell_ratio),
        unit_width=1e-6 * width,
        unit_length=1e-6 * length,
    )
    config, model, normalization = load_run(report["run_dir"])
    _, data, x = run_inputs(config, normalization, args.data_dir, report["split"])
    keys = [clip.key for clip in data.clips]
    position = {key: i for i, key in enumerate(keys)}
    export = export_to_circuit(model, design, trims=trims)
    if export.fingerprint() != report["netlist_sha256"]:
        raise SystemExit(
            f"the rebuilt netlist differs from the one {folder} verified (another cell ratio, "
            "unit device or build): rerun the verification with this build's defaults"
        )
    software = quantized_model(model, export)

    # The software replay of the frame-edge transient, on every clip.
    rule = config.model.decision
    logits = predict_in_batches(software, x)
    plain = clip_decisions(logits, rule)
    skewed = clip_decisions(frame_edge_logits(software, x), rule)
    hardware = {row["clip"]: row["hw_decision"] for row in rows}
    differing = [k for k in keys if k in hardware and hardware[k] != plain[position[k]]]
    replay = {
        "clips": len(keys),
        "decisions_changed_by_the_transient": int((skewed != plain).sum()),
        "hardware_differing_clips": len(differing),
        "of_those_changed_by_the_transient": int(
            sum(skewed[position[k]] != plain[position[k]] for k in differing)
        ),
    }

    # The circuit, between its frame samples, on the clips that differ.
    chosen = args.clips or differing
    missing = [k for k in chosen if k not in position]
    if missing:
        raise SystemExit(f"clips not in the verification's split: {missing}")
    index = [position[k] for k in chosen]
    jobs = [(export, i, x[i], report["frame_s"], design.temperature) for i in index]
    results = dict(map_unordered(simulate_job, jobs, args.workers, None, "clips"))
    errors = [keys[i] + ": " + results[i]["error"] for i in index if "error" in results[i]]
    if errors:
        raise SystemExit("\n".join(errors))
    memories = list(results[index[0]]["states"])
    expected = realized_states(software, x[index], memories)
    ideal = realized_sums(software, x[index], memories)
    per_layer = {}
    readout = {"frames_differ": 0, "readout_own": 0}
    for n, i in enumerate(index):
        result = results[i]
        measured, local = probe_readings(software, x[i], result)[output_layer(software)]
        otherwise = measured.argmax(1) != logits[i].argmax(1)
        readout["frames_differ"] += int(otherwise.sum())
        readout["readout_own"] += int((otherwise & (measured.argmax(1) != local.argmax(1))).sum())
        for name, states in result["states"].items():
            layer = software.get_layer(name)
            high, low = trims.targets(name, layer.cell.beta_high, layer.cell.beta_low)
            sampled = result["candidates"][name]
            lowest, highest = np.moveaxis(result["candidate_range"][name], -1, 0)
            want = expected[name][n]
            wrong = states != want
            before = np.vstack([np.zeros_like(want[:1]), want[:-1]])  # both agreed there
            first = wrong & ~np.vstack([np.zeros_like(wrong[:1]), wrong[:-1]])  # onsets
            # Where the difference starts, is the circuit's sampled input on
            # the software's side of the threshold that decides the state?
            on_side = np.where(
                want,
                np.where(before, sampled >= low, sampled > high),
                np.where(before, sampled < low, sampled <= high),
            )
            # A cell held on that the circuit resets, its input under the lower
            # threshold between samples; one held off that it sets, over the upper.
            glitch = (before & want & (lowest < low)) | (~before & ~want & (highest > high))
            # The software's distance from the threshold that decides its state.
            deciding = np.where(before, layer.cell.beta_low, layer.cell.beta_high)
            near = np.abs(ideal[name][n] - deciding) < NEAR
            fields = ("frames", "differ", *CAUSES, "near_threshold")
            counts = per_layer.setdefault(name, dict.fromkeys(fields, 0))
            counts["frames"] += states.size
            counts["differ"] += int(wrong.sum())
            counts["input"] += int((first & ~on_side).sum())
            counts["transient"] += int((first & on_side & glitch).sum())
            counts["cell"] += int((first & on_side & ~glitch).sum())
            counts["near_threshold"] += int((first & near).sum())
    summary = {
        "verification": str(folder),
        "clips": chosen,
        "states": per_layer,
        "readout": readout,
        "replay": replay,
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(f"{len(chosen)} clips of {folder}:")
    for name, c in per_layer.items():
        print(
            f"  {name}: {c['differ']} of {c['frames']} cell-frames differ; where a "
            f"difference starts: {c['transient']} after a transient crossed the threshold "
            f"between samples, {c['input']} with the sampled input across it (upstream "
            f"error), {c['cell']} with neither (the cell's own offset or speed); "
            f"{c['near_threshold']} of the starts where the software's input is within "
            f"{NEAR:g} units of its threshold"
        )
    print(
        f"  readout: {readout['frames_differ']} frames decided otherwise than the software, "
        f"{readout['readout_own']} of them also against the software readout fed the "
        "circuit's own states and Dense outputs"
    )
    print(
        f"software replay of the frame-edge transient, {replay['clips']} clips: "
        f"{replay['decisions_changed_by_the_transient']} decisions change; of the "
        f"{replay['hardware_differing_clips']} clips where the hardware differs, "
        f"{replay['of_those_changed_by_the_transient']}"
    )


if __name__ == "__main__":
    main()
