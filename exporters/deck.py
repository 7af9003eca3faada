"""A written circuit (:class:`CircuitExport`): the SPICE deck, the names of
everything a simulation reads, and the kit a designer takes away.

Simulation side: no Keras, no TensorFlow.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from exporters.cells import RESET_SECONDS
from exporters.circuit import BiasSource, Circuit
from exporters.pdk import ProcessModels
from exporters.stimulus import FRAME_SECONDS, input_sources, reset_sources, transient


@dataclass(frozen=True)
class Stimulus:
    """One clip for a testbench: network inputs ``(frames, inputs)`` in
    units, and what the software expects (written beside it)."""

    name: str
    features: np.ndarray
    expected: dict  # e.g. logits per frame, decision, label
    frame: float = FRAME_SECONDS


@dataclass
class CircuitExport:
    """The exported circuit and everything a designer needs with it."""

    netlist: str  # the top level (SKiDL), without input sources
    library: str  # the .subckt definitions
    models: ProcessModels | None  # None at the behavioral level
    vdd: float
    unit_current: float
    inputs: list[str]  # input n-nodes, one per feature
    probes: list[tuple[str | None, str | None]]  # readout (pos, neg) probe sources
    states: dict[str, list[str | None]]  # memory layer -> cells' state nodes (None: omitted)
    bias_table: list[dict]
    weights: list[dict]
    transistors: dict[str, int]
    quantized_weights: dict[str, list[np.ndarray]] = field(repr=False)
    level: str = "transistor"
    # memory layer -> per cell the 0-V probe sources (candidate +, candidate -,
    # state output) whose currents are the cell's input and output.
    cell_probes: dict[str, list[tuple[str | None, ...]]] = field(default_factory=dict)
    # hidden Dense layer -> per output the 0-V probe sources (sum +, sum -)
    # whose currents are its output before any activation.
    dense_probes: dict[str, list[tuple[str | None, str | None]]] = field(default_factory=dict)
    bias_sources: list[BiasSource] = field(default_factory=list)  # transistor level
    # estimated area, m^2: "gate" and "capacitor" (Circuit.area); transistor level
    area: dict[str, float] = field(default_factory=dict)
    # reset net -> the frames it holds its cells after power-on (a layer's
    # start_delay; exporters.cells.reset_net), driven by each clip's stimulus
    held_resets: dict[str, int] = field(default_factory=dict)
    circuit: Circuit | None = field(default=None, repr=False)  # the transistor-level model

    @property
    def transistor_count(self) -> int:
        return sum(self.transistors.values())

    def fingerprint(self) -> str:
        """A hash of the complete deck, each model file named by a hash of its
        contents rather than its path: equal exports, equal fingerprints, on
        any machine and in any checkout (a kept log is read back there)."""
        files = (*self.models.includes, self.models.library) if self.models else ()
        contents = {Path(f): hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files}
        return hashlib.sha256(self.spice(model_paths=contents).encode()).hexdigest()

    def _body(self) -> list[str]:
        lines = [line for line in self.netlist.splitlines() if not line.startswith(".include")]
        return lines[1:]  # without the title

    def spice(self, extra_lines: list[str] = (), model_paths: dict | None = None) -> str:
        """A complete deck: models, the library, the top level, extra lines;
        ``model_paths`` writes model files by other paths
        (:meth:`~exporters.pdk.ProcessModels.spice_lines`)."""
        return "\n".join(
            [
                "* bmru-keras export",
                *(self.models.spice_lines(model_paths) if self.models else []),
                self.library,
                *self._body(),
                *extra_lines,
                ".end",
                "",
            ]
        )

    def stimulus(self, features: np.ndarray, frame: float) -> list[str]:
        """The sources one clip of ``features`` (frames, inputs) adds to the
        netlist: its input currents, and the reset of each layer that starts
        late (:func:`exporters.cells.reset_net`)."""
        return [
            *input_sources(self.inputs, self.unit_current, features, frame),
            *reset_sources(self.held_resets, self.vdd, frame),
        ]

    def clip_deck(self, features: np.ndarray, frame: float, temperature: float = 27.0) -> str:
        """The deck that simulates one clip of ``features`` (frames, inputs)."""
        return self.spice(
            [
                *self.stimulus(features, frame),
                *transient(len(features), frame, temperature),
            ]
        )

    def predict(self, x: np.ndarray, frame: float = FRAME_SECONDS, temperature: float = 27.0):
        """Hardware in the loop: the circuit's logits ``(clips, frames,
        classes)`` for network inputs ``x`` ``(clips, frames, inputs)``, one
        ngspice transient per clip (as ``model.predict(x)`` in software)."""
        from exporters.simulate import simulate_clip

        x = np.asarray(x, float)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[-1] != len(self.inputs):
            raise ValueError(
                f"predict takes (clips, frames, {len(self.inputs)}) inputs; got {x.shape}"
            )
        return np.stack([simulate_clip(self, clip, frame, temperature).logits for clip in x])

    # -- the designer's kit ----------------------------------------------------
    def write(self, directory: str | Path, stimuli: list[Stimulus] = ()) -> Path:
        """Write a kit that runs in plain ``ngspice -b``: ``network.spice``
        (includes relative to itself), ``cells.lib``, the process models
        copied under ``models/`` with their licence, the bias table (CSV,
        JSON), the weight report, one testbench ``tb_<name>.spice`` per
        stimulus with ``tb_<name>.expected.json`` beside it, and a README."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / "cells.lib").write_text(self.library)
        model_lines = self._copy_models(out) if self.models else []
        (out / "network.spice").write_text(
            "\n".join(
                [
                    "* bmru-keras network (include it from a testbench; see README.md)",
                    *model_lines,
                    ".include cells.lib",
                    *self._body(),
                    "",
                ]
            )
        )
        (out / "bias_table.json").write_text(json.dumps(self.bias_table, indent=1))
        with open(out / "bias_table.csv", "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(self.bias_table[0]))
            writer.writeheader()
            writer.writerows(self.bias_table)
        (out / "weights.json").write_text(json.dumps(self.weights, indent=1))
        for stimulus in stimuli:
            (out / f"tb_{stimulus.name}.spice").write_text(self.testbench(stimulus))
            (out / f"tb_{stimulus.name}.expected.json").write_text(
                json.dumps(stimulus.expected, indent=1, default=float)
            )
        (out / "README.md").write_text(self.readme([s.name for s in stimuli]))
        return out

    def _copy_models(self, out: Path) -> list[str]:
        folder = out / "models"
        folder.mkdir(exist_ok=True)
        renamed = {}
        for path in (*self.models.includes, self.models.library):
            path = Path(path)
            shutil.copyfile(path, folder / path.name)
            renamed[path] = f"models/{path.name}"
        if self.models.licence is not None:
            shutil.copyfile(self.models.licence, folder / Path(self.models.licence).name)
        return self.models.spice_lines(renamed)

    def testbench(self, stimulus: Stimulus) -> str:
        """A deck for plain ngspice: the network, the clip as PWL input
        currents, a transient, and a ``.control`` block that writes the
        readout currents and the supply currents to ``tb_<name>.out``."""
        frames = len(stimulus.features)
        vectors = [p for pair in self.probes for p in pair if p is not None]
        supplies = ["vdd_vdd_cell", "vdd_vdd_ff"]
        stop = frames * stimulus.frame
        return "\n".join(
            [
                f"* testbench: clip {stimulus.name}, {frames} frames of "
                f"{stimulus.frame * 1e3:g} ms, {engineering(self.unit_current)}A per unit",
                ".include network.spice",
                *self.stimulus(stimulus.features, stimulus.frame),
                *transient(frames, stimulus.frame, 27.0),
                ".control",
                "set wr_singlescale",
                "set wr_vecnames",
                "option numdgt=7",
                "run",
                f"wrdata tb_{stimulus.name}.out "
                + " ".join(f"{v}#branch" for v in (*vectors, *supplies)),
                *(
                    f"meas tran i_{s} avg {s}#branch from=0 to={stop:g}"
                    for s in supplies
                    if self.models is not None
                ),
                "quit",
                ".endc",
                ".end",
                "",
            ]
        )

    def readme(self, testbenches: list[str] = ()) -> str:
        if self.models is None:
            devices = "Ideal current-mode elements (level 'behavioral'): no devices."
        else:
            devices = (
                f"Devices: `{self.models.nmos}` / `{self.models.pmos}` "
                f"(`models/`, corner `{self.models.corner}`), unit size "
                f"{self.models.width * 1e6:g} um / {self.models.length * 1e6:g} um."
            )
            if "\nC1 out vdd " in self.library:
                devices += (
                    " Each memory cell also has an output capacitor `C1` (a MIM "
                    "capacitor on silicon; simulated ideal)."
                )
            if self.circuit is not None and self.circuit.reset:
                devices += (
                    " Power-on reset: `VRST` holds `rst` at the supply for the first "
                    f"{RESET_SECONDS * 1e3:g} ms, and each cell's `M10` holds it off until then."
                )
        for net, frames in self.held_resets.items():
            devices += (
                f" The cells of a layer that starts {frames} frames late are on "
                f"`{net}`, which each testbench holds {frames} frames longer (`V_{net}`)."
            )
        counts = "\n".join(f"| {k} | {v} |" for k, v in self.transistors.items())
        benches = "\n".join(f"- `tb_{name}.spice`" for name in testbenches) or "- (none written)"
        return f"""# Exported FQ-BMRU network

Run a testbench with ngspice alone (no Python needed), from this folder:

    ngspice -b tb_<clip>.spice

It writes `tb_<clip>.out`: one row per time point with the current of
every readout probe (`vp<k>#branch`, `vn<k>#branch`) and of the supplies.
Class k's logit at the end of frame t is `(vp<k> - vn<k>) / {self.unit_current:g} A`,
read at `(t + 0.95)` frames; `tb_<clip>.expected.json` holds the software's
logits per frame and its decision (`decision_rule`: `majority` counts the
frames each class wins; `mean` takes the arg-max of the mean logits). The
mean supply currents are printed (`i_vdd_vdd_cell`, `i_vdd_vdd_ff`; power is
minus the current times {self.vdd} V).

Testbenches:
{benches}

Files:
- `network.spice`: the network (process models and `cells.lib` included by
  relative paths; one comment per bias current). Input current sources are
  the testbench's: `I_in_<k> vdd_bias in_<k> ...` with input k's value x
  {self.unit_current:g} A.
- `cells.lib`: the subcircuits, one per layer (named after it) and the
  9-transistor cell `fqbmru_cell`. `bias_table.csv/json`: every bias current
  (memory cells: I_thresh, I_width, I_gain; the unit reference).
  `weights.json`: each mirror's requested and realized ratio and size.
- `models/`: the process models the netlist reads, with their licence.
- Supplies: `vdd_cell` (memory cells), `vdd_ff` (feed-forward blocks),
  `vdd_bias` (bias references and inputs, not part of the power budget),
  all {self.vdd} V. {devices}

| block | transistors |
|---|---|
{counts}
| total | {self.transistor_count} |
{self._area_line()}"""

    def _area_line(self) -> str:
        if not self.area:
            return ""
        gate, capacitor = (1e12 * self.area[k] for k in ("gate", "capacitor"))
        return (
            f"\nEstimated area: {gate:,.0f} um^2 of transistor gates (W x L) and "
            f"{capacitor:,.0f} um^2 of capacitors at "
            f"{1e3 * self.models.capacitor_density:g} fF/um^2; wiring and spacing not counted.\n"
        )


def engineering(value: float, digits: int = 6) -> str:
    """``value`` with an SI prefix: 7e-10 -> 700p, 1.3896241e-10 -> 138.962p."""
    if value == 0:
        return "0"
    for exponent, prefix in ((-15, "f"), (-12, "p"), (-9, "n"), (-6, "u"), (-3, "m"), (0, "")):
        if abs(value) < 10 ** (exponent + 3):
            return f"{value / 10**exponent:.{digits}g}{prefix}"
    return f"{value:.{digits}g}"


def read_testbench_output(path: str | Path) -> dict[str, np.ndarray]:
    """The vectors of a testbench's ``wrdata`` file, by lower-case name."""
    lines = Path(path).read_text().split("\n")
    names = [n.lower() for n in lines[0].split()]
    rows = np.array([[float(v) for v in line.split()] for line in lines[1:] if line.strip()])
    return {name: rows[:, k] for k, name in enumerate(names)}
