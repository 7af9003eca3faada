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

from bmru_keras.parallel import map_unordered, open_log
from exporters.calibrate import calibration_settings
from exporters.errors import ExportError
from exporters.export import export_to_circuit
from exporters.jobs import decide_job, noise_job
from exporters.mirrors import characterize
from exporters.mismatch import mismatched
from exporters.pdk import GF180_CORNERS
from exporters.study import (
    StudyOptions,
    calibration_key,
    digest,
    kept_trims,
    load_clips,
    model_sha256,
    nominal_export,
    nominal_trims,
)

TEMPERATURES = (-40.0, 27.0, 85.0)
SUPPLY_SCALES = (0.9, 1.0, 1.1)


def run_logged(
    path: Path,
    settings: dict,
    jobs: list[tuple],
    workers: int,
    scheduler,
    restart: bool,
    fn=decide_job,
) -> dict:
    """The result of ``fn`` on each of ``jobs`` (their first element a string
    key), by key, each appended to the log ``path`` as it arrives
    (:func:`bmru_keras.parallel.open_log`); results already there are reused,
    failed ones retried, other keys the log holds left out."""
    logged = {
        row["key"]: row["result"]
        for row in open_log(path, settings, restart, ("key", "result"))
        if "error" not in row["result"]
    }
    results = {job[0]: logged[job[0]] for job in jobs if job[0] in logged}
    todo = [job for job in jobs if job[0] not in results]
    with open(path, "a") as file:
        for key, result in map_unordered(fn, todo, workers, scheduler, "simulations"):
            file.write(json.dumps({"key": key, "result": result}) + "\n")
            file.flush()
            results[key] = result
    return results


def _settings(options: StudyOptions, split: str, frame: float, x: np.ndarray, **extra) -> dict:
    """What a study's log must match to be resumed; its results are keyed by
    clip index, so the settings hold the clips' inputs (their hash) too."""
    return {
        "model_sha256": model_sha256(options.run_dir),  # not its path: a moved run resumes
        "split": split,
        "clips": options.clips,
        "inputs_sha256": digest(x),
        "frame_s": frame,
        "unit_current_a": options.design.unit_current,
        "vdd_v": options.design.vdd,
        **calibration_settings(options.calibrate, options.calibration_passes, options.reset_guard),
        "output_capacitance_f": options.design.output_capacitance,
        **extra,
    }


def _corner_key(fingerprint: str, temperature: float) -> str:
    """A corner's key in its log, before the clip's index: its netlist
    (process, supply and trims) and its temperature."""
    return f"{fingerprint[:16]}/{temperature:g}"


def montecarlo(options: StudyOptions, out: Path) -> dict:
    """``options.trials`` mismatch samples (seeds ``options.seed`` + k), every clip
    simulated on each: the decision flip rate per clip and overall. Sample k
    is the same chip whatever ``options.trials``, so the log of a larger study
    gives a smaller one its samples, and a larger one resumes from it."""
    from exporters.mismatch import GF180MCU_MISMATCH

    if options.design.models is not None:
        raise ExportError(
            "the Monte Carlo study samples GF180MCU's mismatch coefficients; for another "
            "library call exporters.mismatch.mismatched(export, seed, Pelgrom(...)) "
            "with your process's coefficients"
        )
    if options.trim_each and not options.calibrate:
        raise ExportError("--trim-each trims every sample on --calibrate N clips: give N")
    run = load_clips(options)
    model, x, software, x_cal = run.model, run.x, run.software, run.x_cal
    config, data = run.config, run.data
    split = options.split
    # Per-chip trims start from the untrimmed circuit; else every sample shares the nominal trims.
    trims = None if options.trim_each else nominal_trims(model, options, x_cal, run.frame)
    export = nominal_export(model, options, trims)
    settings = _settings(
        options,
        split,
        run.frame,
        x,
        seed=options.seed,
        netlist_sha256=export.fingerprint(),
        trim_each=options.trim_each,
    )
    # What a kept per-chip calibration must match to be read back (with the chip's seed).
    calibration = calibration_key(options, export, x_cal, run.frame) if options.trim_each else {}

    def jobs(trial: int) -> list[tuple]:
        seed = options.seed + trial
        variant = (
            _trimmed_sample(model, options, x_cal, run.frame, seed, out / "trims", calibration)
            if options.trim_each
            else mismatched(export, seed, GF180MCU_MISMATCH)
        )
        return [
            (f"{trial}/{i}", variant, x[i], run.frame, 27.0, config.model.decision)
            for i in range(len(x))
        ]

    # A chip trimmed on its own is simulated as soon as it is calibrated, so an
    # interrupted study keeps whole chips; untrimmed samples go in one batch.
    trials = range(options.trials)
    batches = [[t] for t in trials] if options.trim_each else [list(trials)]
    log = out / "montecarlo.jsonl"
    results = {}
    for k, batch in enumerate(batches):
        restart = options.restart and k == 0
        todo = [job for trial in batch for job in jobs(trial)]
        results |= run_logged(log, settings, todo, options.workers, options.scheduler, restart)
    scored = [
        _scored([results.get(f"{t}/{i}", {}) for i in range(len(x))], data.labels, software)
        for t in range(options.trials)
    ]
    decisions = np.stack([hw for hw, _ in scored])
    simulated = decisions >= 0
    flips = np.where(simulated, decisions != software[None], False)
    per_clip = flips.sum(0) / np.maximum(simulated.sum(0), 1)
    chips = [t for t in range(options.trials) if simulated[t].any()]
    accuracy = [scored[t][1]["hw_clip_accuracy"] for t in chips]
    agreement = [scored[t][1]["clip_agreement"] for t in chips]
    chip_power = [scored[t][1]["power_w"] for t in chips]
    result = {
        **settings,
        "trials": options.trials,
        "n_clips": len(x),
        "n_failed": int((~simulated).sum()),
        "sw_clip_accuracy": float(np.mean(software == data.labels)),
        "hw_clip_accuracy_mean": float(np.mean(accuracy)) if accuracy else None,
        "hw_clip_accuracy_min": float(np.min(accuracy)) if accuracy else None,
        "hw_clip_accuracy_per_sample": accuracy,
        "clip_agreement_mean": float(np.mean(agreement)) if chips else None,
        "clip_agreement_per_sample": agreement,
        "avg_power_w_per_sample": chip_power,
        "avg_power_w": float(np.mean(chip_power)) if chips else None,
        "flip_rate": float(flips.sum() / max(simulated.sum(), 1)),
        "clips_ever_flipped": int((per_clip > 0).sum()),
        "flip_rate_per_clip": {c.key: float(r) for c, r in zip(data.clips, per_clip, strict=True)},
    }
    _plot_flips(per_clip, out / "montecarlo.png")
    result["report"] = "\n".join(
        [
            f"# Monte Carlo mismatch: {options.run_dir}",
            "",
            f"{options.trials} mismatch samples (GF180MCU Pelgrom coefficients, seeds "
            f"{options.seed}..{options.seed + options.trials - 1}) x {len(x)} clips of `{split}`, "
            f"{options.design.unit_current:g} A per unit, {options.design.vdd} V; "
            f"{result['n_failed']} failed.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| software clip accuracy | {100 * result['sw_clip_accuracy']:.1f} % |",
            f"| hardware clip accuracy, mean over samples | "
            f"{_pct(result['hw_clip_accuracy_mean'])} % |",
            f"| hardware clip accuracy, worst sample | {_pct(result['hw_clip_accuracy_min'])} % |",
            f"| decisions that differ from software | {100 * result['flip_rate']:.1f} % |",
            f"| clips that ever flip | {result['clips_ever_flipped']} of {len(x)} |",
            f"| power (cells + feed-forward supplies), mean over samples | "
            f"{_nano(result['avg_power_w'])} nW |",
            "",
            "| sample (seed) | clip accuracy % | decisions as software % | power (nW) |",
            "|---|---|---|---|",
            *(
                f"| {t} ({options.seed + t}) | {_pct(a)} | {_pct(g)} | {_nano(p)} |"
                for t, a, g, p in zip(chips, accuracy, agreement, chip_power, strict=True)
            ),
            "",
            "![flip rate per clip](montecarlo.png)",
            "",
        ]
    )
    return result


def _scored(got: list[dict], labels: np.ndarray, software: np.ndarray) -> tuple:
    """One circuit's clip results (:func:`exporters.jobs.decide_job`; ``{}``
    or an error where a clip has none) -> its decisions (-1 where none) and
    ``{"n_failed", "hw_clip_accuracy", "clip_agreement", "power_w"}`` over the
    clips it decided (None where it decided none)."""
    ok = np.array(["decision" in g for g in got])
    hw = np.array([g.get("decision", -1) for g in got])
    figures = {
        "n_failed": int((~ok).sum()),
        "hw_clip_accuracy": float(np.mean(hw[ok] == labels[ok])) if ok.any() else None,
        "clip_agreement": float(np.mean(hw[ok] == software[ok])) if ok.any() else None,
        "power_w": float(np.mean([g["power_w"] for g in got if "power_w" in g]))
        if ok.any()
        else None,
    }
    return hw, figures


def _trimmed_sample(
    model,
    options: StudyOptions,
    x_cal: np.ndarray,
    frame: float,
    seed: int,
    folder: Path,
    calibration: dict,
):
    """Mismatch sample ``seed`` of the nominal circuit, trimmed on its own (a
    per-chip trim, :func:`exporters.calibrate.calibrate` on the calibration
    clips ``x_cal`` at ``frame`` seconds per frame): every rebuild gets the
    same per-device draws. The trims are kept in ``folder/chip_SEED.json``
    and read back on a resumed study whose ``calibration``
    (:func:`exporters.study.calibration_key` of the untrimmed nominal circuit)
    is the same (``options.restart`` recalibrates)."""

    def chip(trims):  # draws by device name: the same chip at every pass
        return mismatched(nominal_export(model, options, trims), seed)

    trims = kept_trims(
        folder / f"chip_{seed}.json",
        {"seed": seed, **calibration},
        lambda: options.calibrate_chip(model, chip, x_cal, frame),
        options.restart,
    )
    return chip(trims)


def corners(options: StudyOptions, out: Path) -> dict:
    """Process corners x temperatures (-40, 27, 85 C) x supplies (+-10 %):
    accuracy and agreement with software at each, and whether the clips the
    nominal circuit decides correctly stay correct at every corner. Every
    corner gets the nominal chip's trims; with ``options.trim_each``, each
    process corner gets its own, measured at 27 C and the nominal supply (a
    tester's per-chip calibration; temperature and supply stay untrimmed)."""
    if options.trim_each and not options.calibrate:
        raise ExportError("--trim-each trims every process corner on --calibrate N clips: give N")
    run = load_clips(options)
    model, x, software, x_cal = run.model, run.x, run.software, run.x_cal
    config, data = run.config, run.data
    split = options.split
    trims = nominal_trims(model, options, x_cal, run.frame)
    nominal = options.design.process()
    own = options.design.models is not None
    process = [nominal.corner] if own else (options.process_corners or GF180_CORNERS)
    temperatures = options.temperatures or TEMPERATURES
    supplies = options.supply_scales or SUPPLY_SCALES
    grid = [(c, t, s) for c in process for t in temperatures for s in supplies]
    # Every corner is the nominal circuit: its devices sized at the nominal corner and supply.
    sizing = characterize(
        options.design.unit_sizing(), nominal, options.design.unit_current, options.design.vdd
    )

    def made_in(corner):  # the nominal circuit made in that process, at the nominal supply
        return options.design.replace(
            models=dataclasses.replace(nominal, corner=corner), sizing=sizing
        )

    trims_of = {
        corner: nominal_trims(
            model, dataclasses.replace(options, design=made_in(corner)), x_cal, run.frame
        )
        if options.trim_each and corner != nominal.corner
        else trims
        for corner in process
    }
    jobs, fingerprints, decision = [], [], config.model.decision
    for corner, temperature, scale in grid:
        design = made_in(corner).replace(vdd=options.design.vdd * scale)
        export = export_to_circuit(model, design, trims=trims_of[corner])
        fingerprints.append(export.fingerprint())
        prefix = _corner_key(fingerprints[-1], temperature)
        jobs += [
            (f"{prefix}/{i}", export, x[i], run.frame, temperature, decision) for i in range(len(x))
        ]
    # Keyed by the netlist itself, not by the grid: a run over some corners
    # and one over all of them share one log, each resuming the other.
    settings = _settings(options, split, run.frame, x)
    log = out / "corners.jsonl"
    results = run_logged(log, settings, jobs, options.workers, options.scheduler, options.restart)
    rows = []
    decided = {}
    for (corner, temperature, scale), fingerprint in zip(grid, fingerprints, strict=True):
        prefix, key = _corner_key(fingerprint, temperature), f"{corner}/{temperature:g}/{scale:g}"
        got = [results.get(f"{prefix}/{i}", {}) for i in range(len(x))]
        decided[key], figures = _scored(got, data.labels, software)
        rows.append(
            {
                "corner": corner,
                "temperature_c": temperature,
                "vdd_v": options.design.vdd * scale,
                **figures,
            }
        )
    right_everywhere = np.all([decided[k] == data.labels for k in decided], axis=0)
    # Of the clips the software decides correctly, the share of (clip, corner)
    # pairs decided correctly: each such clip is kept at that share of corners.
    sw_right = software == data.labels
    kept = np.mean([decided[k][sw_right] == data.labels[sw_right] for k in decided])
    # The nominal circuit (the design's corner, 27 C, its supply), when the grid has it.
    nominal_key = f"{nominal.corner}/27/1"
    nominal_right = decided[nominal_key] == data.labels if nominal_key in decided else None
    result = {
        **settings,
        "netlist_sha256": fingerprints,
        "trim_each": options.trim_each,
        "n_clips": len(x),
        "sw_clip_accuracy": float(np.mean(software == data.labels)),
        "corners": rows,
        "nominal": None if nominal_right is None else nominal_key,
        "nominal_correct": None if nominal_right is None else int(nominal_right.sum()),
        "sw_correct": int(sw_right.sum()),
        "sw_correct_at_all_corners": int((sw_right & right_everywhere).sum()),
        "corner_kept_fraction": float(kept) if sw_right.any() else None,
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
            f"# Corners: {options.run_dir}",
            "",
            f"{len(grid)} corners x {len(x)} clips of `{split}`, "
            f"{options.design.unit_current:g} A per unit"
            + (", each process trimmed at 27 C" if options.trim_each else "")
            + f". Clips the software decides correctly: {result['sw_correct']}; of those, "
            f"correct at every corner: {result['sw_correct_at_all_corners']}; kept at "
            f"{_pct(result['corner_kept_fraction'])} % of (clip, corner) pairs."
            + (
                ""
                if nominal_right is None
                else f" The nominal circuit ({nominal_key}) decides {result['nominal_correct']} "
                "correctly."
            ),
            "",
            *table,
            "",
            "![accuracy per corner](corners.png)",
            "",
        ]
    )
    return result


def noise(options: StudyOptions, out: Path) -> dict:
    """Per memory cell, over ``options.clips`` clips (``options.frames`` frames each):
    input and output relative noise and the suppression (their ratio), the
    median over clips of each."""
    run = load_clips(options)
    model, data, x, x_cal = run.model, run.data, run.x, run.x_cal
    split = options.split
    export = nominal_export(model, options, nominal_trims(model, options, x_cal, run.frame))
    seeds = options.seed + 1 + np.arange(len(x))  # ngspice takes seeds from 1
    jobs = [
        (str(i), export, x[i], options.frames, run.frame, options.input_noise, int(seeds[i]))
        for i in range(len(x))
    ]
    settings = {
        **_settings(
            options, split, run.frame, x, frames=options.frames, input_noise=options.input_noise
        ),
        "seed": options.seed,
        "netlist_sha256": export.fingerprint(),
    }
    log = out / "noise.jsonl"
    per_clip = run_logged(
        log, settings, jobs, options.workers, options.scheduler, options.restart, fn=noise_job
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
        _plot_trace(trace, options.design.unit_current, out / "noise.png")
    rows = [
        f"| {c['layer']} {c['unit']} | {_pct(c['input_relative_noise'])} | "
        f"{_pct(c['output_relative_noise'], 2)} | "
        f"{_times(c['suppression'])} |"
        for c in cells
    ]
    result["report"] = "\n".join(
        [
            f"# Noise at the memory cells: {options.run_dir}",
            "",
            f"{len(x)} clips of `{split}`, first {options.frames} frames each; front-end noise "
            f"{100 * options.input_noise:g} % of a unit (rms), shot noise on every bias; "
            f"{options.design.unit_current:g} A per unit, {options.design.vdd} V. "
            "Relative noise: std / mean "
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
