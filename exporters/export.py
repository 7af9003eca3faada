"""``export_to_circuit``: walk a trained Keras model and build its circuit.

The walker visits the layers of a functional model in order and dispatches
each to the handler registered for its class (:mod:`exporters.registry`); a
layer without a handler is an error naming it. Handlers call the
:class:`Builder`, which writes one subcircuit per block
(:mod:`exporters.blocks`), keeps the bias table, the realized mirror ratios
and the transistor count, and finally wires the top level with SKiDL.
"""

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

import exporters.handlers  # noqa: F401  (registers the handlers)
from exporters import spice
from exporters.blocks import Block, Sizing, p_to_n, sum_node
from exporters.cells import OUTPUT_CAPACITANCE, TRANSISTORS, cell_library
from exporters.errors import ExportError
from exporters.mapping import CELL_BIASES
from exporters.pdk import ProcessModels, gf180mcu
from exporters.registry import handler_for

SUPPLIES = {"cell": "vdd_cell", "ff": "vdd_ff", "bias": "vdd_bias"}


@dataclass
class CircuitExport:
    """The exported circuit and everything a designer needs with it."""

    netlist: str  # the top level (SKiDL), without input sources
    library: str  # the .subckt definitions
    models: ProcessModels | None  # None at the behavioral level
    vdd: float
    unit_current: float
    inputs: list[str]  # input n-nodes, one per feature
    probes: list[tuple[str, str | None]]  # readout (pos, neg) probe sources
    states: dict[str, list[str | None]]  # memory layer -> cells' v0 nodes (None: omitted)
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

    @property
    def transistor_count(self) -> int:
        return sum(self.transistors.values())

    def fingerprint(self) -> str:
        """A hash of the complete deck: equal exports, equal fingerprints."""
        return hashlib.sha256(self.spice().encode()).hexdigest()

    def spice(self, extra_lines: list[str] = ()) -> str:
        """A complete deck: models, the library, the top level, extra lines."""
        body = [line for line in self.netlist.splitlines() if not line.startswith(".include")]
        return "\n".join(
            [
                "* bmru-keras export",
                *(self.models.spice_lines() if self.models else []),
                self.library,
                *body[1:],
                *extra_lines,
                ".end",
                "",
            ]
        )

    def write(self, directory: str | Path) -> Path:
        """Write the netlist, the library, the bias table (CSV, JSON), the
        weight report and a README for a circuit designer."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / "cells.lib").write_text(self.library)
        inputs = [f"I_{net} vdd_bias {net} 0" for net in self.inputs]
        (out / "network.spice").write_text(self.spice(inputs))
        (out / "bias_table.json").write_text(json.dumps(self.bias_table, indent=1))
        with open(out / "bias_table.csv", "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(self.bias_table[0]))
            writer.writeheader()
            writer.writerows(self.bias_table)
        (out / "weights.json").write_text(json.dumps(self.weights, indent=1))
        (out / "README.md").write_text(self.readme())
        return out

    def readme(self) -> str:
        if self.models is None:
            devices = "Ideal current-mode elements (level 'behavioral'): no devices."
        else:
            devices = (
                f"Devices: `{self.models.nmos}` / `{self.models.pmos}`, unit size "
                f"{self.models.width * 1e6:g} um / {self.models.length * 1e6:g} um."
            )
            capacitor = re.search(r"^C1 out vdd (\S+)$", self.library, flags=re.M)
            if capacitor:
                devices += (
                    f" Each memory cell also has a {capacitor.group(1)} F output "
                    "capacitor `C1` (a MIM capacitor on silicon; simulated ideal)."
                )
        counts = "\n".join(f"| {k} | {v} |" for k, v in self.transistors.items())
        return f"""# Exported FQ-BMRU network

- `network.spice`: the netlist (models, `.subckt` library, top level). Input
  current sources `I_<net>` are DC 0 placeholders: drive each with the
  feature current (feature value x {self.unit_current:g} A).
- `cells.lib`: the subcircuits alone. `bias_table.csv/json`: every bias
  current (memory cells: I_thresh, I_width, I_gain; the unit reference).
  `weights.json`: each mirror's requested and realized ratio and width.
- Supplies: `vdd_cell` (memory cells), `vdd_ff` (feed-forward blocks),
  `vdd_bias` (bias references and inputs, not part of the power budget),
  all {self.vdd} V. {devices}
- Readout: the current through each `VP_*` source (positive part) minus its
  `VN_*` partner is the class logit x {self.unit_current:g} A.

| block | transistors |
|---|---|
{counts}
| total | {self.transistor_count} |
"""


class Builder:
    """Collects blocks while the walker visits the layers."""

    def __init__(
        self,
        model,
        models: ProcessModels | None,
        unit_current: float,
        sizing: Sizing,
        gains: dict[str, np.ndarray] | None = None,
        offsets: dict[str, np.ndarray] | None = None,
    ):
        self.model = model
        self.gains = gains or {}
        self.offsets = offsets or {}
        self.models = models
        self.unit_current = unit_current
        self.sizing = sizing
        self.blocks: list[tuple[Block, str]] = []  # (block, supply)
        self.sources: list[tuple[str, str, float]] = []  # (name, net, amperes) from vdd_bias
        self.probes: list[tuple[str, str | None]] = []
        self.cell_probes: dict[str, list[tuple[str | None, ...]]] = {}
        self.dense_probes: dict[str, list[tuple[str | None, str | None]]] = {}
        self.states: dict[str, list[str]] = {}
        self.bias_table: list[dict] = []
        self.weights: list[dict] = []
        self.quantized: dict[str, list[np.ndarray]] = {}
        self._unit_reference = None

    # -- helpers -------------------------------------------------------------
    def unsupported(self, layer, what: str) -> ExportError:
        return ExportError(
            f"layer {layer.name!r} ({type(layer).__name__}) cannot be exported: "
            f"{what} has no circuit mapping"
        )

    def is_output(self, layer) -> bool:
        return any(layer.output is out for out in self.model.outputs)

    def block(self, name: str, kind: str, supply: str = "ff") -> Block:
        block = Block(name=f"{kind}_{name}", kind=kind, ports=[])
        self.blocks.append((block, supply))
        return block

    def port(self, block: Block, net: str) -> str:
        if net not in block.ports:
            block.ports.append(net)
        return net

    def unit_reference(self) -> str:
        """The n-node of the unit current (for biases)."""
        if self._unit_reference is None:
            block = self.block("unit", "bias", "bias")
            net = self.port(block, "iref_unit")
            block.mos("n", net, net, "gnd", self.models)
            self.sources.append(("IB_unit", net, self.unit_current))
            self.bias_table.append(
                {
                    "block": "reference",
                    "unit": "",
                    "name": "I_unit",
                    "amperes": self.unit_current,
                }
            )
            self._unit_reference = net
        return self._unit_reference

    def _terms(self, signal, weights: np.ndarray, bias: float, negative: bool):
        """Terms of one summing node: x+ w>0 and x- w<0 (or the mirror image)."""
        terms = []
        for (pos, neg), w in zip(signal, weights, strict=True):
            if w == 0:
                continue
            same, other = (pos, neg) if (w > 0) != negative else (neg, pos)
            if same is not None:
                terms.append((same, abs(w)))
        if (bias > 0) != negative and bias != 0:
            terms.append((self.unit_reference(), abs(bias)))
        return terms

    def _record(self, layer: str, terms, mirrors):
        for (_, ratio), mirror in zip(terms, mirrors, strict=True):
            realized = 0.0 if mirror is None else self.sizing.realized(mirror)
            self.weights.append(
                {
                    "layer": layer,
                    "requested": ratio,
                    "realized": realized,
                    "relative_error": realized / ratio - 1,
                    "width_um": None if mirror is None else mirror.width * 1e6,
                    "length_um": None if mirror is None else mirror.length * 1e6,
                    "devices": 0 if mirror is None else mirror.m * mirror.series,
                    "series": 0 if mirror is None else mirror.series,
                }
            )

    def quantize(self, values: np.ndarray) -> np.ndarray:
        """The values the mirrors realize (sign kept)."""
        out = np.zeros_like(values)
        for index, value in np.ndenumerate(values):
            mirror = self.sizing.mirror(value) if value != 0 else None
            out[index] = 0.0 if mirror is None else np.sign(value) * self.sizing.realized(mirror)
        return out

    def _sums(self, block: Block, name: str, signal, kernel, bias):
        """For each output: the positive and negative summing p-nodes, each
        with the port its diode draws from (a 0-V probe to the supply)."""
        for pair in signal:
            for net in pair:
                if net is not None:
                    self.port(block, net)
        sums = []
        for j in range(kernel.shape[1]):
            pair = []
            for negative in (False, True):
                terms = self._terms(signal, kernel[:, j], bias[j], negative)
                if not terms:
                    pair.append(None)
                    continue
                for n_node, _ in terms:
                    self.port(block, n_node)
                source = self.port(block, f"pr_{name}_{j}{'n' if negative else 'p'}")
                node, mirrors = sum_node(block, terms, self.models, self.sizing, source)
                self._record(name, terms, mirrors)
                pair.append((node, source))
            sums.append(pair)
        return sums

    # -- blocks --------------------------------------------------------------
    def inputs(self, n_features: int):
        block = self.block("features", "input", "bias")
        nets = []
        for f in range(n_features):
            net = self.port(block, f"in_{f}")
            block.mos("n", net, net, "gnd", self.models)
            nets.append(net)
        self.input_nets = nets
        return [(net, None) for net in nets]

    def corrected(self, name: str, kernel: np.ndarray, bias: np.ndarray):
        """The weights to build for layer ``name``: for an output with a
        measured gain ``g`` and offset ``o`` (:mod:`exporters.calibrate`), its
        column divided by ``g`` and its bias ``(b - o) / g``, so that the
        circuit's ``g (W' x + b') + o`` is the software's ``W x + b``. Records
        the realized weights the circuit then computes."""
        gain, offset = self.gains.get(name, 1.0), self.offsets.get(name, 0.0)
        kernel, bias = kernel / gain, (bias - offset) / gain
        self.quantized[name] = [self.quantize(kernel) * gain, self.quantize(bias) * gain + offset]
        return kernel, bias

    def affine(self, name: str, signal, kernel, bias, readout: bool = False):
        kernel, bias = self.corrected(name, kernel, bias)
        block = self.block(name, "readout" if readout else "dense")
        sums = self._sums(block, name, signal, kernel, bias)
        probes = [tuple(None if s is None else s[1] for s in pair) for pair in sums]
        if readout:
            self.probes += probes
            return []
        self.dense_probes[name] = probes
        out = []
        for j, pair in enumerate(sums):
            out.append(
                tuple(
                    None
                    if s is None
                    else p_to_n(
                        block,
                        s[0],
                        self.port(block, f"{name}_{j}{'np'[k == 0]}"),
                        self.models,
                    )
                    for k, s in enumerate(pair)
                )
            )
        return out

    def relu(self, name: str, signal):
        block = self.block(name, "relu")
        out = []
        for j, (pos, neg) in enumerate(signal):
            if pos is None:  # never positive: constant 0
                out.append((None, None))
                continue
            if neg is None:  # already non-negative
                out.append((pos, None))
                continue
            node, _ = sum_node(block, [(self.port(block, pos), 1.0)], self.models, self.sizing)
            result = self.port(block, f"{name}_{j}")
            block.mos("p", result, node, "vdd", self.models)
            block.mos("n", result, self.port(block, neg), "gnd", self.models)
            block.mos("n", result, result, "gnd", self.models)
            out.append((result, None))
        return out

    def add(self, name: str, signals):
        block = self.block(name, "add")
        out = []
        for j, components in enumerate(zip(*signals, strict=True)):
            pair = []
            for k in range(2):
                nets = [c[k] for c in components if c[k] is not None]
                if len(nets) <= 1:
                    pair.append(nets[0] if nets else None)
                    continue
                node, _ = sum_node(
                    block,
                    [(self.port(block, n), 1.0) for n in nets],
                    self.models,
                    self.sizing,
                )
                pair.append(
                    p_to_n(
                        block,
                        node,
                        self.port(block, f"{name}_{j}{'pn'[k]}"),
                        self.models,
                    )
                )
            out.append(tuple(pair))
        return out

    def memory(self, name, signal, kernel, bias, currents):
        """FQ-BMRU units; ``currents``: their :class:`CellCurrents`."""
        kernel, bias = self.corrected(name, kernel, bias)
        block = self.block(name, "memory", "cell")
        sums = self._sums(block, name, signal, kernel, bias)
        out, states = [], []
        self.cell_probes[name] = []
        for u, (pos, neg) in enumerate(sums):
            if pos is None:
                # No positive input: the unit never switches on, in software as
                # in hardware. No cell; its output is a constant 0.
                out.append((None, None))
                states.append(None)
                self.cell_probes[name].append((None, None, None))
                self.bias_table.append(
                    {
                        "block": name,
                        "unit": u,
                        "name": "omitted (never on)",
                        "amperes": 0.0,
                    }
                )
                continue
            v0 = self.port(block, f"v0_{name}_{u}")
            if neg is not None:
                n_node = p_to_n(block, neg[0], block.net("cn"), self.models)
                block.mos("n", v0, n_node, "gnd", self.models)
            for key, label, field_name in CELL_BIASES:
                amperes = getattr(currents[u], field_name)
                net = self.port(block, f"{key}_{name}_{u}")
                block.mos("n", net, net, "gnd", self.models)
                self.sources.append((f"IB_{key}_{name}_{u}", net, float(amperes)))
                self.bias_table.append(
                    {"block": name, "unit": u, "name": label, "amperes": float(amperes)}
                )
            cell_out = block.net("co")
            block.instance(
                f"X{u} {pos[0]} {v0} th_{name}_{u} wd_{name}_{u} gn_{name}_{u} {cell_out} "
                "vdd gnd fqbmru_cell",
                TRANSISTORS["fqbmru_cell"],
            )
            output_probe = self.port(block, f"po_{name}_{u}")
            out.append(
                (
                    p_to_n(
                        block,
                        cell_out,
                        self.port(block, f"{name}_{u}"),
                        self.models,
                        output_probe,
                    ),
                    None,
                )
            )
            states.append(v0)
            self.cell_probes[name].append((pos[1], None if neg is None else neg[1], output_probe))
        self.states[name] = states
        return out


def _walk(model: keras.Model, builder: Builder) -> None:
    if not isinstance(model, keras.Model) or not hasattr(model, "inputs") or len(model.inputs) != 1:
        raise ExportError(
            "export_to_circuit takes a functional or Sequential Keras model with one input"
        )
    if len(model.outputs) != 1:
        raise ExportError("export_to_circuit takes a model with one output (the class logits)")
    signals = {id(model.inputs[0]): builder.inputs(model.inputs[0].shape[-1])}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        handler = handler_for(layer)
        if handler is None:
            raise ExportError(
                f"layer {layer.name!r} ({type(layer).__name__}) has no circuit handler. "
                "Register one with @exporters.registry.register_handler("
                f"{type(layer).__name__}) in a module of exporters/handlers/."
            )
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]
        try:
            signal = [signals[id(tensor)] for tensor in inputs]
        except KeyError as error:
            raise ExportError(
                f"layer {layer.name!r} reads a tensor the walker has not seen"
            ) from error
        signals[id(layer.output)] = handler(builder, layer, signal)


def export_to_circuit(
    model: keras.Model,
    unit_current: float = 1e-9,
    vdd: float = 1.8,
    level: str = "transistor",
    models: ProcessModels | None = None,
    sizing: Sizing | None = None,
    gains: dict[str, np.ndarray] | None = None,
    offsets: dict[str, np.ndarray] | None = None,
    output_capacitance: float = OUTPUT_CAPACITANCE,
) -> CircuitExport:
    """Export a trained model (the KWS topology: Dense, ReLU, FQBMRU, Add) to
    a circuit. See ``docs/circuits.md`` for the mapping.

    Args:
        unit_current: amperes per software unit.
        vdd: the supply voltage.
        level: ``"transistor"`` (MOSFETs of ``models``, by default the open
            GF180MCU 180 nm models) or ``"behavioral"`` (ideal current-mode
            elements, :mod:`exporters.behavioral`; no power, fast).
        models: the process models at transistor level.
        sizing: the realizable mirror devices (both levels use its ratios).
            At transistor level a sizing without measured copy ratios gets
            them from ``models`` first (:func:`exporters.mirrors.characterize`,
            one ngspice run, cached); pass a measured one to build other
            corners or supplies with the nominal circuit's devices.
        gains: per layer name, each output's measured hardware / software
            gain; its weights are built divided by it (transistor level, see
            :mod:`exporters.calibrate`).
        offsets: per layer name, each output's measured offset (units,
            after the gain); it is taken off the output's bias.
        output_capacitance: farads on each memory cell's output node (a
            low-pass on the state current it puts out; transistor level; see
            :mod:`exporters.cells`); 0 for none.
    """
    if level not in ("transistor", "behavioral"):
        raise ExportError(f"level={level!r}: choose 'transistor' or 'behavioral'")
    if not 1e-13 <= unit_current <= 1e-7:
        raise ExportError(
            f"unit_current={unit_current:g} A is outside 0.1 pA - 100 nA (subthreshold)"
        )
    if level == "behavioral":
        if models is not None or gains or offsets:
            raise ExportError(
                "level='behavioral' has ideal elements: it takes no models, gains or offsets"
            )
        return _behavioral(model, unit_current, vdd, sizing or Sizing(4e-6, 8e-6))
    models = models or gf180mcu()
    sizing = sizing or Sizing(models.width, models.length)
    if sizing.measured is None:
        from exporters.mirrors import characterize  # it simulates, and the simulator imports us

        sizing = characterize(sizing, models, unit_current, vdd)
    builder = Builder(model, models, unit_current, sizing, gains, offsets)
    _walk(model, builder)
    for block, _ in builder.blocks:
        block.ports += ["vdd", "gnd"]
    library = (
        cell_library(models, output_capacitance)
        + "\n".join(b.text() for b, _ in builder.blocks)
        + "\n"
    )
    with spice.top_level(library) as (sk, circuit, path):
        with circuit:
            nets = {"0": sk.Net("0")}

            def net(name):
                if name not in nets:
                    nets[name] = sk.Net(name)
                return nets[name]

            for supply in SUPPLIES.values():
                sk.V(ref=f"DD_{supply}", dc_value=vdd)["p", "n"] += (
                    net(supply),
                    net("0"),
                )
            for block, supply in builder.blocks:
                part = sk.Part(path.name, block.name)
                for port in block.ports[:-2]:
                    part[port] += net(port)
                part["vdd"] += net(SUPPLIES[supply])
                part["gnd"] += net("0")
            for name, node, amperes in builder.sources:
                sk.I(ref=name, dc_value=amperes)["p", "n"] += net("vdd_bias"), net(node)
            for probes in builder.cell_probes.values():
                for port in (p for cell in probes for p in cell if p is not None):
                    sk.V(ref=port, dc_value=0)["p", "n"] += net("vdd_cell"), net(port)
            for pairs in builder.dense_probes.values():
                for port in (p for pair in pairs for p in pair if p is not None):
                    sk.V(ref=port, dc_value=0)["p", "n"] += net("vdd_ff"), net(port)
            for j, pair in enumerate(builder.probes):
                for sign, node in zip("PN", pair, strict=True):
                    if node is not None:
                        sk.V(ref=f"{sign}{j}", dc_value=0)["p", "n"] += (
                            net("vdd_ff"),
                            net(node),
                        )
        netlist = str(spice.netlist(sk, circuit, path))
    counts: dict[str, int] = {}
    for block, _ in builder.blocks:
        counts[block.kind] = counts.get(block.kind, 0) + block.transistors
    return CircuitExport(
        netlist=netlist,
        library=library,
        models=models,
        vdd=vdd,
        unit_current=unit_current,
        inputs=builder.input_nets,
        probes=[
            (f"vp{j}" if p else None, f"vn{j}" if n else None)
            for j, (p, n) in enumerate(builder.probes)
        ],
        states=builder.states,
        bias_table=builder.bias_table,
        weights=builder.weights,
        transistors=counts,
        quantized_weights=builder.quantized,
        cell_probes={
            layer: [tuple(None if p is None else f"v{p}" for p in cell) for cell in cells]
            for layer, cells in builder.cell_probes.items()
        },
        dense_probes={
            layer: [tuple(None if p is None else f"v{p}" for p in pair) for pair in pairs]
            for layer, pairs in builder.dense_probes.items()
        },
    )


def _behavioral(model, unit_current: float, vdd: float, sizing: Sizing) -> CircuitExport:
    from exporters.behavioral import BehavioralBuilder, cell_subcircuit  # it builds on Builder

    builder = BehavioralBuilder(model, unit_current, sizing, vdd)
    _walk(model, builder)
    return CircuitExport(
        netlist=builder.netlist(),
        library=cell_subcircuit(tau=1e-4, sharpness=1e-3) + "\n",
        models=None,
        vdd=vdd,
        unit_current=unit_current,
        inputs=builder.input_nets,
        probes=builder.probes,
        states=builder.states,
        bias_table=builder.bias_table,
        weights=builder.weights,
        transistors={},
        quantized_weights=builder.quantized,
        level="behavioral",
    )
