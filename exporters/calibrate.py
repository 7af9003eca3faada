"""Design-time calibration of an exported circuit against its software.

The mirrors' systematic errors (drain-induced barrier lowering: a copy's
drain-source voltage differs from its diode's; narrow-width effects) compound
over the stages in front of a memory cell or a readout output: measured on
``kws_yes_d4``, cell input currents were 0.92-1.02 of the software's. This
module simulates calibration clips (from the training split: never the
clips a verification reports), measures for each memory cell's input and
each readout output its gain and its offset,

    gain   = median(hw / sw)          over the frames with |sw| >= 0.3 units,
    offset = median(hw - gain * sw)   over all frames (units),

(the median ratio, the figure ``bmru verify`` reports per cell: a
least-squares gain, which weights the largest currents most, read 8-10 %
low on ``kws_yes_d4_hat``'s second layer, where the largest currents are
compressed at 0.9 V, and over-corrected it),

and :func:`exporters.export.export_to_circuit` (``gains=``, ``offsets=``)
then builds each output's weights divided by its gain and its bias less its
offset (an offset trim: without it, ``kws_yes_d4_hat``'s gain-calibrated
readout still leaned 0.044 units towards "not yes", and the near-tie frames
of a few clips all went one way). Cells and readout outputs are
corrected together: a cell's correction does not change the analog path
into the next layer (that goes through its binary state).

One measurement does not finish the job: the trimmed circuit has other
mirror sizes, hence other systematic errors, and on ``kws_yes_d4_hat``
(700 pA, 0.9 V) its readout still read 0.975 and 1.075 of the software.
:func:`calibrate` therefore repeats it ``passes`` times, each pass measuring
the residual gain ``g`` and offset ``o`` of the circuit built with the trims
so far ``(G, O)`` and composing them (``G <- G g``, ``O <- o + g O``: the
circuit computed ``g (W x + b) + o`` where the trims meant ``W x + b``);
after three passes every residual gain was within 1.3 % of 1.
"""

from collections.abc import Callable

import keras
import numpy as np

from bmru_keras.parallel import map_unordered
from exporters.errors import SimulationError
from exporters.export import CircuitExport
from exporters.simulate import simulate_job
from exporters.software import quantized_model, realized_candidates

PASSES = 3  # calibration rounds by default (see the module docstring)
MIN_SIGNAL = 0.3  # units: frames with smaller software values carry no gain information


def median_gain(hw: np.ndarray, sw: np.ndarray) -> float | None:
    """``median(hw / sw)`` over the entries with ``|sw| >= 0.3`` and a finite
    ``hw``; None when there are none."""
    use = (np.abs(sw) >= MIN_SIGNAL) & np.isfinite(hw)
    return float(np.median(hw[use] / sw[use])) if use.any() else None


def _trim(hw: np.ndarray, sw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per last-axis column, :func:`median_gain` (1 where unmeasured) and the
    median offset ``hw - gain * sw`` over the finite entries."""
    hw, sw = hw.reshape(-1, hw.shape[-1]), sw.reshape(-1, sw.shape[-1])
    gains = np.array([median_gain(hw[:, k], sw[:, k]) or 1.0 for k in range(hw.shape[-1])])
    offsets = np.zeros(hw.shape[-1])
    for k, gain in enumerate(gains):
        finite = np.isfinite(hw[:, k])  # a unit without a probe reads NaN
        if finite.any():
            offsets[k] = np.median(hw[finite, k] - gain * sw[finite, k])
    return gains, offsets


def readout_layer(model: keras.Model) -> str:
    """The name of the layer whose output is the model's (the readout)."""
    for layer in model.layers:
        if layer.output is model.outputs[0]:
            return layer.name
    raise ValueError("the model's output is not the output of one of its layers")


def measure_trims(
    model: keras.Model,
    export: CircuitExport,
    x: np.ndarray,
    frame: float = 0.01,
    workers: int = 1,
    scheduler=None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per memory layer and for the readout, each output's hardware /
    software gain and its offset (units) on the clips ``x`` (an uncorrected
    ``export`` of ``model``): ``(gains, offsets)``, each keyed by layer name."""
    realized = quantized_model(model, export)
    layers = list(export.states)
    software = realized_candidates(realized, x, layers)
    logits = realized.predict(x, batch_size=256, verbose=0)
    jobs = [(export, i, x[i], frame, 27.0) for i in range(len(x))]
    results = dict(map_unordered(simulate_job, jobs, workers, scheduler))
    done = [i for i in range(len(x)) if "error" not in results[i]]
    if not done:
        raise SimulationError(f"every calibration clip failed to simulate: {results[0]['error']}")
    measured = {
        layer: ([results[i]["candidates"][layer] for i in done], software[layer])
        for layer in layers
    }
    measured[readout_layer(model)] = ([results[i]["logits"] for i in done], logits)
    gains, offsets = {}, {}
    for layer, (hw, sw) in measured.items():
        gains[layer], offsets[layer] = _trim(np.stack(hw), sw[done])
    return gains, offsets


Trims = dict[str, np.ndarray]


def calibrate(
    model: keras.Model,
    build: Callable[[Trims | None, Trims | None], CircuitExport],
    x: np.ndarray,
    passes: int = PASSES,
    frame: float = 0.01,
    workers: int = 1,
    scheduler=None,
) -> tuple[Trims, Trims]:
    """The ``(gains, offsets)`` that trim ``build(gains, offsets)`` (the
    circuit of ``model`` built with trims; ``build(None, None)`` untrimmed)
    to its software, measured on the clips ``x`` over ``passes`` rounds of
    :func:`measure_trims`, each on the circuit trimmed by the ones before."""
    if passes < 1:
        raise ValueError(f"calibration needs at least one pass; got passes={passes}")
    gains: Trims = {}
    offsets: Trims = {}
    for _ in range(passes):
        export = build(gains or None, offsets or None)
        residual_gains, residual_offsets = measure_trims(
            model, export, x, frame, workers, scheduler
        )
        for layer, g in residual_gains.items():
            offsets[layer] = residual_offsets[layer] + g * offsets.get(layer, 0.0)
            gains[layer] = gains.get(layer, 1.0) * g
    return gains, offsets
