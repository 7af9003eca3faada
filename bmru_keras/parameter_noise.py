"""Software robustness to parameter variation, the paper's study.

Every trainable parameter is scaled by ``1 + N(0, p / 3)`` (``p`` is then a
3-sigma relative spread), independently per element and per trial, and the
clip accuracy is measured on the same clips. For an FQ-BMRU the parameters
are the kernel, the bias, ``alpha`` (``I_gain``), ``beta_low`` (``I_thresh -
I_width``) and ``beta_high - beta_low`` (``I_width``); for a GRU its kernels
and biases.
"""

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
