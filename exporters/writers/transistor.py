"""The transistor-level writer: a :class:`~exporters.circuit.Circuit` as a
hierarchical SPICE deck. The subcircuits are text; the top level (supplies,
one instance per block, bias sources, probes) is built with SKiDL."""

from __future__ import annotations

from exporters.cells import RESET_NET, RESET_SECONDS, reset_waveform
from exporters.circuit import SUPPLIES, Capacitor, Circuit, Device, Instance, Subcircuit
from exporters.deck import CircuitExport, engineering
from exporters.pdk import ProcessModels
from exporters.writers import skidl_netlist as spice

#: How instance parameters are written.
_PARAM_FORMATS = {"delvto": "{:.4e}", "mulu0": "{:.5f}"}


def element_line(element, models: ProcessModels) -> str:
    if isinstance(element, Instance):
        return f"{element.name} {' '.join(element.nodes)} {element.subcircuit}"
    if isinstance(element, Capacitor):
        return f"{element.name} {element.plus} {element.minus} {element.farads:.4g}"
    assert isinstance(element, Device)
    model = models.nmos if element.kind == "n" else models.pmos
    size = (
        "w={w} l={l}" if element.width is None else f"w={element.width:.6g} l={element.length:.6g}"
    )
    line = f"{element.name} {element.drain} {element.gate} {element.source} {element.bulk} "
    line += f"{model} {size}" + (f" m={element.m}" if element.m > 1 else "")
    for key, value in element.params:
        line += f" {key}={_PARAM_FORMATS.get(key, '{:.6g}').format(value)}"
    return line


def subcircuit_text(sub: Subcircuit, models: ProcessModels) -> str:
    header = f".subckt {sub.name} {' '.join(sub.ports)}"
    if sub.sized:
        header += f" w={models.width:.3g} l={models.length:.3g}"
    lines = [header, *(element_line(e, models) for e in sub.elements), f".ends {sub.name}"]
    return "\n".join(lines)


def library_text(circuit: Circuit, models: ProcessModels) -> str:
    """The ``.subckt`` definitions: library cells, then one per block."""
    header = "* bmru-keras cell library (generated; see exporters/cells.py)"
    cells = "\n".join([header, *(subcircuit_text(s, models) for s in circuit.library), ""])
    return cells + "\n".join(subcircuit_text(b, models) for b in circuit.blocks) + "\n"


def top_level(circuit: Circuit, library: str, vdd: float) -> str:
    """The top level: supplies, block instances, bias sources, 0-V probes."""
    with spice.top_level(library) as (sk, top, path):
        with top:
            nets = {"0": sk.Net("0")}

            def net(name):
                if name not in nets:
                    nets[name] = sk.Net(name)
                return nets[name]

            for supply in SUPPLIES.values():
                sk.V(ref=f"DD_{supply}", dc_value=vdd)["p", "n"] += net(supply), net("0")
            if circuit.reset:  # high from power-up for RESET_SECONDS, then low
                # One list in a list: SKiDL reads a bare list as one value per part copy.
                points = [reset_waveform(RESET_SECONDS, vdd)]
                sk.PWLV(ref="RST", values=points)["p", "n"] += net(RESET_NET), net("0")
            for block in circuit.blocks:
                part = sk.Part(path.name, block.name, ref=f"X{block.name}")
                for port in block.ports[:-2]:
                    part[port] += net(port)
                part["vdd"] += net(SUPPLIES[block.supply])
                part["gnd"] += net("0")
            for source in circuit.sources:
                sk.I(ref=source.name, dc_value=f"{{{source.name.lower()}}}")["p", "n"] += (
                    net("vdd_bias"),
                    net(source.node),
                )
            for probes in circuit.cell_probes.values():
                for port in (p for cell in probes for p in cell if p is not None):
                    sk.V(ref=port, dc_value=0)["p", "n"] += net("vdd_cell"), net(port)
            for pairs in circuit.dense_probes.values():
                for port in (p for pair in pairs for p in pair if p is not None):
                    sk.V(ref=port, dc_value=0)["p", "n"] += net("vdd_ff"), net(port)
            for j, pair in enumerate(circuit.readout):
                for sign, node in zip("PN", pair, strict=True):
                    if node is not None:
                        sk.V(ref=f"{sign}{j}", dc_value=0)["p", "n"] += net("vdd_ff"), net(node)
        title, *body = str(spice.netlist(sk, top, path)).splitlines()
    return "\n".join([title, *bias_parameters(circuit), *body]) + "\n"


def bias_parameters(circuit: Circuit) -> list[str]:
    """A ``.param`` per bias source (engineering notation, 6 digits), with
    one comment per memory cell giving its software parameters."""
    lines = ["* bias currents (also in bias_table.csv)"]
    unit = next((s.amperes for s in circuit.sources if s.label == "I_unit"), None)
    cells: dict[tuple, dict] = {}
    for source in circuit.sources:
        cells.setdefault((source.block, source.unit), {})[source.label] = source.amperes
    for (block, unit_index), currents in cells.items():
        if unit is not None and "I_thresh" in currents:
            high = currents["I_thresh"] / unit
            low = high - currents["I_width"] / unit
            alpha = currents["I_gain"] / unit
            lines.append(
                f"* {block} unit {unit_index}: beta_low {low:.4g}, beta_high {high:.4g}, "
                f"alpha {alpha:.4g} (units of I_unit)"
            )
        for source in circuit.sources:
            if (source.block, source.unit) == (block, unit_index):
                lines.append(f".param {source.name.lower()}={engineering(source.amperes)}")
    return lines


def write_transistor(
    circuit: Circuit,
    models: ProcessModels,
    vdd: float,
    unit_current: float,
    top: str | None = None,
) -> CircuitExport:
    """The deck of ``circuit`` in ``models`` at ``vdd``. ``top``: a top
    level already written for a circuit of the same blocks and ports (a
    mismatched copy changes only device parameters)."""
    library = library_text(circuit, models)

    def probe(port):
        return None if port is None else f"v{port}"

    return CircuitExport(
        netlist=top if top is not None else top_level(circuit, library, vdd),
        library=library,
        models=models,
        vdd=vdd,
        unit_current=unit_current,
        inputs=circuit.inputs,
        probes=[
            (f"vp{j}" if p else None, f"vn{j}" if n else None)
            for j, (p, n) in enumerate(circuit.readout)
        ],
        states=circuit.states,
        bias_table=circuit.bias_table(),
        weights=circuit.weights,
        transistors=circuit.transistors(),
        area=circuit.area((models.width, models.length), models.capacitor_density),
        quantized_weights=circuit.quantized,
        cell_probes={
            layer: [tuple(probe(p) for p in cell) for cell in cells]
            for layer, cells in circuit.cell_probes.items()
        },
        dense_probes={
            layer: [tuple(probe(p) for p in pair) for pair in pairs]
            for layer, pairs in circuit.dense_probes.items()
        },
        bias_sources=circuit.sources,
        held_resets=circuit.held_resets,
        circuit=circuit,
    )
