"""The behavioral writer: a :class:`~exporters.network.Network` with ideal
current-mode elements.

Every signal is a current ``value * I_unit`` into a node that holds an ideal
transimpedance ``1 / I_unit`` to ground, so the node's voltage is the value in
software units. A weight is a voltage-controlled current source of
transconductance ``w * I_unit`` (an ideal mirror of the realized ratio, sign
included); a bias is a current source; a ReLU is ``I_unit * max(v, 0)``; a
memory unit is the subcircuit ``fqbmru_ideal``: a state node that settles to
0 or ``vdd`` in ``tau`` (1 % of a frame by default) and switches up when the
candidate exceeds ``beta_high``, down when it falls below ``beta_low``; its
output is ``alpha * I_unit`` when on; a layer with a ``start_delay`` has its
units' reset port on its own reset net, held by each clip's stimulus as at
transistor level (:func:`exporters.cells.reset_net`). The readout sums into 0-V sources
``VP<k>``, as at transistor level.

The weights are the realized mirror ratios of the transistor level (the same
:class:`~exporters.blocks.Sizing`), so a behavioral run checks the mapping,
the quantization and the time discretization in seconds instead of minutes,
without device effects, and reports no power.
"""

from __future__ import annotations

import numpy as np

from exporters.blocks import Sizing, quantize, weight_row
from exporters.cells import CELL_BIASES, held_resets, reset_net
from exporters.deck import CircuitExport
from exporters.network import Add, Affine, Memory, Network, Relu
from exporters.trims import BiasDac


def cell_subcircuit(tau: float, sharpness: float) -> str:
    """The ideal FQ-BMRU unit: ports candidate ``c``, state ``s``, output
    ``o``, reset ``r``.

    ``C ds/dt = g (vdd * on * (1 - r / vdd) - s)`` with ``on = H(c - thr)``,
    ``thr = hi`` when off and ``lo`` when on (both smooth steps of width
    ``sharpness`` units): a reset at the supply holds the state at 0.
    """
    on_now = "0.5*(1+tanh(20*(v(s)/vdd-0.5)))"
    threshold = f"(hi-(hi-lo)*{on_now})"
    switch = f"0.5*(1+tanh((v(c)-{threshold})/{sharpness:g}))"
    return "\n".join(
        [
            ".subckt fqbmru_ideal c s o r hi=1 lo=0 alpha=1 iu=1e-9 vdd=1",
            f"Bs 0 s I=1e-9*(vdd*{switch}*(1-v(r)/vdd)-v(s))",
            f"Cs s 0 {tau * 1e-9:g}",
            "Bo 0 o I=iu*alpha*v(s)/vdd",
            "Ro o 0 {1/iu}",
            ".ends fqbmru_ideal",
        ]
    )


class _Writer:
    def __init__(self, unit_current: float, sizing: Sizing, vdd: float, dac: BiasDac):
        self.unit_current = unit_current
        self.sizing = sizing
        self.dac = dac
        self.vdd = vdd
        self.lines: list[str] = []
        self.probes: list[tuple[str, None]] = []
        self.states: dict[str, list[str]] = {}
        self.bias_table: list[dict] = []
        self.weights: list[dict] = []
        self.quantized: dict[str, list[np.ndarray]] = {}

    def node(self, name: str) -> str:
        self.lines.append(f"R_{name} {name} 0 {1 / self.unit_current:.6g}")
        return name

    def affine_into(self, name, source, kernel, bias_q, outputs) -> None:
        """``bias_q``: the bias as realized (bias DACs or mirrors)."""
        kernel_q = quantize(kernel, self.sizing)
        self.quantized[name] = [kernel_q, bias_q]
        for j, out in enumerate(outputs):
            for ratio in (abs(w) for w in kernel[:, j] if w != 0):
                self.weights.append(weight_row(name, ratio, self.sizing.mirror(ratio), self.sizing))
            for i, net in enumerate(source):
                if kernel_q[i, j] != 0:
                    gain = kernel_q[i, j] * self.unit_current
                    self.lines.append(f"G_{name}_{i}_{j} 0 {out} {net} 0 {gain:.6g}")
            if bias_q[j] != 0:
                amperes = bias_q[j] * self.unit_current
                self.lines.append(f"I_{name}_b{j} 0 {out} DC {amperes:.6g}")

    def affine(self, op: Affine, source, readout: bool):
        bias = op.bias
        bias = self.dac.set(np.maximum(bias, 0), op.name) - self.dac.set(np.maximum(-bias, 0))
        if readout:
            outputs = [f"lg_{op.name}_{j}" for j in range(op.kernel.shape[1])]
            for j, out in enumerate(outputs):
                self.lines.append(f"VP{j} {out} 0 DC 0")
                self.probes.append((f"vp{j}", None))
            self.affine_into(op.name, source, op.kernel, bias, outputs)
            return []
        outputs = [self.node(f"{op.name}_{j}") for j in range(op.kernel.shape[1])]
        self.affine_into(op.name, source, op.kernel, bias, outputs)
        return outputs

    def relu(self, op: Relu, source):
        out = []
        for j, net in enumerate(source):
            node = self.node(f"{op.name}_{j}")
            self.lines.append(f"B_{op.name}_{j} 0 {node} I={self.unit_current:.6g}*max(v({net}),0)")
            out.append(node)
        return out

    def add(self, op: Add, sources):
        out = []
        for j, components in enumerate(zip(*sources, strict=True)):
            node = self.node(f"{op.name}_{j}")
            for k, net in enumerate(components):
                self.lines.append(f"G_{op.name}_{k}_{j} 0 {node} {net} 0 {self.unit_current:.6g}")
            out.append(node)
        return out

    def memory(self, op: Memory, source):
        name = op.name
        reset = reset_net(op.start_delay) if op.start_delay else "0"  # "0": never reset
        candidates = [self.node(f"c_{name}_{u}") for u in range(op.kernel.shape[1])]
        self.affine_into(name, source, op.kernel, quantize(op.bias, self.sizing), candidates)
        out, states = [], []
        for u, candidate in enumerate(candidates):
            high, low, alpha = (float(v[u]) for v in (op.beta_high, op.beta_low, op.alpha))
            state, output = f"s_{name}_{u}", f"{name}_{u}"
            self.lines.append(
                f"X_{name}_{u} {candidate} {state} {output} {reset} fqbmru_ideal "
                f"hi={high:.6g} lo={low:.6g} alpha={alpha:.6g} "
                f"iu={self.unit_current:.6g} vdd={self.vdd:g}"
            )
            self.lines.append(f".ic v({state})=0")
            for (_, label), units in zip(CELL_BIASES, (high, high - low, alpha), strict=True):
                amperes = units * self.unit_current
                self.bias_table.append(
                    {"block": name, "unit": u, "name": label, "amperes": amperes}
                )
            out.append(output)
            states.append(state)
        self.states[name] = states
        return out


def write_behavioral(
    network: Network, unit_current: float, vdd: float, sizing: Sizing, dac: BiasDac
) -> CircuitExport:
    """The ideal current-mode deck of ``network`` (see the module)."""
    writer = _Writer(unit_current, sizing, vdd, dac)
    inputs = [writer.node(f"in_{f}") for f in range(network.n_inputs)]
    network.build(writer, inputs)
    # Ideal elements draw nothing from the supplies (they are there for the
    # deck's interface). Currents are pA-nA: the default abstol (1 pA) would
    # be too coarse.
    supplies = [f"VDD_{s} {s} 0 DC {vdd:g}" for s in ("vdd_cell", "vdd_ff", "vdd_bias")]
    netlist = "\n".join(
        ["* behavioral top level", ".option abstol=1e-15 reltol=1e-4", *supplies, *writer.lines]
    )
    return CircuitExport(
        netlist=netlist,
        library=cell_subcircuit(tau=1e-4, sharpness=1e-3) + "\n",
        models=None,
        vdd=vdd,
        unit_current=unit_current,
        inputs=inputs,
        probes=writer.probes,
        states=writer.states,
        bias_table=writer.bias_table,
        weights=writer.weights,
        transistors={},
        quantized_weights=writer.quantized,
        held_resets=held_resets(network.start_delays()),
        level="behavioral",
    )
