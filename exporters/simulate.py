"""Transient simulation of an exported network on one clip, in ngspice.

Each frame's features become input currents (piecewise-linear sources,
``feature * I_unit``, held for one frame period); the readout currents and
the memory cells' states are read at the end of every frame (at 95 % of it).
"""

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from exporters.circuit import SUPPLIES
from exporters.ngspice import run_deck
from exporters.stimulus import FRAME_SECONDS

SAMPLE = 0.95  # where in each frame the outputs are read, as a fraction of it


class Deck(Protocol):
    """What a simulation reads of a written circuit
    (:class:`exporters.deck.CircuitExport`, whose ``predict`` calls this module)."""

    vdd: float
    unit_current: float
    models: object
    probes: list
    states: dict
    cell_probes: dict
    dense_probes: dict

    def clip_deck(self, features: np.ndarray, frame: float, temperature: float) -> str: ...


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
    # memory layer -> (frames, units, 2): the lowest and highest input current
    # of each cell within each frame, up to the frame's sample; {} at behavioral level
    candidate_range: dict


def simulate_clip(
    export: Deck,
    features: np.ndarray,
    frame: float = FRAME_SECONDS,
    temperature: float = 27.0,
) -> ClipSimulation:
    """Simulate ``features`` (frames, n_features) in [0, 1]; ``frame`` seconds
    per frame."""
    return simulate_samples(export, features, frame, temperature, (SAMPLE,))[0]


def simulate_samples(
    export: Deck,
    features: np.ndarray,
    frame: float,
    temperature: float,
    fractions: tuple[float, ...],
) -> list[ClipSimulation]:
    """One simulation of ``features``, read at each of ``fractions`` of every
    frame (0 < fraction < 1) instead of at :data:`SAMPLE`: how far the
    circuit has settled through a frame."""
    if not all(0 < f < 1 for f in fractions):
        raise ValueError(f"sample fractions {fractions}: give values between 0 and 1")
    frames = len(features)
    deck = export.clip_deck(features, frame, temperature)
    start = time.perf_counter()
    vectors = run_deck(deck, frames * frame)
    seconds = time.perf_counter() - start
    return [_read(export, vectors, frames, frame, seconds, f) for f in fractions]


def _read(export: Deck, vectors: dict, frames: int, frame: float, seconds: float, fraction: float):
    t = vectors["time"]
    sample = (np.arange(frames) + fraction) * frame

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

    def waveform(pos, neg):  # a probe pair's current over the whole clip, units
        current = (vectors[f"{pos}#branch"] if pos else 0) - (
            vectors[f"{neg}#branch"] if neg else 0
        )
        return np.broadcast_to(current, t.shape) / export.unit_current

    def sums(probes):  # (positive, negative) probe pairs -> (frames, units)
        columns = []
        for pos, neg, *_ in probes:
            if pos is None and neg is None:  # an omitted cell, or an output fixed at 0
                columns.append(np.full(frames, np.nan))
                continue
            columns.append(np.interp(sample, t, waveform(pos, neg)))
        return np.stack(columns, axis=1)

    # Each frame's window: its time points from its start through its sample
    # (the first point after the sample included: the sample lies within).
    starts = np.searchsorted(t, np.arange(frames) * frame)
    ends = np.minimum(np.searchsorted(t, sample, side="right") + 1, len(t))

    def ranges(probes):  # (positive, negative) probe pairs -> (frames, units, 2)
        columns = []
        for pos, neg, *_ in probes:
            if pos is None and neg is None:
                columns.append(np.full((frames, 2), np.nan))
                continue
            current = waveform(pos, neg)
            windows = [current[a:b] for a, b in zip(starts, ends, strict=True)]
            columns.append([(w.min(), w.max()) for w in windows])
        return np.stack(columns, axis=1)

    candidates = {layer: sums(probes) for layer, probes in export.cell_probes.items()}
    dense = {layer: sums(probes) for layer, probes in export.dense_probes.items()}
    extremes = {layer: ranges(probes) for layer, probes in export.cell_probes.items()}
    return ClipSimulation(logits, states, power, seconds, candidates, dense, extremes)


def samples_job(job: tuple) -> tuple:
    """``(export, index, features, frame, temperature, fractions)`` ->
    ``(index, [result per fraction])`` (:func:`simulate_samples`; each result
    as :func:`simulate_job`'s), or ``(index, {"error": ...})``."""
    export, index, features, frame, temperature, fractions = job
    try:
        sims = simulate_samples(export, features, frame, temperature, fractions)
    except Exception as error:  # reported per clip, the others go on
        return index, {"error": f"{type(error).__name__}: {error}"}
    return index, [_arrays(sim) for sim in sims]


def _arrays(sim: ClipSimulation) -> dict:
    return {
        "logits": sim.logits,
        "states": sim.states,
        "candidates": sim.candidates,
        "dense": sim.dense,
        "candidate_range": sim.candidate_range,
        "power": sim.power,
        "seconds": sim.seconds,
    }


def simulate_job(job: tuple) -> tuple:
    """``(export, index, features, frame, temperature)`` -> ``(index, result)``
    for worker pools: the simulation's arrays, or ``{"error": ...}``, so
    that one failed clip does not stop the others."""
    export, index, features, frame, temperature = job
    try:
        sim = simulate_clip(export, features, frame, temperature)
    except Exception as error:  # reported per clip, the others go on
        return index, {"error": f"{type(error).__name__}: {error}"}
    return index, _arrays(sim)
