"""Design-time calibration of an exported circuit against its software.

The mirrors' systematic errors (drain-induced barrier lowering: a copy's
drain-source voltage differs from its diode's; narrow-width effects) compound
over the stages in front of a memory cell or a readout output: measured on
``kws_yes_d4``, cell input currents were 0.92-1.02 of the software's. This
module simulates calibration clips (from the training split: never the
clips a verification reports), measures for each hidden Dense output, each
memory cell's input and each readout output its gain and its offset,

    gain   = median over frame pairs of (hw_i - hw_j) / (sw_i - sw_j),
             |sw_i - sw_j| >= 0.3 units (the Theil-Sen slope),
    offset = median(hw - gain * sw)   over all frames (units).

Medians, because a least-squares gain, which weights the largest currents
most, read 8-10 % low on ``kws_yes_d4_hat``'s second layer, where the
largest currents are compressed at 0.9 V, and over-corrected it. Pairwise
slopes, not the ratio ``median(hw / sw)`` (the figure ``bmru verify``
reports per cell), because a ratio reads an offset as a gain: on a Monte
Carlo chip whose readout put out ``0.94 sw - 0.23`` and ``0.95 sw + 0.29``
(least squares, correlation 0.999), the ratios read 1.38 and 0.30, and the
trims built from them diverged from pass to pass.

:func:`exporters.export.export_to_circuit` (``gains=``, ``offsets=``) then
builds each output's weights divided by its gain and its bias less its
offset (an offset trim: without it, ``kws_yes_d4_hat``'s gain-calibrated
readout still leaned 0.044 units towards "not yes", and the near-tie frames
of a few clips all went one way).

Each layer is measured against the software computed from the circuit's
own upstream signals (its measured Dense outputs and cell states,
:func:`exporters.software.local_sums`), not from the software's: so every
layer shows its own error alone, and all are trimmed at once. Trimming only
the cells and the readout against end-to-end software does not hold on a
mismatched chip: an error in a Dense layer before a ReLU cannot be undone
after it (the ReLU cut the wrong signal), and a cell that switched
otherwise than in software moves everything after it by a whole state,
which the later layers' trims then absorbed as gain and offset. On one
Monte Carlo chip of ``kws_yes_d4_hat`` (seed 5) trimmed that way, the
second memory layer's first cell disagreed with software on 25-56 % of
frames and the chip decided 25 % of 20 clips correctly (the software 85 %).

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
from exporters.deck import CircuitExport
from exporters.errors import SimulationError
from exporters.graph import output_layer
from exporters.simulate import simulate_job
from exporters.software import local_sums, quantized_model

PASSES = 3  # calibration rounds by default (see the module docstring)
MIN_SIGNAL = 0.3  # units: smaller software values (or differences) carry no gain information
MAX_PAIRED = 2000  # frames a gain is fitted on (2 million pairs)


def median_gain(hw: np.ndarray, sw: np.ndarray) -> float | None:
    """``median(hw / sw)`` over the entries with ``|sw| >= 0.3`` and a finite
    ``hw``; None when there are none."""
    use = (np.abs(sw) >= MIN_SIGNAL) & np.isfinite(hw)
    return float(np.median(hw[use] / sw[use])) if use.any() else None


def pairwise_gain(hw: np.ndarray, sw: np.ndarray) -> float | None:
    """The Theil-Sen slope of ``hw`` against ``sw``: the median of
    ``(hw_i - hw_j) / (sw_i - sw_j)`` over the pairs of finite entries with
    ``|sw_i - sw_j| >= 0.3`` (at most 2000 entries, evenly spaced); None when
    there are no such pairs. Unlike a ratio, it does not read an offset as a
    gain."""
    use = np.flatnonzero(np.isfinite(hw))
    use = use[np.linspace(0, len(use) - 1, min(len(use), MAX_PAIRED)).astype(int)]
    i, j = np.triu_indices(len(use), 1)
    dsw = sw[use[j]] - sw[use[i]]
    far = np.abs(dsw) >= MIN_SIGNAL
    if not far.any():
        return None
    return float(np.median((hw[use[j]] - hw[use[i]])[far] / dsw[far]))


def _trim(hw: np.ndarray, sw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per last-axis column, :func:`pairwise_gain` (1 where unmeasured) and
    the median offset ``hw - gain * sw`` over the finite entries."""
    hw, sw = hw.reshape(-1, hw.shape[-1]), sw.reshape(-1, sw.shape[-1])
    gains = np.array([pairwise_gain(hw[:, k], sw[:, k]) or 1.0 for k in range(hw.shape[-1])])
    offsets = np.zeros(hw.shape[-1])
    for k, gain in enumerate(gains):
        finite = np.isfinite(hw[:, k])  # a unit without a probe reads NaN
        if finite.any():
            offsets[k] = np.median(hw[finite, k] - gain * sw[finite, k])
    return gains, offsets


def measure_trims(
    model: keras.Model,
    export: CircuitExport,
    x: np.ndarray,
    frame: float = 0.01,
    workers: int = 1,
    scheduler=None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per hidden Dense layer, per memory layer and for the readout, each
    output's own hardware / software gain and its offset (units) on the clips
    ``x``, against the software computed from the circuit's upstream signals
    (:func:`exporters.software.local_sums`): ``(gains, offsets)``, each keyed
    by layer name."""
    realized = quantized_model(model, export)
    readout = output_layer(model)
    jobs = [(export, i, x[i], frame, 27.0) for i in range(len(x))]
    results = dict(map_unordered(simulate_job, jobs, workers, scheduler, "calibration clips"))
    done = [i for i in range(len(x)) if "error" not in results[i]]
    if not done:
        raise SimulationError(f"every calibration clip failed to simulate: {results[0]['error']}")
    hw, sw = {}, {}
    for i in done:
        result = results[i]
        local = local_sums(realized, x[i], result["dense"], result["states"])
        measured = {**result["dense"], **result["candidates"], readout: result["logits"]}
        for layer, value in measured.items():
            hw.setdefault(layer, []).append(value)
            sw.setdefault(layer, []).append(local[layer])
    gains, offsets = {}, {}
    for layer in hw:
        gains[layer], offsets[layer] = _trim(np.stack(hw[layer]), np.stack(sw[layer]))
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
