"""Data-dependent initialisation of the FQ-BMRU thresholds.

With random thresholds and a Glorot kernel, many units of a small network
never cross their band on real inputs: their candidate ``ReLU(x K + b)`` is 0
on most frames or stays under ``beta_high``, so the unit is constant and its
surrogate gradient is small or, behind the ReLU, zero. Measured on the
keyword spotter with 4 units per layer, 1 to 3 of 8 units were constant
after training (``docs/results.md``).

:func:`init_thresholds_from_data` looks at each unit's pre-activation
``p = x K + b`` on a batch of training inputs, moves its bias so that the
``centre`` quantile of ``p`` is 0 (by default the median: the candidate is
positive on half the frames), and puts ``beta_low`` and ``beta_high`` at the
``low`` and ``high`` quantiles of ``p``: at the start of training every unit
switches up on the top ``1 - high`` of the frames and down on the bottom
``max(low, centre)``. Layers are set in the model's
order, each on the inputs the layers before it now give it, as exact units
(``epsilon = 0`` while it runs).
"""

import keras
import numpy as np

from bmru_keras.config import THRESHOLD_QUANTILES, are_threshold_quantiles
from bmru_keras.layers.fq_bmru import FQBMRU
from bmru_keras.models import direct_outputs


def init_thresholds_from_data(
    model: keras.Model, x: np.ndarray, quantiles: tuple[float, float, float] = THRESHOLD_QUANTILES
) -> list[str]:
    """Set the bias and thresholds of every :class:`FQBMRU` layer of
    ``model`` from its inputs on ``x`` (see the module docstring); return
    the names of the layers set."""
    if not are_threshold_quantiles(quantiles):
        raise ValueError(
            "Quantiles (centre, low, high) must satisfy 0 < centre < 1 and "
            f"0 < low < high < 1. Received: {tuple(quantiles)}"
        )
    centre, low, high = quantiles
    layers = [layer for layer in model.layers if isinstance(layer, FQBMRU)]
    epsilons = [float(layer.cell.epsilon) for layer in layers]
    for layer in layers:
        layer.cell.epsilon.assign(0.0)
    for layer in layers:
        cell = layer.cell
        inputs = direct_outputs(model, x, [layer.input])[0]
        pre = (inputs @ np.asarray(cell.kernel)).reshape(-1, cell.units)
        if cell.use_bias:
            pre = pre + np.asarray(cell.bias)
            shift = np.quantile(pre, centre, axis=0)
            cell.bias.assign(_constrained(cell.bias_constraint, np.asarray(cell.bias) - shift))
            pre = pre - shift
        beta_low = np.quantile(pre, low, axis=0)
        beta_high = np.quantile(pre, high, axis=0)
        beta_low = np.maximum(beta_low, 1e-3)
        width = np.maximum(beta_high - beta_low, 1e-3)
        cell.raw_beta_low.assign(_constrained(cell.unit_constraint, beta_low))
        cell.raw_beta_width.assign(_constrained(cell.unit_constraint, width))
    for layer, epsilon in zip(layers, epsilons, strict=True):
        layer.cell.epsilon.assign(epsilon)
    return [layer.name for layer in layers]


def _constrained(constraint, value: np.ndarray) -> np.ndarray:
    value = np.asarray(value, "float32")
    return value if constraint is None else np.asarray(constraint(value))
