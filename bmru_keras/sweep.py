"""``bmru sweep``: one experiment trained over a grid of settings and seeds.

Each (grid point, seed) is one independent ``bmru run`` in its own folder
``OUT/<point>/seed<k>``, on local worker processes or a Dask cluster
(:func:`bmru_keras.parallel.map_unordered`). Each finished run appends one
line to ``OUT/results.jsonl``; a second call skips the runs already there,
so an interrupted sweep resumes, and more points or seeds can be added.
``OUT/table.md`` tabulates test accuracy per point (mean, standard deviation
and range over seeds).
"""

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np

from bmru_keras.config import ConfigError, config_to_dict, load_config
from bmru_keras.parallel import map_unordered, open_log


def grid_points(grid: list[str]) -> list[dict[str, str]]:
    """``["model.units=4,8", "train.epochs=10"]`` -> the cartesian product as
    ``[{"model.units": "4", "train.epochs": "10"}, ...]``."""
    axes = []
    for entry in grid:
        key, sep, values = entry.partition("=")
        if not sep or not key or not values:
            raise ConfigError(f"--grid {entry!r} must look like key=value1,value2,...")
        axes.append([(key.strip(), v.strip()) for v in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)]


def point_name(point: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in point.items()) or "base"


def _train(job: dict) -> dict:
    from bmru_keras.dependencies import import_tensorflow_quietly

    import_tensorflow_quietly()  # a worker process: no start-up lines per training
    from bmru_keras.training import run_experiment

    config = load_config(job["config"], job["overrides"])
    metrics = run_experiment(config, job["run_dir"])
    test = metrics["testing"]
    return {
        "point": job["point"],
        "seed": job["seed"],
        "run_dir": job["run_dir"],
        "test_clip_accuracy": test["clip_accuracy"],
        "test_balanced_accuracy": test["balanced_accuracy"],
        "validation_clip_accuracy": metrics["validation"]["clip_accuracy"],
        "train_seconds": metrics["train_seconds"],
        "parameters": metrics["parameters"],
    }


def run_sweep(
    config: str | Path,
    grid: list[str],
    seeds: int,
    out: str | Path,
    overrides: list[str] = (),
    workers: int = 1,
    scheduler=None,
    restart: bool = False,
) -> list[dict]:
    """Train every grid point with seeds ``0 .. seeds-1``; return all rows.
    Runs already in ``out/results.jsonl`` (same config and overrides) are
    kept, unless ``restart``."""
    if seeds < 1:
        raise ConfigError("--seeds must be at least 1")
    points = grid_points(grid)
    for point in points:  # every override is checked before any training
        load_config(config, [*overrides, *(f"{k}={v}" for k, v in point.items())])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "results.jsonl"
    # Keyed by the content of the resolved config: an edited config file (or a
    # changed default) does not pick up the results of the old one.
    resolved = config_to_dict(load_config(config, list(overrides)))
    digest = hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()
    settings = {"config": str(config), "overrides": list(overrides), "resolved": digest[:16]}
    rows = {
        (row["point"], row["seed"]): row
        for row in open_log(log, settings, restart, ("point", "seed"))
    }
    jobs = []
    for point, seed in itertools.product(points, range(seeds)):
        name = point_name(point)
        if (name, seed) in rows:
            continue
        jobs.append(
            {
                "config": str(config),
                "overrides": [
                    *overrides,
                    *(f"{k}={v}" for k, v in point.items()),
                    f"seed={seed}",
                    "train.verbose=0",
                ],
                "point": name,
                "seed": seed,
                "run_dir": str(out / name / f"seed{seed}"),
            }
        )
    with open(log, "a") as file:
        for row in map_unordered(_train, jobs, workers, scheduler, "trainings"):
            file.write(json.dumps(row) + "\n")
            file.flush()
            rows[(row["point"], row["seed"])] = row
    wanted = [(point_name(p), s) for p, s in itertools.product(points, range(seeds))]
    result = [rows[key] for key in wanted]
    (out / "table.md").write_text(table(result))
    return result


def table(rows: list[dict]) -> str:
    """Markdown: test clip accuracy per point over its seeds."""
    lines = [
        "| point | seeds | test clip accuracy % (mean +- std) | min - max | train s |",
        "|---|---|---|---|---|",
    ]
    for point in dict.fromkeys(r["point"] for r in rows):
        group = [r for r in rows if r["point"] == point]
        acc = 100 * np.array([r["test_clip_accuracy"] for r in group])
        seconds = np.mean([r["train_seconds"] for r in group])
        lines.append(
            f"| {point} | {len(group)} | {acc.mean():.1f} +- {acc.std():.1f} | "
            f"{acc.min():.1f} - {acc.max():.1f} | {seconds:.0f} |"
        )
    return "\n".join(lines) + "\n"
