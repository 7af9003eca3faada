"""Transient simulation of an exported network on one clip, in ngspice.

Each frame's features become input currents (piecewise-linear sources,
``feature * I_unit``, held for one frame period); the readout currents and
the memory cells' states are read at the end of every frame.
"""

import threading
import time
from dataclasses import dataclass

import numpy as np

from exporters.errors import SimulationError
from exporters.export import SUPPLIES, CircuitExport
from exporters.spice import ngspice_shared


@dataclass
class ClipSimulation:
    logits: np.ndarray  # (frames, classes), in software units
    states: dict  # memory layer -> (frames, units) bool
    power: dict  # supply kind -> mean watts over the clip ({} at behavioral level)
    seconds: float  # wall time of the simulation
    # memory layer -> (frames, units): each cell's input current (positive sum
    # minus negative sum, before the cell's ReLU) in units; NaN for an omitted
    # cell; {} at behavioral level
    candidates: dict
    # hidden Dense layer -> (frames, units): its outputs in units (positive sum
    # minus negative sum, before any ReLU); {} at behavioral level
    dense: dict


def input_sources(export: CircuitExport, features: np.ndarray, frame: float) -> list[str]:
    """One PWL current source per feature: each frame's value, with edges of
    1 % of a frame."""
    edge = frame / 100
    lines = []
    for f, net in enumerate(export.inputs):
        points = []
        for k, value in enumerate(features[:, f] * export.unit_current):
            points += [
                f"{k * frame + (edge if k else 0):.6g}",
                f"{value:.6g}",
                f"{(k + 1) * frame:.6g}",
                f"{value:.6g}",
            ]
        lines.append(f"I_{net} vdd_bias {net} PWL({' '.join(points)})")
    return lines


def simulate_clip(
    export: CircuitExport,
    features: np.ndarray,
    frame: float = 0.01,
    temperature: float = 27.0,
) -> ClipSimulation:
    """Simulate ``features`` (frames, n_features) in [0, 1]; ``frame`` seconds
    per frame."""
    frames = len(features)
    stop = frames * frame
    deck = export.spice(
        [
            *input_sources(export, features, frame),
            f".options temp={temperature}",
            f".tran {frame / 20:.6g} {stop:.6g} 0 {frame / 10:.6g}",
        ]
    )
    start = time.perf_counter()
    vectors = run_deck(deck, stop)
    seconds = time.perf_counter() - start
    return _read(export, vectors, frames, frame, seconds)


# One ngspice per process: a Dask worker running several threads must not
# enter it twice.
_NGSPICE = threading.Lock()


def run_deck(deck: str, stop: float) -> dict[str, np.ndarray]:
    """Run a transient deck to ``stop`` seconds in this process's ngspice;
    every vector by lower-case name."""
    with _NGSPICE:
        return _run(deck, stop)


def _run(deck: str, stop: float) -> dict[str, np.ndarray]:
    ng = ngspice_shared()
    try:
        ng.destroy()
        ng.load_circuit(deck)
        ng.run()
        plot = ng.plot(None, ng.last_plot)
        vectors = {name.lower(): np.asarray(vector._data).real for name, vector in plot.items()}
    except Exception as error:
        said = [line for line in ng.stdout.splitlines() if "rror" in line or "failed" in line]
        raise SimulationError(
            f"ngspice failed on this clip: {error}; ngspice said: {' | '.join(said[-5:])}. "
            "A transient that does not converge often needs a larger unit current "
            "or a different supply voltage."
        ) from error
    if "time" not in vectors or vectors["time"][-1] < stop * 0.999:
        raise SimulationError(
            "the transient did not reach the end of the clip (non-convergence); "
            "try a larger unit current or another supply voltage"
        )
    return vectors


def _read(export: CircuitExport, vectors: dict, frames: int, frame: float, seconds: float):
    t = vectors["time"]
    sample = (np.arange(frames) + 0.95) * frame

    def at_frames(name):
        return np.interp(sample, t, vectors[name])

    logits = np.zeros((frames, len(export.probes)))
    for c, (pos, neg) in enumerate(export.probes):
        for sign, probe in ((1, pos), (-1, neg)):
            if probe is not None:
                logits[:, c] += sign * at_frames(f"{probe}#branch")
    logits /= export.unit_current

    def state(node):
        if node is None:  # an omitted cell that never switches on
            return np.zeros(frames, bool)
        return at_frames(node.lower()) > export.vdd / 2

    states = {
        layer: np.stack([state(node) for node in nodes], axis=1)
        for layer, nodes in export.states.items()
    }
    power = {}
    for kind, supply in SUPPLIES.items() if export.models is not None else ():
        current = -vectors[f"vdd_{supply}#branch"]
        power[kind] = float(export.vdd * np.trapezoid(current, t) / t[-1])

    def sums(probes):  # (positive, negative) probe pairs -> (frames, units)
        columns = []
        for pos, neg, *_ in probes:
            if pos is None and neg is None:  # an omitted cell, or an output fixed at 0
                columns.append(np.full(frames, np.nan))
                continue
            current = (at_frames(f"{pos}#branch") if pos else 0) - (
                at_frames(f"{neg}#branch") if neg else 0
            )
            columns.append(current / export.unit_current)
        return np.stack(columns, axis=1)

    candidates = {layer: sums(probes) for layer, probes in export.cell_probes.items()}
    dense = {layer: sums(probes) for layer, probes in export.dense_probes.items()}
    return ClipSimulation(logits, states, power, seconds, candidates, dense)


def simulate_job(job: tuple) -> tuple:
    """``(export, index, features, frame, temperature)`` -> ``(index, result)``
    for worker pools: the simulation's arrays, or ``{"error": ...}``, so
    that one failed clip does not stop the others."""
    export, index, features, frame, temperature = job
    try:
        sim = simulate_clip(export, features, frame, temperature)
    except Exception as error:  # reported per clip, the others go on
        return index, {"error": f"{type(error).__name__}: {error}"}
    return index, {
        "logits": sim.logits,
        "states": sim.states,
        "candidates": sim.candidates,
        "dense": sim.dense,
        "power": sim.power,
        "seconds": sim.seconds,
    }
