"""Characterize one exported memory cell in ngspice: sweep its input current
up and down slowly and find where it switches and what it outputs."""

from dataclasses import dataclass

import numpy as np

from exporters.cells import cell_library
from exporters.design import Design
from exporters.errors import SimulationError
from exporters.network import Memory, Network
from exporters.ngspice import run_deck
from exporters.writers.transistor import subcircuit_text


@dataclass
class Hysteresis:
    """Measured switch points and output levels of one cell (amperes)."""

    i_thresh: float
    i_width: float
    i_gain: float
    switch_up: float
    switch_down: float | None  # None: never falls (I_width = I_thresh)
    output_high: float
    output_low: float
    supply_power: float  # mean power from the supply over the sweep (W)
    time: np.ndarray
    input_current: np.ndarray
    output_current: np.ndarray

    def errors(self) -> dict:
        """Relative errors against the software mapping: switch up at
        ``I_thresh``, down at ``I_thresh - I_width``, high output ``I_gain``."""
        low = self.i_thresh - self.i_width
        return {
            "switch_up": self.switch_up / self.i_thresh - 1,
            "switch_down": None if self.switch_down is None else self.switch_down / low - 1,
            "output_high": self.output_high / self.i_gain - 1,
        }


def characterize_cell(
    i_thresh: float,
    i_width: float,
    i_gain: float,
    design: Design | None = None,
    ramp_seconds: float = 1.0,
) -> Hysteresis:
    """Ramp the input from 0 to ``1.5 * I_thresh`` and back over
    ``2 * ramp_seconds`` (slow against the cell's switching time at pA
    currents) and measure the hysteresis loop, at ``design``'s process,
    supply, temperature and cell ratio. The currents are as the network sees
    them (its input and output copies); with a cell ratio k the cell's bias
    sources are k times them."""
    if not 0 <= i_width <= i_thresh or i_thresh <= 0 or i_gain <= 0:
        raise ValueError(
            "need 0 <= I_width <= I_thresh, I_thresh > 0 and I_gain > 0; got "
            f"{i_thresh}, {i_width}, {i_gain}"
        )
    design = design or Design()
    models, vdd = design.process(), design.vdd
    # A cell whose low threshold is (nearly) 0 never falls, as its software unit.
    falls = i_thresh - i_width > 0.02 * i_thresh
    peak = 1.5 * i_thresh
    k = design.cell_ratio
    ramp = [(0, 0), (ramp_seconds, peak), (2 * ramp_seconds, 0)]
    step = 2 * ramp_seconds / 4000
    library = cell_library(
        design.output_capacitance, k, design.switch_device, design.power_on_reset
    )
    reset = " 0" if design.power_on_reset else ""  # rst low (released): the .ic starts it off
    cells = "\n".join(subcircuit_text(sub, models) for sub in library)
    deck = "\n".join(
        [
            "* one FQ-BMRU cell, its input ramped up and down",
            *models.spice_lines(),
            cells,
            f"VDD vdd 0 {vdd:g}",
            f"X1 in_p v0 th_n wd_n gn_n out{reset} vdd 0 fqbmru_cell",
            *(
                line
                for port, current in (("th_n", i_thresh), ("wd_n", i_width), ("gn_n", i_gain))
                for line in (f"IB_{port} vdd {port} {k * current:g}", f"XR_{port} {port} 0 nref")
            ),
            "XP in_p vdd pref",
            "XO sense out vdd pout",
            f"VSENSE sense 0 {vdd / 2:g}",
            "IIN in_p 0 PWL(" + " ".join(f"{t:g} {i:g}" for t, i in ramp) + ")",
            # Off at the start, as the software unit: a cell that never falls is
            # bistable at no input, and a hot operating point may find it on.
            ".ic v(v0)=0",
            f".options temp={design.temperature:g} tnom=27",
            f".tran {step:g} {2 * ramp_seconds:g}",
            ".end",
        ]
    )
    try:
        vectors = run_deck(deck, 2 * ramp_seconds)
    except SimulationError as error:
        raise SimulationError(f"the cell transient did not complete: {error}") from error
    time = vectors["time"]
    out = vectors["vsense#branch"]
    supply = -vectors["vdd#branch"]
    current_in = np.interp(time, [p[0] for p in ramp], [p[1] for p in ramp])
    high = out > 0.5 * i_gain
    rising = time < ramp_seconds
    if not high[rising].any() or (falls and (not high[~rising].any() or high[-1])):
        raise SimulationError(
            "the cell did not switch up and back down over the sweep "
            f"(I_thresh={i_thresh:g} A, I_width={i_width:g} A, I_gain={i_gain:g} A)"
        )
    up = np.argmax(high & rising)
    down = np.flatnonzero(high & ~rising)[-1] if falls else None
    return Hysteresis(
        i_thresh=i_thresh,
        i_width=i_width,
        i_gain=i_gain,
        switch_up=float(current_in[up]),
        switch_down=None if down is None else float(current_in[down]),
        output_high=float(np.median(out[high])),
        output_low=float(np.median(out[~high])),
        supply_power=float(vdd * np.trapezoid(supply, time) / time[-1]),
        time=time,
        input_current=current_in,
        output_current=out,
    )


#: The reference cell without a model, in units: 175 / 100 / 250 pA at 350 pA.
REFERENCE_CELL = (0.5, 2 / 7, 5 / 7)


def characterize_network(network: Network, design: Design | None = None) -> list[dict]:
    """Characterize the cell of every FQ-BMRU unit of a network with its
    mapped bias currents at ``design``; one row per unit."""
    design = design or Design()
    rows = []
    for op in network.operations:
        if not isinstance(op, Memory):
            continue
        for unit, (high, low, alpha) in enumerate(
            zip(op.beta_high, op.beta_low, op.alpha, strict=True)
        ):
            currents = np.array([high, high - low, alpha]) * design.unit_current
            loop = characterize_cell(*currents, design)
            rows.append({"layer": op.name, "unit": unit, "loop": loop})
    if not rows:
        raise ValueError("the model has no FQBMRU layer to characterize")
    return rows


def summary(rows: list[dict]) -> dict:
    """JSON-ready results: per unit currents, measurements and relative errors."""
    units = []
    for row in rows:
        loop = row["loop"]
        units.append(
            {
                "layer": row["layer"],
                "unit": row["unit"],
                "i_thresh_a": loop.i_thresh,
                "i_width_a": loop.i_width,
                "i_gain_a": loop.i_gain,
                "switch_up_a": loop.switch_up,
                "switch_down_a": loop.switch_down,
                "output_high_a": loop.output_high,
                "power_w": loop.supply_power,
                "relative_errors": loop.errors(),
            }
        )
    worst = max(abs(e) for u in units for e in u["relative_errors"].values() if e is not None)
    return {"units": units, "max_relative_error": worst, "n_cells": len(units)}


def plot_loops(rows: list[dict], path) -> None:
    """Each cell's output against its input over the sweep, with the
    software switch points and amplitude as dashed lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(4, len(rows))
    lines = -(-len(rows) // columns)
    fig, axes = plt.subplots(lines, columns, figsize=(3.2 * columns, 2.6 * lines), squeeze=False)
    for ax, row in zip(axes.flat, rows, strict=False):
        loop = row["loop"]
        ax.plot(1e12 * loop.input_current, 1e12 * loop.output_current, lw=1, label="circuit")
        ax.axvline(1e12 * loop.i_thresh, ls="--", c="C1", lw=0.8, label="beta_high")
        ax.axvline(1e12 * (loop.i_thresh - loop.i_width), ls="--", c="C2", lw=0.8, label="beta_low")
        ax.axhline(1e12 * loop.i_gain, ls="--", c="C3", lw=0.8, label="alpha")
        ax.set_title(f"{row['layer']} unit {row['unit']}", fontsize=9)
        ax.set_xlabel("input (pA)", fontsize=8)
        ax.set_ylabel("output (pA)", fontsize=8)
    axes.flat[0].legend(fontsize=7, title="software", title_fontsize=7)
    for ax in axes.flat[len(rows) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
