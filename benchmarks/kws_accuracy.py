"""Keyword-spotting accuracy of the shipped configs, over seeds, against targets.

Trains each config with seeds ``0 .. seeds-1`` (``bmru sweep``, resumable:
finished runs in ``OUT/<config>/results.jsonl`` are kept) on a Speech Commands
folder (speaker-disjoint split when the official lists do not fit, as for the
offline subset) and prints one markdown table: test balanced clip accuracy,
mean +- std and range over seeds, training time, and the target of each row.

    python benchmarks/kws_accuracy.py --data-dir DIR [--configs kws_yes_d4 ...]
        [--seeds 3] [--workers 2] [--out runs/bench_kws] [--set train.epochs=50]
"""

import argparse
from pathlib import Path

import numpy as np

from bmru_keras.sweep import run_sweep

CONFIGS = [
    "kws_yes_d4",
    "kws_yes_gru_d4",
    "kws_yes_d4_hat",
    "kws_yes_d4_wide",
    "kws_yes_gru_d4_wide",
    "kws_yes_d16",
    "kws_yes_gru_d16",
    "kws12",
]
#: Mean test balanced accuracy (%) each config must reach; a string names
#: the config it must be no worse than (or within 1 point of).
TARGETS = {
    "kws_yes_d4": (92.0, "kws_yes_gru_d4"),
    "kws_yes_d4_hat": ("kws_yes_d4",),
    "kws_yes_d4_wide": (92.0, "kws_yes_gru_d4_wide"),
    "kws_yes_d16": (95.0,),
    "kws12": (75.0,),
}


def _verdict(name: str, means: dict[str, float]) -> str:
    checks = []
    for target in TARGETS.get(name, ()):
        if isinstance(target, float):
            checks.append(f">= {target:g}: {'met' if means[name] >= target else 'NOT met'}")
        elif target in means:
            slack = 1.0 if name.endswith("_hat") else 0.0
            ok = means[name] >= means[target] - slack
            checks.append(
                f">= {target}{f' - {slack:g}' if slack else ''}: {'met' if ok else 'NOT met'}"
            )
    return "; ".join(checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--configs", nargs="+", default=CONFIGS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="runs/bench_kws")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    configs_dir = Path(__file__).resolve().parent.parent / "configs"
    overrides = [*args.set, f"data.dir={args.data_dir}", "train.tensorboard=false"]
    results, means = {}, {}
    for name in args.configs:
        rows = run_sweep(
            configs_dir / f"{name}.yaml",
            [],
            args.seeds,
            Path(args.out) / name,
            overrides,
            workers=args.workers,
        )
        results[name] = rows
        means[name] = 100 * np.mean([r["test_balanced_accuracy"] for r in rows])
    header = "| config | seeds | test balanced % (mean +- std) | min - max | train s | target |"
    print(f"\n{header}\n|---|---|---|---|---|---|")
    for name, rows in results.items():
        acc = 100 * np.array([r["test_balanced_accuracy"] for r in rows])
        seconds = np.mean([r["train_seconds"] for r in rows])
        print(
            f"| {name} | {len(rows)} | {acc.mean():.1f} +- {acc.std():.1f} | "
            f"{acc.min():.1f} - {acc.max():.1f} | {seconds:.0f} | {_verdict(name, means)} |"
        )


if __name__ == "__main__":
    main()
