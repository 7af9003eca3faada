"""Calibration of a chip against its software, with what silicon can change:
its bias currents (:mod:`exporters.trims`).

Calibration clips (from the training split: never the clips a verification
reports) are simulated; for each hidden Dense output, each memory cell's
input and each readout output the gain and offset are measured,

    gain   = median over frame pairs of (hw_i - hw_j) / (sw_i - sw_j),
             |sw_i - sw_j| >= 0.3 units (the Theil-Sen slope),
    offset = median(hw - gain * sw)   over all frames (units),

each against the software computed from the circuit's own upstream signals
(its measured Dense outputs and cell states, :func:`exporters.software.local_sums`),
so that every layer shows its own error alone. Medians, because a
least-squares gain over-weights the largest (compressed) currents; pairwise
slopes, because a ratio reads an offset as a gain (``docs/circuits.md``).
All of it is read through the circuit's 0-V probes: currents a tester reads
on a chip.

Then the chip is reprogrammed: each Dense output's bias DACs move its bias
by ``-o / g`` (its offset cancelled; its gain, a mirror ratio, stays). One
measurement does not finish the job: the trims change what later layers
receive, so :func:`calibrate` repeats it ``passes`` times on the circuit
trimmed so far, the bias changes adding up. Each memory cell's thresholds
are set from its latest ``(g, o)`` (:mod:`exporters.trims`): its own
thresholds do not change what its input probe reads.

The input probe does not see the cell's comparator (its input copy against
its threshold sink, its feedback mirror): the cell's state does. A frame
whose cell started low either rose (its input, at its highest in the frame,
reached the up point) or held (it did not); likewise for frames that
started high, with the input's lowest. Only steady frames count: those
whose input stays within :data:`TRANSIENT` units of the span of its two
samples (the previous frame's and its own). A glitch between the samples
(an upstream cell switching at the frame edge) is too brief to say where
the comparator switches on a held input, and counting it set cells to
switch early on steady inputs (``docs/results.md``, "Calibrated on steady
frames"). Each pass takes as each cell's up and down points those that
explain the most steady frames (among them the nearest to where the
software switches, ``g beta + o``: no change when the frames cannot tell),
and its comparator error as where it switched less where it was set; the
next setting subtracts it (:meth:`BiasTrims.switching_points`).

Last, with a ``reset_guard`` g, the cells of each memory layer fed by
another memory layer's states are set to reset g units below their
calibrated down points: when an upstream cell switches, the input of the
cells it feeds dips between two frame samples, and a cell whose input sits
near its down point resets where the software's, reading the samples
alone, holds. Off by default (:data:`RESET_GUARD`); what 0.03 units does is
measured in ``docs/results.md`` ("A reset guard on the second layer").
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np

from bmru_keras.parallel import map_unordered
from exporters.deck import CircuitExport
from exporters.errors import SimulationError
from exporters.graph import walk
from exporters.simulate import simulate_job
from exporters.software import probe_readings, quantized_model
from exporters.stimulus import FRAME_SECONDS
from exporters.trims import BiasTrims

PASSES = 3  # calibration rounds by default (see the module docstring)
VERSION = 3  # of the procedure: a kept calibration of another version is not reused
RESET_GUARD = 0.0  # units: the down points of cells fed by other cells, set lower
MIN_SIGNAL = 0.3  # units: smaller software values (or differences) carry no gain information
MAX_PAIRED = 2000  # frames a gain is fitted on (2 million pairs)
TRANSIENT = 0.01  # units: an input this far beyond both samples of its frame: not steady


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


def calibration_settings(clips: int, passes: int, reset_guard: float) -> dict:
    """What names a calibration in a study's log settings: its clips, passes,
    reset guard and procedure version (zeros when uncalibrated)."""
    return {
        "calibration_clips": clips,
        "calibration_passes": passes if clips else 0,
        "calibration_version": VERSION if clips else 0,
        "reset_guard": reset_guard if clips else 0,
    }


@dataclass
class Crossings:
    """One cell's frames over calibration clips: for those that started low,
    the input's highest in the frame and whether the cell rose; for those
    that started high, its lowest and whether it fell (input units)."""

    highest: np.ndarray
    rose: np.ndarray
    lowest: np.ndarray
    fell: np.ndarray


def crossings(
    states: np.ndarray, ranges: np.ndarray, samples: np.ndarray, start_delay: int = 0
) -> list[Crossings]:
    """Per cell, the :class:`Crossings` of clips whose states are ``states``
    ``(clips, frames, units)`` bool, whose inputs span ``ranges`` ``(clips,
    frames, units, 2)`` (lowest, highest) in each frame and are ``samples``
    ``(clips, frames, units)`` at each frame's sample; each clip starts low,
    the cells held in reset for their first ``start_delay`` frames.
    Only steady frames count: not the first after the reset (nor a held
    one), and not one whose input goes
    more than :data:`TRANSIENT` beyond both its own and the previous sample
    on the side that decides (below them for a cell that started high,
    above for one that started low)."""
    before = np.concatenate([np.zeros_like(states[:, :1]), states[:, :-1]], axis=1)
    previous = np.concatenate([samples[:, :1], samples[:, :-1]], axis=1)
    later = np.arange(states.shape[1])[None, :, None] > start_delay
    steady_low = later & (ranges[..., 1] <= np.maximum(previous, samples) + TRANSIENT)
    steady_high = later & (ranges[..., 0] >= np.minimum(previous, samples) - TRANSIENT)
    cells = []
    for k in range(states.shape[-1]):
        low = ~before[..., k] & steady_low[..., k]
        high = before[..., k] & steady_high[..., k]
        cells.append(
            Crossings(
                ranges[..., k, 1][low],
                states[..., k][low],
                ranges[..., k, 0][high],
                ~states[..., k][high],
            )
        )
    return cells


def switching_point(reached: np.ndarray, switched: np.ndarray, target: float) -> float:
    """The point ``p`` that best explains frames that switched when their
    input ``reached`` it (``reached >= p``) and held otherwise: of the points
    with the fewest frames unexplained, the nearest to ``target`` (the
    target itself when the frames cannot tell it from the best)."""
    finite = np.isfinite(reached)
    reached, switched = reached[finite], switched[finite]
    if not len(reached):
        return float(target)
    values = np.unique(reached)
    points = np.concatenate([[target], (values[1:] + values[:-1]) / 2, values[[0, -1]] + [-1, 1]])
    held, rose = np.sort(reached[~switched]), np.sort(reached[switched])
    wrong = len(held) - np.searchsorted(held, points) + np.searchsorted(rose, points)
    best = points[wrong == wrong.min()]
    return float(best[np.argmin(np.abs(best - target))])


@dataclass
class Measurement:
    """What one calibration pass reads of a chip, per layer name: each
    output's gain and offset (units) against the software, and each memory
    cell's :class:`Crossings`."""

    gains: dict[str, np.ndarray]
    offsets: dict[str, np.ndarray]
    crossings: dict[str, list[Crossings]] = field(default_factory=dict)


def measure_trims(
    model: keras.Model,
    export: CircuitExport,
    x: np.ndarray,
    frame: float = FRAME_SECONDS,
    workers: int = 1,
    scheduler=None,
) -> Measurement:
    """Per hidden Dense layer, per memory layer and for the readout, each
    output's own hardware / software gain and its offset (units) on the clips
    ``x``, against the software computed from the circuit's upstream signals
    (:func:`exporters.software.probe_readings`); per memory layer, each cell's
    :class:`Crossings`."""
    realized = quantized_model(model, export)
    jobs = [(export, i, x[i], frame, 27.0) for i in range(len(x))]
    results = dict(map_unordered(simulate_job, jobs, workers, scheduler, "calibration clips"))
    done = [i for i in range(len(x)) if "error" not in results[i]]
    if not done:
        raise SimulationError(f"every calibration clip failed to simulate: {results[0]['error']}")
    hw, sw = {}, {}
    for i in done:
        for layer, (measured, software) in probe_readings(realized, x[i], results[i]).items():
            hw.setdefault(layer, []).append(measured)
            sw.setdefault(layer, []).append(software)
    measurement = Measurement({}, {})
    for layer in hw:
        measurement.gains[layer], measurement.offsets[layer] = _trim(
            np.stack(hw[layer]), np.stack(sw[layer])
        )
    for layer in results[done[0]]["candidate_range"]:
        states = np.stack([results[i]["states"][layer] for i in done])
        ranges = np.stack([results[i]["candidate_range"][layer] for i in done])
        samples = np.stack([results[i]["candidates"][layer] for i in done])
        delay = getattr(model.get_layer(layer), "start_delay", 0)
        measurement.crossings[layer] = crossings(states, ranges, samples, delay)
    return measurement


def calibrate(
    model: keras.Model,
    build: Callable[[BiasTrims | None], CircuitExport],
    x: np.ndarray,
    passes: int = PASSES,
    frame: float = FRAME_SECONDS,
    workers: int = 1,
    scheduler=None,
    reset_guard: float = RESET_GUARD,
) -> BiasTrims:
    """The bias-current trims of the chip ``build(trims)`` (``build(None)``:
    as programmed nominally), measured on the clips ``x`` over ``passes``
    rounds of :func:`measure_trims`, each on the chip trimmed so far; then
    the cells fed by other cells set ``reset_guard`` units lower to reset."""
    if passes < 1:
        raise ValueError(f"calibration needs at least one pass; got passes={passes}")
    memories = {name: model.get_layer(name) for name in model_memory_layers(model)}
    trims = BiasTrims()
    for _ in range(passes):
        export = build(trims if trims.thresholds or trims.biases else None)
        measured = measure_trims(model, export, x, frame, workers, scheduler)
        for layer, gain in measured.gains.items():
            gain = np.clip(gain, 0.5, 2.0)  # a wilder reading is a measurement failure
            offset = measured.offsets[layer]
            if layer not in memories:
                trims.biases[layer] = trims.biases.get(layer, 0.0) - offset / gain
                continue
            high, low = (
                np.asarray(v) for v in (memories[layer].beta_high, memories[layer].beta_low)
            )
            set_up, set_down = trims.switching_points(layer, high, low)  # as built
            trims.thresholds[layer] = (gain, offset)
            want_up, want_down = trims.targets(layer, high, low)
            cells = zip(measured.crossings[layer], want_up, want_down, strict=True)
            up, down = np.array(
                [
                    (switching_point(c.highest, c.rose, u), -switching_point(-c.lowest, c.fell, -d))
                    for c, u, d in cells
                ]
            ).T
            trims.comparators[layer] = (up - set_up, down - set_down)
    if reset_guard:
        trims.guards = {name: reset_guard for name in fed_by_memories(model)}
    return trims


def model_memory_layers(model: keras.Model) -> list[str]:
    """The names of the model's FQ-BMRU layers."""
    from bmru_keras.layers import FQBMRU

    return [step.layer.name for step in walk(model) if isinstance(step.layer, FQBMRU)]


def fed_by_memories(model: keras.Model) -> list[str]:
    """The names of the model's FQ-BMRU layers whose input depends on
    another FQ-BMRU layer's states."""
    from bmru_keras.layers import FQBMRU

    producer, upstream, fed = {}, {}, []
    for step in walk(model):
        before = set()
        for tensor in step.inputs:
            layer = producer.get(id(tensor))
            if layer is not None:
                before |= upstream[layer] | ({layer} if isinstance(layer, FQBMRU) else set())
        upstream[step.layer] = before
        producer[id(step.output)] = step.layer
        if isinstance(step.layer, FQBMRU) and before:
            fed.append(step.layer.name)
    return fed
