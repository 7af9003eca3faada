"""Software robustness to parameter variation, the paper's study, and to
noise on the memory cells' inputs.

Every trainable parameter is scaled by ``1 + N(0, p / 3)`` (``p`` is then a
3-sigma relative spread), independently per element and per trial, and the
clip accuracy is measured on the same clips. For an FQ-BMRU the parameters
are the kernel, the bias, ``alpha`` (``I_gain``), ``beta_low`` (``I_thresh -
I_width``) and ``beta_high - beta_low`` (``I_width``); for a GRU its kernels
and biases.

:func:`input_noise_flips` adds ``N(0, sigma)`` to every memory cell's input
``inputs @ kernel + bias`` in every frame instead: the clip decisions it
flips estimate those a circuit's analog errors flip (``docs/results.md``).
"""

from contextlib import contextmanager

import keras
import numpy as np

from bmru_keras.evaluation import clip_decisions
from bmru_keras.models import predict_in_batches


def perturb(weights: list[np.ndarray], fraction: float, rng: np.random.Generator) -> list:
    """``w * (1 + N(0, fraction / 3))`` element-wise (see also
    :class:`bmru_keras.callbacks.ParameterNoise`, the same during training)."""
    return [w * (1 + rng.normal(0.0, fraction / 3, np.shape(w))) for w in weights]


def parameter_noise_study(
    model: keras.Model,
    x: np.ndarray,
    labels: np.ndarray,
    decision: str = "majority",
    fractions: tuple[float, ...] = (0.05, 0.10, 0.15),
    trials: int = 50,
    seed: int = 0,
) -> dict:
    """Clip accuracy of ``model`` on ``(x, labels)`` under parameter variation.

    Returns ``nominal`` accuracy and, per fraction, the ``mean``, ``std``,
    ``min`` accuracy over ``trials`` draws and the ``flip_rate`` (share of
    clip decisions that differ from the nominal model's).
    """
    if trials < 1 or any(not 0 < p < 1 for p in fractions):
        raise ValueError("trials must be >= 1 and every fraction in (0, 1)")
    rng = np.random.default_rng(seed)
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    variables = clone.trainable_weights
    nominal_values = [np.asarray(v) for v in variables]

    def decide(m):
        return clip_decisions(predict_in_batches(m, x, 512), decision)

    nominal = decide(clone)
    result = {"nominal": float(np.mean(nominal == labels)), "trials": trials, "fractions": {}}
    for fraction in fractions:
        accuracies, flips = [], []
        for _ in range(trials):
            for variable, value in zip(
                variables, perturb(nominal_values, fraction, rng), strict=True
            ):
                variable.assign(value)
            decided = decide(clone)
            accuracies.append(np.mean(decided == labels))
            flips.append(np.mean(decided != nominal))
        result["fractions"][f"{fraction:g}"] = {
            "mean": float(np.mean(accuracies)),
            "std": float(np.std(accuracies)),
            "min": float(np.min(accuracies)),
            "flip_rate": float(np.mean(flips)),
        }
    return result


@contextmanager
def _noisy_inputs(cells: list, noise: list):
    """Each of ``cells`` (scan-implemented bistable cells) adds its array of
    ``noise`` to its input projection while the context is open."""
    for cell, n in zip(cells, noise, strict=True):
        cell.project = lambda inputs, training=False, base=cell.project, n=n: base(inputs) + n
    try:
        yield
    finally:
        for cell in cells:
            del cell.project


def input_noise_flips(
    model: keras.Model,
    x: np.ndarray,
    sigma: float = 0.02,
    trials: int = 10,
    decision: str = "majority",
    seed: int = 0,
    batch_size: int = 256,
) -> float:
    """The share of clip decisions of ``model`` on ``x`` that a noise on
    every memory cell's input flips: ``inputs @ kernel + bias + N(0, sigma)``
    (software units, independent per clip, frame and unit), mean over
    ``trials`` draws, against the noiseless decisions."""
    if sigma <= 0 or trials < 1:
        raise ValueError(f"sigma={sigma:g}, trials={trials}: give sigma > 0 and trials >= 1")
    layers = [layer for layer in model.layers if hasattr(getattr(layer, "cell", None), "project")]
    if not layers or any(getattr(layer, "implementation", None) != "scan" for layer in layers):
        raise ValueError(
            f"model {model.name!r}: input noise needs memory layers of implementation='scan' "
            f"(a bistable layer computes its inputs for every frame at once); got "
            f"{[(layer.name, getattr(layer, 'implementation', None)) for layer in layers]}"
        )
    rng = np.random.default_rng(seed)
    nominal = clip_decisions(predict_in_batches(model, x, batch_size), decision)
    flips = []
    for _ in range(trials):
        logits = []
        for start in range(0, len(x), batch_size):
            chunk = x[start : start + batch_size]
            # A layer held in reset for its first frames (start_delay) projects
            # only the frames after them; the noise is drawn for every frame, so
            # a delay leaves the draws of the other layers as they were.
            noise = [
                rng.normal(0.0, sigma, (*chunk.shape[:2], layer.units)).astype(chunk.dtype)[
                    :, layer.start_delay :
                ]
                for layer in layers
            ]
            with _noisy_inputs([layer.cell for layer in layers], noise):
                logits.append(np.asarray(model(chunk, training=False)))
        flips.append(np.mean(clip_decisions(np.concatenate(logits), decision) != nominal))
    return float(np.mean(flips))


def software_report(result: dict) -> str:
    """Markdown table of :func:`parameter_noise_study`."""
    lines = [
        f"# Parameter variation of {result.get('run_dir', 'a model')}",
        "",
        f"{result.get('n_clips', '?')} clips, {result['trials']} trials per spread; every "
        "trainable parameter x (1 + N(0, p/3)).",
        "",
        f"Nominal clip accuracy: {100 * result['nominal']:.1f} %",
        "",
        "| p (3 sigma) | accuracy mean % | std | min | decisions flipped % |",
        "|---|---|---|---|---|",
    ]
    for p, row in result["fractions"].items():
        lines.append(
            f"| {100 * float(p):g} % | {100 * row['mean']:.1f} | {100 * row['std']:.1f} | "
            f"{100 * row['min']:.1f} | {100 * row['flip_rate']:.1f} |"
        )
    return "\n".join(lines) + "\n"
