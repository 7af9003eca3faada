"""Circuit robustness in ngspice: Monte Carlo mismatch, PVT corners and
transient noise at the memory cells (:mod:`exporters.noise`).

Monte Carlo and corners simulate the exported run on real clips many times (one transient per
clip and variant, on local workers or a Dask cluster) and compare each clip
decision with the software's. Every result is appended to a JSON-lines log
in the report folder as it arrives; a second call with the same settings
simulates only what is missing.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

from bmru_keras.evaluation import clip_decisions
from bmru_keras.parallel import map_unordered, open_log
from exporters.blocks import Sizing
from exporters.calibrate import calibrate
from exporters.errors import ExportError
from exporters.export import export_to_circuit
from exporters.mirrors import characterize
from exporters.mismatch import mismatched
from exporters.pdk import GF180_CORNERS
from exporters.simulate import simulate_job

TEMPERATURES = (-40.0, 27.0, 85.0)
SUPPLY_SCALES = (0.9, 1.0, 1.1)


def _decide(job: tuple) -> tuple:
    key, export, features, frame, temperature, rule = job
    _, sim = simulate_job((export, key, features, frame, temperature))
    if "error" in sim:  # reported per job, the others go on
        return key, sim
    power = sum(v for k, v in sim["power"].items() if k != "bias")
    return key, {"decision": int(clip_decisions(sim["logits"][None], rule)[0]), "power_w": power}


def run_logged(
    path: Path,
    settings: dict,
    jobs: list[tuple],
    workers: int,
    scheduler,
    restart: bool,
    fn=_decide,
) -> dict:
    """Run ``fn`` on ``jobs`` (their first element a string key), appending
    each result to the log ``path`` (:func:`bmru_keras.parallel.open_log`);
    results already there are reused, failed ones retried."""
    results = {
        row["key"]: row["result"]
        for row in open_log(path, settings, restart, ("key", "result"))
        if "error" not in row["result"]
    }
    todo = [job for job in jobs if job[0] not in results]
    with open(path, "a") as file:
        for key, result in map_unordered(fn, todo, workers, scheduler):
            file.write(json.dumps({"key": key, "result": result}) + "\n")
            file.flush()
            results[key] = result
    return results


def _inputs(args):
    """The run, the clips, the software's decisions, and with
    ``args.calibrate`` N the network inputs of N training clips (else
    None) to measure trims on."""
    from bmru_keras.training import load_run, run_inputs

    config, model, normalization = load_run(args.run_dir)
    split = "testing" if args.split == "test" else args.split
    _, data, x = run_inputs(config, normalization, args.data_dir, split, args.clips)
    software = clip_decisions(model.predict(x, batch_size=256, verbose=0), config.model.decision)
    x_cal = None
    if args.calibrate:
        _, _, x_cal = run_inputs(config, normalization, args.data_dir, "training", args.calibrate)
    return config, model, data, x, software, split, x_cal


def _nominal_export(model, args, **trims):
    """``model`` exported at the study's nominal settings (``args.unit_current``,
    ``args.vdd``, ``args.models``), with ``trims`` (gains and offsets) if any."""
    return export_to_circuit(
        model,
        unit_current=args.unit_current,
        vdd=args.vdd,
        models=args.models,
        output_capacitance=args.output_capacitance,
        **trims,
    )


def _nominal_trims(model, args, x_cal) -> dict:
    """The trims every variant is built with: on the calibration clips
    ``x_cal``, the gains and offsets of the nominal circuit (``args.models``,
    typical unless chosen; 27 C; ``args.vdd``; :mod:`exporters.calibrate`),
    fixed as a design-time trim would be; none without ``x_cal``."""
    if x_cal is None:
        return {}
    gains, offsets = calibrate(
        model,
        lambda g, o: _nominal_export(model, args, gains=g, offsets=o),
        x_cal,
        args.calibration_passes,
        workers=args.workers,
        scheduler=args.scheduler,
    )
    return {"gains": gains, "offsets": offsets}


def _settings(args, split: str, **extra) -> dict:
    return {
        "run_dir": str(args.run_dir),
        "split": split,
        "clips": args.clips,
        "unit_current_a": args.unit_current,
        "vdd_v": args.vdd,
        "calibration_clips": args.calibrate,
        "calibration_passes": args.calibration_passes if args.calibrate else 0,
        "output_capacitance_f": args.output_capacitance,
        **extra,
    }


def montecarlo(args, out: Path) -> dict:
    """``args.trials`` mismatch samples (seeds ``args.seed`` + k), every clip
    simulated on each: the decision flip rate per clip and overall."""
    from exporters.mismatch import GF180MCU_MISMATCH

    if args.model_library:
        raise ExportError(
            "the Monte Carlo study samples GF180MCU's mismatch coefficients; for another "
            "library call exporters.mismatch.mismatched(export, seed, Pelgrom(...)) "
            "with your process's coefficients"
        )
    if args.trim_each and not args.calibrate:
        raise ExportError("--trim-each trims every sample on --calibrate N clips: give N")
    config, model, data, x, software, split, x_cal = _inputs(args)
    # Per-chip trims start from the untrimmed circuit; else every sample shares the nominal trims.
    trims = {} if args.trim_each else _nominal_trims(model, args, x_cal)
    export = _nominal_export(model, args, **trims)
    settings = _settings(
        args,
        split,
        trials=args.trials,
        seed=args.seed,
        netlist_sha256=export.fingerprint(),
        trim_each=args.trim_each,
    )
    jobs = []
    for trial in range(args.trials):
        seed = args.seed + trial
        variant = (
            _trimmed_sample(model, args, x_cal, seed)
            if args.trim_each
            else mismatched(export, seed, GF180MCU_MISMATCH)
        )
        jobs += [
            (f"{trial}/{i}", variant, x[i], 0.01, 27.0, config.model.decision)
            for i in range(len(x))
        ]
    log = out / "montecarlo.jsonl"
    results = run_logged(log, settings, jobs, args.workers, args.scheduler, args.restart)
    decisions = np.full((args.trials, len(x)), -1)
    for key, result in results.items():
        trial, i = map(int, key.split("/"))
        if "error" not in result:
            decisions[trial, i] = result["decision"]
    simulated = decisions >= 0
    flips = np.where(simulated, decisions != software[None], False)
    per_clip = flips.sum(0) / np.maximum(simulated.sum(0), 1)
    accuracy = [
        float(np.mean(decisions[t][simulated[t]] == data.labels[simulated[t]]))
        for t in range(args.trials)
        if simulated[t].any()
    ]
    result = {
        **settings,
        "n_clips": len(x),
        "n_failed": int((~simulated).sum()),
        "sw_clip_accuracy": float(np.mean(software == data.labels)),
        "hw_clip_accuracy_mean": float(np.mean(accuracy)) if accuracy else None,
        "hw_clip_accuracy_min": float(np.min(accuracy)) if accuracy else None,
        "hw_clip_accuracy_per_sample": accuracy,
        "flip_rate": float(flips.sum() / max(simulated.sum(), 1)),
        "clips_ever_flipped": int((per_clip > 0).sum()),
        "flip_rate_per_clip": {c.key: float(r) for c, r in zip(data.clips, per_clip, strict=True)},
    }
    _plot_flips(per_clip, out / "montecarlo.png")
    result["report"] = "\n".join(
        [
            f"# Monte Carlo mismatch: {args.run_dir}",
            "",
            f"{args.trials} mismatch samples (GF180MCU Pelgrom coefficients, seeds "
            f"{args.seed}..{args.seed + args.trials - 1}) x {len(x)} clips of `{split}`, "
            f"{args.unit_current:g} A per unit, {args.vdd} V; {result['n_failed']} failed.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| software clip accuracy | {100 * result['sw_clip_accuracy']:.1f} % |",
            f"| hardware clip accuracy, mean over samples | "
            f"{_pct(result['hw_clip_accuracy_mean'])} % |",
            f"| hardware clip accuracy, worst sample | {_pct(result['hw_clip_accuracy_min'])} % |",
            f"| decisions that differ from software | {100 * result['flip_rate']:.1f} % |",
            f"| clips that ever flip | {result['clips_ever_flipped']} of {len(x)} |",
            "",
            "![flip rate per clip](montecarlo.png)",
            "",
        ]
    )
    return result


def _trimmed_sample(model, args, x_cal: np.ndarray, seed: int):
    """Mismatch sample ``seed`` of the nominal circuit, trimmed on its own (a
    per-chip trim, :func:`exporters.calibrate.calibrate` on the calibration
    clips ``x_cal``): every rebuild gets the same per-device draws."""

    def chip(gains, offsets):  # draws by device name: the same chip at every pass
        return mismatched(_nominal_export(model, args, gains=gains, offsets=offsets), seed)

    trims = calibrate(
        model, chip, x_cal, args.calibration_passes, workers=args.workers, scheduler=args.scheduler
    )
    return chip(*trims)


def corners(args, out: Path) -> dict:
    """Process corners x temperatures (-40, 27, 85 C) x supplies (+-10 %):
    accuracy and agreement with software at each, and whether the clips the
    nominal circuit decides correctly stay correct at every corner."""
    config, model, data, x, software, split, x_cal = _inputs(args)
    trims = _nominal_trims(model, args, x_cal)
    process = [args.corner] if args.model_library else (args.process_corners or GF180_CORNERS)
    temperatures = args.temperatures or TEMPERATURES
    supplies = args.supply_scales or SUPPLY_SCALES
    grid = [(c, t, s) for c in process for t in temperatures for s in supplies]
    # Every corner is the nominal circuit: its devices sized at the nominal corner and supply.
    sizing = characterize(
        Sizing(args.models.width, args.models.length), args.models, args.unit_current, args.vdd
    )
    jobs, fingerprints = [], []
    for corner, temperature, scale in grid:
        models = dataclasses.replace(args.models, corner=corner)
        export = export_to_circuit(
            model,
            unit_current=args.unit_current,
            vdd=args.vdd * scale,
            models=models,
            sizing=sizing,
            output_capacitance=args.output_capacitance,
            **trims,
        )
        fingerprints.append(export.fingerprint())
        key = f"{corner}/{temperature:g}/{scale:g}"
        jobs += [
            (f"{key}/{i}", export, x[i], 0.01, temperature, config.model.decision)
            for i in range(len(x))
        ]
    settings = _settings(args, split, corners=grid, netlist_sha256=fingerprints)
    log = out / "corners.jsonl"
    results = run_logged(log, settings, jobs, args.workers, args.scheduler, args.restart)
    rows = []
    decided = {}
    for corner, temperature, scale in grid:
        key = f"{corner}/{temperature:g}/{scale:g}"
        got = [results.get(f"{key}/{i}", {}) for i in range(len(x))]
        ok = np.array(["decision" in g for g in got])
        hw = np.array([g.get("decision", -1) for g in got])
        decided[key] = hw
        rows.append(
            {
                "corner": corner,
                "temperature_c": temperature,
                "vdd_v": args.vdd * scale,
                "n_failed": int((~ok).sum()),
                "hw_clip_accuracy": float(np.mean(hw[ok] == data.labels[ok])) if ok.any() else None,
                "clip_agreement": float(np.mean(hw[ok] == software[ok])) if ok.any() else None,
                "power_w": float(np.mean([g["power_w"] for g in got if "power_w" in g]))
                if ok.any()
                else None,
            }
        )
    nominal_key = f"{'typical' if 'typical' in process else process[0]}/27/1"
    if nominal_key not in decided:
        nominal_key = next(iter(decided))
    nominal_right = decided[nominal_key] == data.labels
    right_everywhere = np.all([decided[k] == data.labels for k in decided], axis=0)
    result = {
        **settings,
        "n_clips": len(x),
        "sw_clip_accuracy": float(np.mean(software == data.labels)),
        "corners": rows,
        "nominal": nominal_key,
        "nominal_correct": int(nominal_right.sum()),
        "nominal_correct_at_all_corners": int((nominal_right & right_everywhere).sum()),
        "worst_accuracy": min(r["hw_clip_accuracy"] or 0 for r in rows),
    }
    _plot_corners(rows, out / "corners.png")
    table = [
        "| corner | T (C) | supply (V) | accuracy % | = software % | power (nW) | failed |",
        "|---|---|---|---|---|---|---|",
    ] + [
        f"| {r['corner']} | {r['temperature_c']:g} | {r['vdd_v']:.2f} | "
        f"{_pct(r['hw_clip_accuracy'])} | {_pct(r['clip_agreement'])} | "
        f"{_nano(r['power_w'])} | {r['n_failed']} |"
        for r in rows
    ]
    result["report"] = "\n".join(
        [
            f"# Corners: {args.run_dir}",
            "",
            f"{len(grid)} corners x {len(x)} clips of `{split}`, {args.unit_current:g} A per "
            f"unit. Clips the nominal circuit ({nominal_key}) decides "
            f"correctly: {result['nominal_correct']}; of those, correct at every corner: "
            f"{result['nominal_correct_at_all_corners']}.",
            "",
            *table,
            "",
            "![accuracy per corner](corners.png)",
            "",
        ]
    )
    return result


def _noise_job(job: tuple) -> tuple:
    key, export, features, frames, input_noise, seed = job
    from exporters.noise import cell_noise

    try:
        result = cell_noise(export, features, frames, input_noise=input_noise, seed=seed)
    except Exception as error:  # reported per clip, the others go on
        return key, {"error": f"{type(error).__name__}: {error}"}
    trace = result.pop("trace")
    if key == "0" and trace is not None:  # the report plots the first clip's
        result["trace"] = {
            k: v if k == "cell" else np.asarray(v).tolist() for k, v in trace.items()
        }
    return key, result


def noise(args, out: Path) -> dict:
    """Per memory cell, over ``args.clips`` clips (``args.frames`` frames each):
    input and output relative noise and the suppression (their ratio), the
    median over clips of each."""
    config, model, data, x, software, split, x_cal = _inputs(args)
    export = _nominal_export(model, args, **_nominal_trims(model, args, x_cal))
    seeds = args.seed + 1 + np.arange(len(x))  # ngspice takes seeds from 1
    jobs = [
        (str(i), export, x[i], args.frames, args.input_noise, int(seeds[i])) for i in range(len(x))
    ]
    settings = {
        **_settings(args, split, frames=args.frames, input_noise=args.input_noise),
        "seed": args.seed,
        "netlist_sha256": export.fingerprint(),
    }
    log = out / "noise.jsonl"
    per_clip = run_logged(
        log, settings, jobs, args.workers, args.scheduler, args.restart, fn=_noise_job
    )
    per_clip = {int(k): v for k, v in per_clip.items()}
    failed = {data.clips[i].key: r["error"] for i, r in per_clip.items() if "error" in r}
    done = [per_clip[i] for i in sorted(per_clip) if "error" not in per_clip[i]]
    cells = []
    for k, first in enumerate(done[0]["cells"] if done else []):
        values = [clip["cells"][k] for clip in done]

        def median(key, values=values):
            got = [v[key] for v in values if v[key] is not None]
            return float(np.median(got)) if got else None

        rel_in, rel_out = median("input_relative_noise"), median("output_relative_noise")
        cells.append(
            {
                "layer": first["layer"],
                "unit": first["unit"],
                "input_relative_noise": rel_in,
                "output_relative_noise": rel_out,
                "frames_on": sum(v["frames_on"] for v in values),
                "suppression": rel_in / rel_out if rel_in and rel_out else None,
            }
        )
    measured = [c["suppression"] for c in cells if c["suppression"] is not None]
    result = {
        **settings,
        "n_clips": len(x),
        "failed": failed,
        "noise_suppression_min": min(measured) if measured else None,
        "noise_suppression_median": float(np.median(measured)) if measured else None,
        "cells": cells,
    }
    trace = per_clip.get(0, {}).get("trace")
    if trace is not None:
        _plot_trace(trace, args.unit_current, out / "noise.png")
    rows = [
        f"| {c['layer']} {c['unit']} | {_pct(c['input_relative_noise'])} | "
        f"{_pct(c['output_relative_noise'], 2)} | "
        f"{_times(c['suppression'])} |"
        for c in cells
    ]
    result["report"] = "\n".join(
        [
            f"# Noise at the memory cells: {args.run_dir}",
            "",
            f"{len(x)} clips of `{split}`, first {args.frames} frames each; front-end noise "
            f"{100 * args.input_noise:g} % of a unit (rms), shot noise on every bias; "
            f"{args.unit_current:g} A per unit, {args.vdd} V. Relative noise: std / mean "
            "over the settled half of a frame, median over frames and clips.",
            "",
            "| cell | input noise % | output noise % | suppression |",
            "|---|---|---|---|",
            *rows,
            "",
            f"Smallest suppression: {_times(result['noise_suppression_min'])}",
            "",
            "![first cell, first clip](noise.png)",
            "",
        ]
    )
    return result


def _plot_trace(trace: dict, unit: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    time = np.asarray(trace["time"])
    current = {k: np.asarray(trace[k]) / unit for k in ("input", "output")}
    figure, axis = plt.subplots(figsize=(8, 3.5))
    axis.plot(time, current["input"], linewidth=0.6, label="candidate (input)")
    axis.plot(time, current["output"], linewidth=0.8, label="state current (output)")
    axis.set(xlabel="time (s)", ylabel="current / I_unit", title=f"cell {trace['cell']}")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _pct(value, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}"


def _times(value) -> str:
    return "never on" if value is None else f"{value:.1f}x"


def _nano(value) -> str:
    return "n/a" if value is None else f"{1e9 * value:.1f}"


def _plot_flips(per_clip: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.hist(100 * per_clip, bins=np.linspace(0, 100, 21))
    axis.set(xlabel="decision flips over mismatch samples (%)", ylabel="clips")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _plot_corners(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(max(6, len(rows) * 0.25), 3.5))
    labels = [f"{r['corner']} {r['temperature_c']:g}C {r['vdd_v']:.2f}V" for r in rows]
    axis.bar(range(len(rows)), [100 * (r["hw_clip_accuracy"] or 0) for r in rows])
    axis.set_xticks(range(len(rows)), labels, rotation=90, fontsize=7)
    axis.set(ylabel="clip accuracy (%)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


STUDIES = {"montecarlo": montecarlo, "corners": corners, "noise": noise}
