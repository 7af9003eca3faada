"""Transient noise at the memory cells' boundaries, in ngspice.

ngspice simulates device noise only in small-signal ``.noise`` analyses, not
in a transient, so noise enters the transient as ``trnoise`` current sources
(white, a new sample every ``step`` seconds, linearly interpolated: a
one-sided density of about ``2 A^2 step`` up to ``1 / (2 step)``):

- at every network input, front-end noise of rms ``input_noise * I_unit``;
- at every bias current (each cell's ``I_thresh``, ``I_width``, ``I_gain``,
  and the unit reference), its own shot noise: a subthreshold current ``I``
  has the density ``2 q I``, hence ``A = sqrt(q I / step)``.

Every exported cell has 0-V probes on its input (the candidate current, its
positive and negative sums) and on its output copy. Per cell, over the last
half of every frame (the settled part), the relative noise is the standard
deviation over the mean. The cell's input noise is the median over the frames
whose candidate is at least 5 % of a unit; its output noise the median over
the frames in which it is on and does not switch. The noise suppression of
the cell is their ratio: how much quieter the discrete state current it
passes on is than the analog current it receives.
"""

import time

import numpy as np

from exporters.deck import CircuitExport
from exporters.ngspice import run_deck
from exporters.stimulus import FRAME_SECONDS

ELECTRON = 1.602176634e-19


def noise_sources(export: CircuitExport, input_noise: float, step: float, seed: int) -> list[str]:
    """The ``trnoise`` sources of a noise transient (see the module); ngspice
    takes ``seed >= 1``."""
    if seed < 1:
        raise ValueError(f"ngspice's noise seed must be at least 1; got {seed}")
    lines = []
    for net in export.inputs:
        amplitude = input_noise * export.unit_current
        lines.append(f"INZ_{net} vdd_bias {net} DC 0 TRNOISE({amplitude:.4g} {step:.4g} 0 0)")
    for source in export.bias_sources:
        if source.amperes <= 0:
            continue
        amplitude = np.sqrt(ELECTRON * source.amperes / step)
        node = source.node
        lines.append(f"INZ_{node} vdd_bias {node} DC 0 TRNOISE({amplitude:.4g} {step:.4g} 0 0)")
    lines.append(f".options seed={seed}")  # ngspice needs a positive seed
    return lines


def cell_noise(
    export: CircuitExport,
    features: np.ndarray,
    frames: int = 30,
    frame: float = FRAME_SECONDS,
    input_noise: float = 0.05,
    step: float = 5e-5,
    seed: int = 1,
) -> dict:
    """Simulate the first ``frames`` frames of one clip with noise; per cell
    its input and output relative noise and their ratio (see the module)."""
    if export.models is None or not export.cell_probes:
        raise ValueError("noise needs a transistor-level export with memory cells")
    features = features[:frames]
    stop = len(features) * frame
    deck = export.spice(
        [
            *export.stimulus(features, frame),
            *noise_sources(export, input_noise, step, seed),
            f".tran {step / 2:.4g} {stop:.6g} 0 {step / 2:.4g}",
        ]
    )
    start = time.perf_counter()
    vectors = run_deck(deck, stop)
    seconds = time.perf_counter() - start
    t = vectors["time"]
    cells, trace = [], None
    for layer, probes in export.cell_probes.items():
        for unit, (pos, neg, out) in enumerate(probes):
            if pos is None:
                continue
            candidate = vectors[f"{pos}#branch"] - (vectors[f"{neg}#branch"] if neg else 0)
            output = vectors[f"{out}#branch"]
            state = vectors[export.states[layer][unit].lower()] > export.vdd / 2
            if trace is None:
                trace = {"cell": f"{layer} {unit}", "time": t, "input": candidate, "output": output}
            cells.append(
                {
                    "layer": layer,
                    "unit": unit,
                    **_relative_noise(t, candidate, output, state, frame, export.unit_current),
                }
            )
    measured = [c["suppression"] for c in cells if c["suppression"] is not None]
    return {
        "cells": cells,
        "noise_suppression_min": min(measured) if measured else None,
        "seconds": seconds,
        "trace": trace,  # the first cell's currents
    }


def _relative_noise(t, candidate, output, state, frame, unit) -> dict:
    inputs, outputs = [], []
    for k in range(int(round(t[-1] / frame))):
        settled = (t >= (k + 0.5) * frame) & (t < (k + 1) * frame)
        if settled.sum() < 10:
            continue
        c, o = candidate[settled], output[settled]
        if abs(c.mean()) >= 0.05 * unit:
            inputs.append(c.std() / abs(c.mean()))
        on = state[(t >= k * frame) & (t < (k + 1) * frame)]
        if on.all():
            outputs.append(o.std() / abs(o.mean()))
    rel_in = float(np.median(inputs)) if inputs else None
    rel_out = float(np.median(outputs)) if outputs else None
    return {
        "input_relative_noise": rel_in,
        "output_relative_noise": rel_out,
        "frames_in": len(inputs),
        "frames_on": len(outputs),
        "suppression": None if not rel_in or not rel_out else rel_in / rel_out,
    }
