"""Characterize one exported memory cell in ngspice: sweep its input current
up and down slowly and find where it switches and what it outputs."""

from dataclasses import dataclass

import numpy as np

from exporters import spice
from exporters.cells import cell_library
from exporters.errors import SimulationError
from exporters.pdk import ProcessModels, gf180mcu


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
    models: ProcessModels | None = None,
    vdd: float = 1.8,
    ramp_seconds: float = 1.0,
    temperature: float = 27.0,
) -> Hysteresis:
    """Ramp the input from 0 to ``1.5 * I_thresh`` and back over
    ``2 * ramp_seconds`` (slow against the cell's switching time at pA
    currents) and measure the hysteresis loop."""
    if not 0 <= i_width <= i_thresh or i_thresh <= 0 or i_gain <= 0:
        raise ValueError(
            "need 0 <= I_width <= I_thresh, I_thresh > 0 and I_gain > 0; got "
            f"{i_thresh}, {i_width}, {i_gain}"
        )
    # A cell whose low threshold is (nearly) 0 never falls, as its software unit.
    falls = i_thresh - i_width > 0.02 * i_thresh
    models = models or gf180mcu()
    peak = 1.5 * i_thresh
    with spice.top_level(cell_library(models)) as (sk, circuit, library):
        with circuit:
            vdd_net, gnd = sk.Net("vdd"), sk.Net("0")
            nets = {
                name: sk.Net(name)
                for name in ("in_p", "v0", "th_n", "wd_n", "gn_n", "out", "sense")
            }
            sk.V(ref="DD", dc_value=vdd)["p", "n"] += vdd_net, gnd
            cell = sk.Part(library.name, "fqbmru_cell")
            for port, net in nets.items():
                if port != "sense":
                    cell[port] += net
            cell["vdd"] += vdd_net
            cell["gnd"] += gnd
            for port, current in (
                ("th_n", i_thresh),
                ("wd_n", i_width),
                ("gn_n", i_gain),
            ):
                sk.I(ref=f"B_{port}", dc_value=current)["p", "n"] += vdd_net, nets[port]
                reference = sk.Part(library.name, "nref")
                reference["d"] += nets[port]
                reference["gnd"] += gnd
            reference = sk.Part(library.name, "pref")
            reference["d"] += nets["in_p"]
            reference["vdd"] += vdd_net
            output = sk.Part(library.name, "pout")
            output["d"] += nets["sense"]
            output["g"] += nets["out"]
            output["vdd"] += vdd_net
            sk.V(ref="SENSE", dc_value=vdd / 2)["p", "n"] += nets["sense"], gnd
        spice_circuit = spice.netlist(sk, circuit, library)  # it includes the library file
        # The input: a piecewise-linear current drawn through the input reference.
        ramp = [(0, 0), (ramp_seconds, peak), (2 * ramp_seconds, 0)]
        spice_circuit.PieceWiseLinearCurrentSource("IN", "in_p", spice_circuit.gnd, values=ramp)
        simulator = spice.simulator(spice_circuit, models.spice_lines(), temperature)
        step = 2 * ramp_seconds / 4000
        try:
            analysis = simulator.transient(step_time=step, end_time=2 * ramp_seconds)
        except Exception as error:  # InSpice raises NgSpiceCommandError and others
            raise SimulationError(f"the cell transient did not complete: {error}") from error
    time = np.asarray(analysis.time, float)
    out = np.asarray(analysis.branches["vsense"], float)
    supply = -np.asarray(analysis.branches["vdd"], float)
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


def characterize_model(
    model, unit_current: float, models: ProcessModels | None = None, vdd: float = 1.8
) -> list[dict]:
    """Characterize the cell of every FQ-BMRU unit of a Keras model with its
    mapped bias currents; one row per unit."""
    from bmru_keras.layers import FQBMRU
    from exporters.mapping import fqbmru_cell_currents

    models = models or gf180mcu()
    rows = []
    for layer in model.layers:
        if not isinstance(layer, FQBMRU):
            continue
        for unit, currents in enumerate(fqbmru_cell_currents(layer, unit_current)):
            loop = characterize_cell(
                currents.i_thresh, currents.i_width, currents.i_gain, models, vdd
            )
            rows.append({"layer": layer.name, "unit": unit, "loop": loop})
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
        ax.plot(1e12 * loop.input_current, 1e12 * loop.output_current, lw=1)
        ax.axvline(1e12 * loop.i_thresh, ls="--", c="C1", lw=0.8)
        ax.axvline(1e12 * (loop.i_thresh - loop.i_width), ls="--", c="C2", lw=0.8)
        ax.axhline(1e12 * loop.i_gain, ls="--", c="C3", lw=0.8)
        ax.set_title(f"{row['layer']} unit {row['unit']}", fontsize=9)
        ax.set_xlabel("input (pA)", fontsize=8)
        ax.set_ylabel("output (pA)", fontsize=8)
    for ax in axes.flat[len(rows) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
