"""Hardware against software: simulate an exported run on real clips.

Each clip is one ngspice transient in a worker process (the ngspice library
holds global state: one simulation at a time per process). A clip that fails
is reported with its error; the others keep their results, which are written
as they arrive (``clips.jsonl``) so that an interrupted run resumes.
"""

import json
import time
from pathlib import Path

import numpy as np

from bmru_keras.evaluation import balanced_accuracy, clip_decisions, confusion_matrix
from bmru_keras.models import direct_outputs
from bmru_keras.parallel import map_unordered, open_log
from exporters.calibrate import calibration_settings, median_gain
from exporters.errors import ExportError
from exporters.simulate import simulate_job
from exporters.software import quantized_model, realized_states, realized_sums
from exporters.study import (
    StudyOptions,
    load_clips,
    model_sha256,
    nominal_export,
    nominal_trims,
)


def verify_run(options: StudyOptions, out: str | Path | None = None) -> dict:
    """Export a run at ``options.design``, simulate its clips and compare with Keras.

    With ``options.calibrate`` N, N training clips first calibrate the
    chip's bias currents, ``options.calibration_passes`` times
    (``options.reset_guard``: the reset guard of the cells fed by cells)
    (:func:`exporters.calibrate.calibrate`); the trims are kept in
    ``RUN_DIR/calibration/`` (:func:`exporters.study.nominal_trims`).

    Each clip's row is appended to ``out/clips.jsonl`` as soon as it is
    simulated (``out`` defaults to ``RUN_DIR/verification``); a second call
    with the same settings simulates only the clips not yet there, so an
    interrupted verification resumes.
    """
    run = load_clips(options)
    config, model, data, x = run.config, run.model, run.data, run.x
    design, frame = options.design, run.frame
    workers, scheduler = options.workers, options.scheduler

    if options.calibrate and design.level == "behavioral":
        raise ExportError(
            "calibration trims a transistor-level circuit: the behavioral level has "
            "ideal elements (drop --calibrate, or use --level transistor)"
        )
    trims = nominal_trims(model, options, run.x_cal, frame)
    export = nominal_export(model, options, trims)
    software = run.logits
    realized = quantized_model(model, export)
    quantized = direct_outputs(realized, x)[0]
    memories = list(export.states)
    sw_states = realized_states(model, x, memories)
    candidates = realized_sums(realized, x, memories)
    rule = config.model.decision
    temperature = design.temperature
    settings = {
        "level": design.level,
        "unit_current_a": design.unit_current,
        "vdd_v": design.vdd,
        "frame_s": frame,
        "temperature_c": temperature,
        "models": None  # by file name: the netlist's hash holds the files' contents
        if export.models is None
        else [Path(export.models.library).name, export.models.corner],
        "model_sha256": model_sha256(options.run_dir),
        "netlist_sha256": export.fingerprint(),
        **calibration_settings(options.calibrate, options.calibration_passes, options.reset_guard),
        "output_capacitance_f": design.output_capacitance,
    }
    out = Path(out) if out is not None else Path(options.run_dir) / "verification"
    log = out / "clips.jsonl"
    done = {row["clip"]: row for row in open_log(log, settings, options.restart, ("clip",))}
    jobs = [
        (export, i, x[i], frame, temperature)
        for i, clip in enumerate(data.clips)
        if clip.key not in done or "error" in done[clip.key]  # failed clips are retried
    ]
    start = time.perf_counter()
    with open(log, "a") as file:
        for i, result in map_unordered(simulate_job, jobs, workers, scheduler, "simulated clips"):
            row = _row(data, i, result, software, quantized, sw_states, memories, rule)
            if "candidates" in result:
                row["cell_gain"] = cell_gains(result["candidates"], candidates, i)
            file.write(json.dumps(row, default=float) + "\n")
            file.flush()
            done[row["clip"]] = row
    wall = time.perf_counter() - start
    rows = [done[clip.key] for clip in data.clips]
    result = summarize(rows, x.shape[1] * frame)
    result.update(
        {
            "run_dir": str(options.run_dir),
            "data_dir": str(options.data_dir),
            "split": options.split,
            **settings,
            "cell_ratio": design.cell_ratio,
            "unit_device_um": list(design.unit_device_um),
            "switch_device_um": design.switch_device_um and list(design.switch_device_um),
            "power_on_reset": design.power_on_reset,
            "transistors": export.transistor_count or None,
            "transistors_by_block": export.transistors,
            "area_m2": export.area or None,
            "wall_seconds": wall,
            "calibration_trims": None if trims is None else trims.as_dict(),
            "workers": workers,
            "max_weight_error": max(
                (abs(w["relative_error"]) for w in export.weights if w["realized"]), default=0.0
            ),
            "weights_rounded_to_zero": sum(1 for w in export.weights if not w["realized"]),
            "clips": rows,
        }
    )
    return result


def cell_gains(hardware: dict, software: dict, clip: int) -> dict:
    """Per cell, on one clip: the median over frames of hardware / software
    input current (:func:`exporters.calibrate.median_gain`)."""
    return {
        layer: [median_gain(hw[:, u], software[layer][clip][:, u]) for u in range(hw.shape[1])]
        for layer, hw in hardware.items()
    }


def _row(data, i, result, software, quantized, sw_states, memories, rule) -> dict:
    clip = data.clips[i]
    row = {"clip": clip.key, "label": int(data.labels[i])}
    row["sw_decision"] = int(clip_decisions(software[i : i + 1], rule)[0])
    row["sw_quantized_decision"] = int(clip_decisions(quantized[i : i + 1], rule)[0])
    if "error" in result:
        row["error"] = result["error"]
        return row
    hw = result["logits"]
    row["hw_decision"] = int(clip_decisions(hw[None], rule)[0])
    row["frame_agreement"] = float(np.mean(hw.argmax(1) == software[i].argmax(1)))
    # The share of frames voting for the software's decision, in each.
    row["sw_vote"] = float(np.mean(software[i].argmax(1) == row["sw_decision"]))
    row["hw_vote"] = float(np.mean(hw.argmax(1) == row["sw_decision"]))
    row["sw_mean_logits"] = software[i].mean(0).tolist()
    row["hw_mean_logits"] = hw.mean(0).tolist()
    row["state_agreement"] = float(
        np.mean([np.mean(sw_states[name][i] == result["states"][name]) for name in memories])
    )
    row["power_w"] = result["power"]
    row["seconds"] = result["seconds"]
    return row


def summarize(rows: list[dict], duration: float) -> dict:
    """Agreements, accuracies and power over clip rows of :func:`verify_run`."""
    done = [r for r in rows if "error" not in r]

    def mean(key):
        return float(np.mean([r[key] for r in done])) if done else None

    powered = [r for r in done if r["power_w"]]
    power = (
        {k: float(np.mean([r["power_w"][k] for r in powered])) for k in ("cell", "ff")}
        if powered
        else {}
    )
    total_power = sum(power.values()) if power else None
    gains = {}
    for layer in done[0].get("cell_gain", {}) if done else ():
        per_unit = zip(*(r["cell_gain"][layer] for r in done if "cell_gain" in r), strict=True)
        gains[layer] = [
            float(np.median([g for g in unit if g is not None]))
            if any(g is not None for g in unit)
            else None
            for unit in per_unit
        ]
    return {
        "cell_input_gain": gains,
        "n_clips": len(rows),
        "n_failed": len(rows) - len(done),
        "clip_agreement": mean_of(done, lambda r: r["hw_decision"] == r["sw_decision"]),
        "clip_agreement_balanced": balanced_mean_of(
            done, lambda r: r["hw_decision"] == r["sw_decision"]
        ),
        "clip_agreement_realized_weights": mean_of(
            done, lambda r: r["hw_decision"] == r["sw_quantized_decision"]
        ),
        "frame_agreement": mean("frame_agreement"),
        "state_agreement": mean("state_agreement"),
        "hw_clip_accuracy": mean_of(done, lambda r: r["hw_decision"] == r["label"]),
        "sw_clip_accuracy": mean_of(rows, lambda r: r["sw_decision"] == r["label"]),
        "hw_balanced_accuracy": _balanced_accuracy(done, "hw_decision"),
        "sw_balanced_accuracy": _balanced_accuracy(rows, "sw_decision"),
        "sw_quantized_clip_accuracy": mean_of(
            rows, lambda r: r["sw_quantized_decision"] == r["label"]
        ),
        "avg_power_w": total_power,
        "avg_power_cells_w": power.get("cell"),
        "avg_power_feedforward_w": power.get("ff"),
        "energy_per_inference_j": None if total_power is None else total_power * duration,
        "sim_seconds_per_clip": mean("seconds"),
    }


def mean_of(rows, predicate) -> float | None:
    return float(np.mean([bool(predicate(r)) for r in rows])) if rows else None


def _balanced_accuracy(rows, decision: str) -> float | None:
    """:func:`bmru_keras.evaluation.balanced_accuracy` of the rows' ``decision``."""
    if not rows:
        return None
    labels, decided = (np.array([r[key] for r in rows]) for key in ("label", decision))
    n = int(max(labels.max(), decided.max())) + 1
    return balanced_accuracy(confusion_matrix(labels, decided, n))


def balanced_mean_of(rows, predicate) -> float | None:
    """The mean over the clips' true classes of :func:`mean_of` each class's
    rows: a split of many "other" clips and few keywords weighs both alike."""
    labels = sorted({r["label"] for r in rows})
    return (
        float(np.mean([mean_of([r for r in rows if r["label"] == k], predicate) for k in labels]))
        if rows
        else None
    )


def write_report(result: dict, directory: str | Path) -> Path:
    """``verification.json`` and a markdown summary in ``directory``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "verification.json").write_text(json.dumps(result, indent=1, default=float))

    def pct(value):
        return "n/a" if value is None else f"{100 * value:.1f} %"

    def nano(value):
        return "n/a" if value is None else f"{1e9 * value:.1f} nW"

    failed = [r for r in result["clips"] if "error" in r]
    lines = [
        f"# Verification of {result['run_dir']}",
        "",
        f"{result['n_clips']} clips of `{result['split']}` in {result['data_dir']}; "
        f"{result['n_failed']} failed. Level {result['level']}, unit current "
        f"{result['unit_current_a']:g} A, supply {result['vdd_v']} V, "
        f"{result['temperature_c']:g} C, models {result['models'] or 'ideal elements'}, "
        f"{result['transistors'] or 'no'} transistors{_area(result.get('area_m2'))}.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| clip decisions, hardware = software | {pct(result['clip_agreement'])} |",
        f"| the same, the mean over the true classes | {pct(result['clip_agreement_balanced'])} |",
        "| clip decisions, hardware = software with realized weights | "
        f"{pct(result['clip_agreement_realized_weights'])} |",
        f"| frame decisions, hardware = software | {pct(result['frame_agreement'])} |",
        f"| memory-cell states, hardware = software | {pct(result['state_agreement'])} |",
        f"| clip accuracy, hardware | {pct(result['hw_clip_accuracy'])} |",
        f"| clip accuracy, software | {pct(result['sw_clip_accuracy'])} |",
        "| balanced clip accuracy, hardware / software | "
        f"{pct(result['hw_balanced_accuracy'])} / {pct(result['sw_balanced_accuracy'])} |",
        "| clip accuracy, software with realized weights | "
        f"{pct(result['sw_quantized_clip_accuracy'])} |",
        f"| average power | {nano(result['avg_power_w'])} |",
        "| of which memory cells / feed-forward | "
        f"{nano(result['avg_power_cells_w'])} / {nano(result['avg_power_feedforward_w'])} |",
        f"| simulation time per clip | {result['sim_seconds_per_clip'] or 0:.1f} s |",
        "| realized weights: largest error, rounded to 0 | "
        f"{pct(result['max_weight_error'])}, {result['weights_rounded_to_zero']} |",
        "",
    ]
    gains = result.get("cell_input_gain") or {}
    if gains:
        width = max(len(values) for values in gains.values())
        lines += [
            "Each memory cell's input current, hardware / software with realized "
            "weights (median over the frames where it is at least 0.3 units, then "
            "over clips; 1 is exact):",
            "",
            "| layer | " + " | ".join(f"unit {u}" for u in range(width)) + " |",
            "|---" * (width + 1) + "|",
        ]
        for layer, values in gains.items():
            cells = ["n/a" if g is None else f"{g:.3f}" for g in values]
            lines.append(f"| {layer} | " + " | ".join(cells) + " |")
        lines.append("")
    if plot_clips(result["clips"], out / "clips.png"):
        lines += ["![per clip](clips.png)", ""]
    if failed:
        lines += ["Failed clips:", ""] + [f"- {r['clip']}: {r['error']}" for r in failed]
    (out / "verification.md").write_text("\n".join(lines) + "\n")
    return out


def plot_clips(rows: list[dict], path: Path) -> bool:
    """Per clip: the share of frames voting for the software decision in
    hardware against software (disagreements in red), and the power."""
    rows = [r for r in rows if "hw_vote" in r]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    watts = [sum(r["power_w"].values()) - r["power_w"].get("bias", 0) for r in rows if r["power_w"]]
    # No power at the behavioral level: one panel, not an empty second one.
    figure, axes = plt.subplots(1, 2 if watts else 1, figsize=(10 if watts else 5, 4))
    votes = axes[0] if watts else axes
    agree = np.array([r["hw_decision"] == r["sw_decision"] for r in rows])
    sw, hw = (np.array([r[k] for r in rows]) for k in ("sw_vote", "hw_vote"))
    votes.scatter(sw[agree], hw[agree], s=10, label="same decision")
    votes.scatter(sw[~agree], hw[~agree], s=20, c="red", label="different decision")
    votes.plot([0, 1], [0, 1], "k:", linewidth=0.8)
    votes.set(
        xlabel="software: share of frames for its decision",
        ylabel="hardware: share of frames for that decision",
    )
    votes.legend()
    if watts:
        axes[1].hist(1e9 * np.array(watts), bins=30)
        axes[1].set(xlabel="power per clip (nW, cells + feed-forward)", ylabel="clips")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def _area(area: dict | None) -> str:
    if not area:
        return ""
    gate, capacitor = (1e6 * area[k] for k in ("gate", "capacitor"))  # m^2 to mm^2
    return f" ({gate:.3f} mm^2 of gates, {capacitor:.3f} mm^2 of capacitors)"
