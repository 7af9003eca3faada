"""Does a trained keyword spotter fit its own training clips, and how does it
decide? For each run folder: the balanced clip accuracy on its training,
validation and test clips (its own speaker split, its own decision rule), the
recall of each class on test, the test accuracy of the last frame alone (does
the state at the end of the clip carry the word?), and the test and
validation accuracy with the vote threshold fitted on the training clips
(two classes only: the share of a clip's frames voting for the second class
above which the clip is decided for it; the shipped rule is 0.5). One
markdown row per run, then the mean of each group.

    python benchmarks/fit_diagnostics.py [GROUP=]RUN_DIR ... --data-dir DIR

``GROUP=`` names the group a run is averaged in (default: its config's name).
"""

import argparse

import numpy as np

from bmru_keras.evaluation import (
    balanced_accuracy,
    class_recalls,
    clip_metrics,
    confusion_matrix,
)
from bmru_keras.models import predict_in_batches
from bmru_keras.training import load_run, run_inputs

SPLITS = ("training", "validation", "testing")
#: Candidate vote thresholds (share of frames voting for class 1).
THRESHOLDS = np.arange(0.2, 0.81, 0.02)


def _balanced(decisions: np.ndarray, labels: np.ndarray, n_classes: int) -> float:
    return balanced_accuracy(confusion_matrix(labels, decisions, n_classes))


def diagnose(run_dir: str, data_dir: str) -> dict:
    """The figures of one run (fractions; the module docstring lists them)."""
    config, model, normalization = load_run(run_dir)
    row, shares = {"name": config.name}, {}
    for split in SPLITS:
        names, data, x = run_inputs(config, normalization, data_dir, split)
        logits = predict_in_batches(model, x)
        metrics = clip_metrics(logits, data.labels, names, config.model.decision)
        row[split] = metrics["balanced_accuracy"]
        if split == "testing":
            row["recall"] = class_recalls(np.asarray(metrics["confusion_matrix"])).tolist()
            row["last_frame"] = _balanced(logits[:, -1].argmax(axis=-1), data.labels, len(names))
        shares[split] = ((logits.argmax(axis=-1) == 1).mean(axis=1), data.labels)
    row["class_names"] = names
    if len(names) == 2:
        share, labels = shares["training"]
        fitted = [_balanced((share > t).astype(int), labels, 2) for t in THRESHOLDS]
        threshold = float(THRESHOLDS[int(np.argmax(fitted))])
        row["vote_threshold"] = threshold
        for split in ("validation", "testing"):
            share, labels = shares[split]
            row[f"{split}_fitted_vote"] = _balanced((share > threshold).astype(int), labels, 2)
    return row


def _cells(row: dict) -> list[str]:
    recall = ", ".join(
        f"{n} {r:.2f}" for n, r in zip(row["class_names"], row["recall"], strict=True)
    )
    cells = [f"{100 * row[s]:.1f}" for s in SPLITS] + [recall, f"{100 * row['last_frame']:.1f}"]
    if "vote_threshold" in row:
        cells += [
            f"{row['vote_threshold']:.2f}",
            f"{100 * row['validation_fitted_vote']:.1f}",
            f"{100 * row['testing_fitted_vote']:.1f}",
        ]
    return cells


def _mean(rows: list[dict]) -> dict:
    numbers = [k for k, v in rows[0].items() if isinstance(v, float) or k == "recall"]
    return {"class_names": rows[0]["class_names"]} | {
        k: np.mean([r[k] for r in rows], axis=0) for k in numbers
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="[GROUP=]RUN_DIR")
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    print(
        "| run | training % | validation % | test % | test recall per class | "
        "last frame % | vote threshold | validation, fitted vote % | test, fitted vote % |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    groups: dict[str, list[dict]] = {}
    for spec in args.runs:
        group, named, run_dir = spec.partition("=")
        if not named or "/" in group:  # a folder name with "=" in it, no group
            group, run_dir = "", spec
        row = diagnose(run_dir, args.data_dir)
        groups.setdefault(group or row["name"], []).append(row)
        print(f"| {run_dir} | " + " | ".join(_cells(row)) + " |", flush=True)
    for group, rows in groups.items():
        print(f"| **{group}**, mean of {len(rows)} | " + " | ".join(_cells(_mean(rows))) + " |")


if __name__ == "__main__":
    main()
