"""Figures of a run folder (matplotlib, no display needed)."""

from pathlib import Path

import keras
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bmru_keras.models import direct_outputs  # noqa: E402


def learning_curves(history: dict, path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    for key in ("loss", "val_loss"):
        if key in history:
            left.plot(history[key], label=key)
    left.set_xlabel("epoch")
    left.set_title("per-frame cross-entropy")
    left.legend()
    for key in ("accuracy", "val_accuracy", "val_clip_accuracy", "epsilon"):
        if key in history:
            right.plot(history[key], label=key, linestyle=":" if key == "epsilon" else "-")
    right.set_xlabel("epoch")
    right.set_title(
        "accuracy (frames, clips)" + (" and epsilon (dotted)" if "epsilon" in history else "")
    )
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def confusion(metrics: dict, path: Path) -> None:
    matrix = np.asarray(metrics["confusion_matrix"])
    names = metrics["class_names"]
    fig, ax = plt.subplots(figsize=(1.2 + 0.5 * len(names), 1 + 0.5 * len(names)))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("decided")
    ax.set_ylabel("true")
    ax.set_title(f"clip accuracy {metrics['clip_accuracy']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def state_raster(model: keras.Model, clip: np.ndarray, path: Path, name: str = "") -> None:
    """The memory layers' states over one clip (``name``), one row per unit."""
    memories = [layer for layer in model.layers if layer.name.startswith("memory_")]
    states = direct_outputs(model, clip, [layer.output for layer in memories])
    fig, axes = plt.subplots(len(states) + 1, 1, figsize=(8, 1.5 + 1.2 * len(states)))
    image = axes[0].imshow(clip[0].T, aspect="auto", cmap="magma", origin="lower", vmin=0, vmax=1)
    fig.colorbar(image, ax=axes[0], label="x")
    axes[0].set_ylabel("MFCC\n(input x)")
    axes[0].set_title(f"memory states over the clip {name}" if name else "memory states")
    for ax, layer, value in zip(axes[1:], memories, states, strict=True):
        image = ax.imshow(value[0].T, aspect="auto", cmap="Greys", interpolation="nearest")
        fig.colorbar(image, ax=ax, label="h")
        ax.set_ylabel(f"{layer.name}\nunit (h)")
    axes[-1].set_xlabel("frame (10 ms)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
