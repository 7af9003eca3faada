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

It switches high when ``I_in > I_thresh`` and back low when
``I_in + I_width < I_thresh``: ``beta_high <-> I_thresh``,
``beta_low <-> I_thresh - I_width``, ``alpha <-> I_gain``. The port ``v0`` lets
a negative input current be sunk at the comparison node.

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


def cell_library(models: ProcessModels) -> str:
    """The ``.subckt`` definitions, parameterised by the unit size."""
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
