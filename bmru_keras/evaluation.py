"""Clip decisions from per-frame logits, and the metrics we report."""

import numpy as np


def clip_decisions(logits: np.ndarray, rule: str = "majority") -> np.ndarray:
    """One class per clip from ``(clips, frames, classes)`` logits.

    ``"majority"``: the class most frames vote for (the paper's rule; a tie
    goes to the lowest class index). ``"mean"``: the arg-max of the mean
    logits over frames.
    """
    if rule == "mean":
        return logits.mean(axis=1).argmax(axis=-1)
    if rule != "majority":
        raise ValueError(f"unknown decision rule {rule!r}; use 'majority' or 'mean'")
    return frame_votes(logits).argmax(axis=1)


def frame_votes(logits: np.ndarray) -> np.ndarray:
    """``(clips, classes)``: the frames of each clip whose logits pick each class."""
    votes = logits.argmax(axis=-1)
    return np.stack([(votes == k).sum(axis=1) for k in range(logits.shape[-1])], axis=1)


def confusion_matrix(labels: np.ndarray, decisions: np.ndarray, n: int) -> np.ndarray:
    """``matrix[true, decided]`` counts."""
    matrix = np.zeros((n, n), int)
    np.add.at(matrix, (labels, decisions), 1)
    return matrix


def class_recalls(matrix: np.ndarray) -> np.ndarray:
    """Each class's recall from ``matrix[true, decided]``; NaN for a class
    with no clips."""
    support = matrix.sum(axis=1)
    recalls = np.full(len(support), np.nan)
    np.divide(np.diag(matrix), support, out=recalls, where=support > 0)
    return recalls


def balanced_accuracy(matrix: np.ndarray) -> float:
    """The mean recall of the classes that have clips, from ``matrix[true, decided]``."""
    recalls = class_recalls(matrix)
    return float(np.mean(recalls[~np.isnan(recalls)]))


def clip_metrics(logits: np.ndarray, labels: np.ndarray, class_names: list[str], rule: str) -> dict:
    """``clip_accuracy``, ``balanced_accuracy`` (mean per-class recall of the
    clip decisions), ``frame_accuracy``, ``frame_accuracy_by_tenth`` (in
    each tenth of the clip, in order: a memory that accumulates evidence
    rises over the clip; per frame under 10 frames), ``n_clips``, the class
    names and the confusion matrix."""
    decisions = clip_decisions(logits, rule)
    matrix = confusion_matrix(labels, decisions, len(class_names))
    correct = logits.argmax(axis=-1) == labels[:, None]
    return {
        "clip_accuracy": float(np.mean(decisions == labels)),
        "balanced_accuracy": balanced_accuracy(matrix),
        "frame_accuracy": float(np.mean(correct)),
        "frame_accuracy_by_tenth": [
            float(np.mean(part))
            for part in np.array_split(correct, min(10, correct.shape[1]), axis=1)
        ],
        "n_clips": int(len(labels)),
        "decision_rule": rule,
        "class_names": list(class_names),
        "confusion_matrix": matrix.tolist(),
    }
