"""The behavioral level: the exported network with ideal current-mode elements.

Every signal is a current ``value * I_unit`` into a node that holds an ideal
transimpedance ``1 / I_unit`` to ground, so the node's voltage is the value in
software units. A weight is a voltage-controlled current source of
transconductance ``w * I_unit`` (an ideal mirror of the realized ratio, sign
included); a bias is a current source; a ReLU is ``I_unit * max(v, 0)``; a
memory unit is the subcircuit ``fqbmru_ideal``: a state node that settles to
0 or ``vdd`` in ``tau`` (1 % of a frame by default) and switches up when the
candidate exceeds ``beta_high``, down when it falls below ``beta_low``; its
output is ``alpha * I_unit`` when on. The readout sums into 0-V sources
``VP<k>``, as at transistor level.

The weights are the realized mirror ratios of the transistor level (the same
:class:`~exporters.blocks.Sizing`), so a behavioral run checks the mapping,
the quantization and the time discretization in seconds instead of minutes,
without device effects, and reports no power.
"""

from exporters.export import Builder
from exporters.mapping import CELL_BIASES


def cell_subcircuit(tau: float, sharpness: float) -> str:
    """The ideal FQ-BMRU unit: ports candidate ``c``, state ``s``, output ``o``.

    ``C ds/dt = g (vdd * on - s)`` with ``on = H(c - thr)``, ``thr = hi`` when
    off and ``lo`` when on (both smooth steps of width ``sharpness`` units).
    """
    on_now = "0.5*(1+tanh(20*(v(s)/vdd-0.5)))"
    threshold = f"(hi-(hi-lo)*{on_now})"
    switch = f"0.5*(1+tanh((v(c)-{threshold})/{sharpness:g}))"
    return "\n".join(
        [
            ".subckt fqbmru_ideal c s o hi=1 lo=0 alpha=1 iu=1e-9 vdd=1",
            f"Bs 0 s I=1e-9*(vdd*{switch}-v(s))",
            f"Cs s 0 {tau * 1e-9:g}",
            "Bo 0 o I=iu*alpha*v(s)/vdd",
            "Ro o 0 {1/iu}",
            ".ends fqbmru_ideal",
        ]
    )


class BehavioralBuilder(Builder):
    """The :class:`Builder` interface the handlers call, writing ideal
    elements instead of transistor blocks."""

    def __init__(self, model, unit_current: float, sizing, vdd: float):
        super().__init__(model, None, unit_current, sizing)
        self.vdd = vdd
        self.lines: list[str] = []

    def _node(self, name: str) -> str:
        self.lines.append(f"R_{name} {name} 0 {1 / self.unit_current:.6g}")
        return name

    def _affine_into(self, name, signal, kernel, bias, outputs) -> None:
        self.corrected(name, kernel, bias)  # no gains here: records the realized weights
        kernel_q, bias_q = self.quantized[name]
        for j, out in enumerate(outputs):
            terms = [(None, abs(w)) for w in (*kernel[:, j], bias[j]) if w != 0]
            self._record(name, terms, [self.sizing.mirror(r) for _, r in terms])
            for i, (net, _) in enumerate(signal):
                if net is not None and kernel_q[i, j] != 0:
                    gain = kernel_q[i, j] * self.unit_current
                    self.lines.append(f"G_{name}_{i}_{j} 0 {out} {net} 0 {gain:.6g}")
            if bias_q[j] != 0:
                amperes = bias_q[j] * self.unit_current
                self.lines.append(f"I_{name}_b{j} 0 {out} DC {amperes:.6g}")

    # The signal of a behavioral node is its voltage: pairs (node, None).
    def inputs(self, n_features: int):
        self.input_nets = [self._node(f"in_{f}") for f in range(n_features)]
        return [(net, None) for net in self.input_nets]

    def affine(self, name: str, signal, kernel, bias, readout: bool = False):
        if readout:
            outputs = [f"lg_{name}_{j}" for j in range(kernel.shape[1])]
            for j, out in enumerate(outputs):
                self.lines.append(f"VP{j} {out} 0 DC 0")
                self.probes.append((f"vp{j}", None))
            self._affine_into(name, signal, kernel, bias, outputs)
            return []
        outputs = [self._node(f"{name}_{j}") for j in range(kernel.shape[1])]
        self._affine_into(name, signal, kernel, bias, outputs)
        return [(out, None) for out in outputs]

    def relu(self, name: str, signal):
        out = []
        for j, (net, _) in enumerate(signal):
            node = self._node(f"{name}_{j}")
            self.lines.append(f"B_{name}_{j} 0 {node} I={self.unit_current:.6g}*max(v({net}),0)")
            out.append((node, None))
        return out

    def add(self, name: str, signals):
        out = []
        for j, components in enumerate(zip(*signals, strict=True)):
            node = self._node(f"{name}_{j}")
            for k, (net, _) in enumerate(components):
                self.lines.append(f"G_{name}_{k}_{j} 0 {node} {net} 0 {self.unit_current:.6g}")
            out.append((node, None))
        return out

    def memory(self, name, signal, kernel, bias, currents):
        candidates = [self._node(f"c_{name}_{u}") for u in range(kernel.shape[1])]
        self._affine_into(name, signal, kernel, bias, candidates)
        out, states = [], []
        for u, (candidate, cell) in enumerate(zip(candidates, currents, strict=True)):
            high = cell.i_thresh / self.unit_current
            low = (cell.i_thresh - cell.i_width) / self.unit_current
            alpha = cell.i_gain / self.unit_current
            state, output = f"s_{name}_{u}", f"{name}_{u}"
            self.lines.append(
                f"X_{name}_{u} {candidate} {state} {output} fqbmru_ideal "
                f"hi={high:.6g} lo={low:.6g} alpha={alpha:.6g} "
                f"iu={self.unit_current:.6g} vdd={self.vdd:g}"
            )
            self.lines.append(f".ic v({state})=0")
            for _, label, field_name in CELL_BIASES:
                amperes = float(getattr(cell, field_name))
                self.bias_table.append(
                    {"block": name, "unit": u, "name": label, "amperes": amperes}
                )
            out.append((output, None))
            states.append(state)
        self.states[name] = states
        return out

    def netlist(self) -> str:
        """The top level: supplies (for the deck's interface; ideal elements
        draw nothing from them) and the elements."""
        supplies = [f"VDD_{s} {s} 0 DC {self.vdd:g}" for s in ("vdd_cell", "vdd_ff", "vdd_bias")]
        # Currents are pA-nA: the default abstol (1 pA) would be too coarse.
        options = [".option abstol=1e-15 reltol=1e-4"]
        return "\n".join(["* behavioral top level", *options, *supplies, *self.lines])
