"""Hardware against software: simulate an exported run on real clips.

Each clip is one ngspice transient in a worker process (the ngspice library
holds global state: one simulation at a time per process). A clip that fails
is reported with its error; the others keep their results.
"""

import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import keras
import numpy as np

from bmru_keras.evaluation import clip_decisions
from bmru_keras.training import load_run, run_inputs
from exporters.errors import SimulationError  # noqa: F401  (re-exported for callers)
from exporters.export import CircuitExport, export_to_circuit
from exporters.simulate import simulate_clip


def quantized_model(model: keras.Model, export: CircuitExport) -> keras.Model:
    """A copy of ``model`` whose kernels and biases are the realized mirror
    ratios of the export."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for name, (kernel, bias) in export.quantized_weights.items():
        layer = copy.get_layer(name)
        layer.kernel.assign(kernel)
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(bias)
    return copy


def _simulate(job):
    export, index, features, frame = job
    try:
        sim = simulate_clip(export, features, frame)
    except Exception as error:  # reported per clip, the others go on
        return index, {"error": f"{type(error).__name__}: {error}"}
    return index, {
        "logits": sim.logits,
        "states": sim.states,
        "power": sim.power,
        "seconds": sim.seconds,
    }


def verify_run(
    run_dir: str | Path,
    data_dir: str | Path,
    split: str = "testing",
    clips: int = 10,
    workers: int = 1,
    unit_current: float = 3e-10,
    vdd: float = 0.9,
    frame: float = 0.01,
) -> dict:
    """Export a run, simulate ``clips`` clips and compare with Keras."""
    config, model, normalization = load_run(run_dir)
    root = Path(data_dir)
    _, data, x = run_inputs(config, normalization, root, split, clips)
    export = export_to_circuit(model, unit_current=unit_current, vdd=vdd)
    software = model.predict(x, batch_size=256, verbose=0)
    quantized = quantized_model(model, export).predict(x, batch_size=256, verbose=0)
    memories = [name for name in export.states]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in memories])
    sw_states = probe.predict(x, verbose=0)
    sw_states = sw_states if isinstance(sw_states, list) else [sw_states]
    jobs = [(export, i, x[i], frame) for i in range(len(x))]
    start = time.perf_counter()
    if workers > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            results = dict(pool.map(_simulate, jobs))
    else:
        results = dict(map(_simulate, jobs))
    wall = time.perf_counter() - start
    rule = config.model.decision
    rows = []
    for i, clip in enumerate(data.clips):
        result = results[i]
        row = {"clip": clip.path, "label": int(data.labels[i])}
        row["sw_decision"] = int(clip_decisions(software[i : i + 1], rule)[0])
        row["sw_quantized_decision"] = int(clip_decisions(quantized[i : i + 1], rule)[0])
        if "error" in result:
            row["error"] = result["error"]
            rows.append(row)
            continue
        hw = result["logits"]
        row["hw_decision"] = int(clip_decisions(hw[None], rule)[0])
        row["frame_agreement"] = float(np.mean(hw.argmax(1) == software[i].argmax(1)))
        row["state_agreement"] = float(
            np.mean(
                [
                    np.mean((sw_states[k][i] > 0) == result["states"][name])
                    for k, name in enumerate(memories)
                ]
            )
        )
        row["power_w"] = result["power"]
        row["seconds"] = result["seconds"]
        rows.append(row)
    done = [r for r in rows if "error" not in r]
    duration = x.shape[1] * frame

    def mean(key):
        return float(np.mean([r[key] for r in done])) if done else None

    power = (
        {k: float(np.mean([r["power_w"][k] for r in done])) for k in ("cell", "ff")} if done else {}
    )
    total_power = sum(power.values()) if done else None
    return {
        "run_dir": str(run_dir),
        "data_dir": str(root),
        "split": split,
        "n_clips": len(rows),
        "n_failed": len(rows) - len(done),
        "clip_agreement": mean_of(done, lambda r: r["hw_decision"] == r["sw_decision"]),
        "frame_agreement": mean("frame_agreement"),
        "state_agreement": mean("state_agreement"),
        "hw_clip_accuracy": mean_of(done, lambda r: r["hw_decision"] == r["label"]),
        "sw_clip_accuracy": mean_of(rows, lambda r: r["sw_decision"] == r["label"]),
        "sw_quantized_clip_accuracy": mean_of(
            rows, lambda r: r["sw_quantized_decision"] == r["label"]
        ),
        "avg_power_w": total_power,
        "avg_power_cells_w": power.get("cell"),
        "avg_power_feedforward_w": power.get("ff"),
        "energy_per_inference_j": None if total_power is None else total_power * duration,
        "transistors": export.transistor_count,
        "transistors_by_block": export.transistors,
        "unit_current_a": unit_current,
        "vdd_v": vdd,
        "sim_seconds_per_clip": mean("seconds"),
        "wall_seconds": wall,
        "workers": workers,
        "max_weight_error": max(abs(w["relative_error"]) for w in export.weights),
        "clips": rows,
    }


def mean_of(rows, predicate) -> float | None:
    return float(np.mean([bool(predicate(r)) for r in rows])) if rows else None


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
        f"{result['n_failed']} failed. Unit current {result['unit_current_a']:g} A, "
        f"supply {result['vdd_v']} V, {result['transistors']} transistors.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| clip decisions, hardware = software | {pct(result['clip_agreement'])} |",
        f"| frame decisions, hardware = software | {pct(result['frame_agreement'])} |",
        f"| memory-cell states, hardware = software | {pct(result['state_agreement'])} |",
        f"| clip accuracy, hardware | {pct(result['hw_clip_accuracy'])} |",
        f"| clip accuracy, software | {pct(result['sw_clip_accuracy'])} |",
        "| clip accuracy, software with realized weights | "
        f"{pct(result['sw_quantized_clip_accuracy'])} |",
        f"| average power | {nano(result['avg_power_w'])} |",
        "| of which memory cells / feed-forward | "
        f"{nano(result['avg_power_cells_w'])} / {nano(result['avg_power_feedforward_w'])} |",
        f"| simulation time per clip | {result['sim_seconds_per_clip'] or 0:.1f} s |",
        "",
    ]
    if failed:
        lines += ["Failed clips:", ""] + [f"- {r['clip']}: {r['error']}" for r in failed]
    (out / "verification.md").write_text("\n".join(lines) + "\n")
    return out
