"""Keyword-spotting accuracy of FQ-BMRU models and GRU baselines.

Trains each config on a Speech Commands folder (speaker-disjoint split when
the official lists do not fit, as for the offline subset) and prints one
markdown table: held-out clip accuracy, balanced accuracy, frame accuracy,
training time on this machine.

    python benchmarks/kws_accuracy.py --data-dir DIR [--configs kws_yes_d4 ...]
        [--out runs/bench] [--set train.epochs=50]
"""

import argparse
import json
from pathlib import Path

from bmru_keras.config import load_config
from bmru_keras.training import run_experiment

CONFIGS = ["kws_yes_d4", "kws_yes_gru_d4", "kws_yes_d16", "kws_yes_gru_d16", "kws12"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--configs", nargs="+", default=CONFIGS)
    parser.add_argument("--out", default="runs/bench")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    configs_dir = Path(__file__).resolve().parent.parent / "configs"
    rows = []
    for name in args.configs:
        overrides = [*args.set, f"data.dir={args.data_dir}", "train.verbose=0"]
        config = load_config(configs_dir / f"{name}.yaml", overrides)
        metrics = run_experiment(config, Path(args.out) / name)
        test = metrics["testing"]
        cells = [
            name,
            config.model.recurrent,
            config.model.units,
            len(metrics["class_names"]),
            f"{100 * test['clip_accuracy']:.1f}",
            f"{100 * test['balanced_accuracy']:.1f}",
            f"{100 * test['frame_accuracy']:.1f}",
            test["n_clips"],
            metrics["parameters"],
            f"{metrics['train_seconds']:.0f}",
        ]
        rows.append("| " + " | ".join(str(c) for c in cells) + " |")
        print(rows[-1], flush=True)
        (Path(args.out) / "table.json").write_text(json.dumps(rows, indent=1))
    header = [
        "config", "memory", "units", "classes", "clip acc %", "balanced %",
        "frame %", "test clips", "parameters", "train s",
    ]  # fmt: skip
    print("\n| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
