"""Lowering: a :class:`~exporters.network.Network` to a transistor-level
:class:`~exporters.circuit.Circuit`.

One block per operation. A weight is a mirror (:class:`~exporters.blocks.Sizing`);
each output of an affine layer sums its positive terms into one diode and
its negative terms into another (0-V probes on both), its bias coming from
two programmable bias DACs, one into each (:mod:`exporters.trims`: the knobs
a calibration turns); a hidden one is put out rectified (:class:`Rectified`:
each sum less the other, so that the large sums do not pass through every
mirror after it; ``docs/circuits.md``); an FQ-BMRU unit is the
9-transistor cell (:mod:`exporters.cells`) with ``I_thresh = beta_high I_cell``
(switch up), ``I_width = (beta_high - beta_low) I_cell`` (so it switches down
at ``beta_low I_cell``) and ``I_gain = alpha I_cell``, each from a bias DAC
too, where ``I_cell = cell_ratio I_unit`` (the cell scales its input and
output by the same ratio); a threshold trim
(:class:`~exporters.trims.BiasTrims`) moves ``I_thresh`` and ``I_width``.
"""

from __future__ import annotations

import numpy as np

from exporters.blocks import (
    WIDTHS,
    Mirror,
    Sizing,
    p_to_n,
    quantize,
    subtract,
    sum_node,
    weight_row,
)
from exporters.cells import CELL_BIASES, cell_library, held_resets, reset_net
from exporters.circuit import BiasSource, Block, Circuit, Instance
from exporters.errors import ExportError
from exporters.network import Add, Affine, Memory, Network, Relu
from exporters.trims import BiasDac, BiasTrims

#: The largest bias current a cell may need: above it the devices leave
#: subthreshold, where the mapping (currents proportional to parameters) holds.
MAX_BIAS_CURRENT = 100e-9
#: A mirror of more parallel copies than this is refused (a weight of 1e6
#: units would otherwise give millions of transistors).
MAX_COPIES = 64


class Rectified(tuple):
    """A signal pair of which at most one side carries current: a hidden
    Dense output as ``(max(y, 0), max(-y, 0))``. Its ReLU is its positive
    side, and it passes no common-mode current on."""


class Lowering:
    """Builds the blocks of a circuit, one operation at a time."""

    def __init__(
        self,
        unit: tuple[float, float],
        unit_current: float,
        sizing: Sizing,
        dac: BiasDac,
        trims: BiasTrims | None = None,
        cell_ratio: int = 1,
        reset: bool = False,
    ):
        self.unit = unit  # the unit device (width, length)
        self.unit_current = unit_current
        self.cell_ratio = cell_ratio  # the cells' currents over the unit current
        self.sizing = sizing
        self.dac = dac
        self.trims = trims or BiasTrims()
        self.blocks: list[Block] = []
        self.sources: list[BiasSource] = []
        self.readout: list[tuple[str | None, str | None]] = []
        self.cell_probes: dict[str, list] = {}
        self.dense_probes: dict[str, list] = {}
        self.states: dict[str, list] = {}
        self.omitted: list[tuple[str, int]] = []
        self.weights: list[dict] = []
        self.quantized: dict[str, list[np.ndarray]] = {}
        self._unit_reference = None
        self.reset = reset  # the cells' power-on reset (exporters.cells)
        self.cell_transistors = cell_library(0, cell_ratio, reset=reset)[0].transistors

    def block(self, name: str, kind: str, supply: str = "ff") -> Block:
        block = Block(name=f"{kind}_{name}", ports=[], kind=kind, supply=supply)
        self.blocks.append(block)
        return block

    def unit_reference(self) -> str:
        """The n-node of the unit current (for biases)."""
        if self._unit_reference is None:
            block = self.block("unit", "bias", "bias")
            net = block.port("iref_unit")
            block.mos("n", net, net, "gnd", self.unit)
            self.sources.append(
                BiasSource("IB_unit", net, self.unit_current, "reference", "", "I_unit")
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
            self.weights.append(weight_row(layer, ratio, mirror, self.sizing))

    def _sums(self, block: Block, name: str, signal, kernel, bias, dac=None):
        """Per output column, the (positive, negative) summing nodes with
        their probe ports (None where a side has no terms). ``bias`` is
        mirrored from the unit reference; ``dac`` (outputs, 2), when given,
        puts each output's bias through its two bias DACs instead."""
        for pair in signal:
            for net in pair:
                if net is not None:
                    block.port(net)
        sums = []
        for j in range(kernel.shape[1]):
            pair = []
            for negative in (False, True):
                terms = self._terms(signal, kernel[:, j], bias[j], negative)
                if dac is not None:
                    side = "n" if negative else "p"
                    terms.append((self.bias_dac(block, name, j, side, dac[j, int(negative)]), 1.0))
                if not terms:
                    pair.append(None)
                    continue
                for n_node, _ in terms:
                    block.port(n_node)
                source = block.port(f"pr_{name}_{j}{'n' if negative else 'p'}")
                node, mirrors = sum_node(block, terms, self.unit, self.sizing, source)
                self._record(name, terms, mirrors)
                pair.append((node, source))
            sums.append(pair)
        return sums

    def realize(self, name: str, kernel: np.ndarray, bias: np.ndarray) -> None:
        """Record the weights the circuit computes for layer ``name``: the
        kernel its mirrors realize, the bias its mirrors (memory layers) or
        its bias DACs (Dense layers) put out."""
        largest = float(np.max(np.abs(kernel), initial=0.0))
        widest = self.sizing.copy_ratio(WIDTHS, self.sizing.max_width / self.sizing.unit_width)
        copies = largest / widest
        if copies > MAX_COPIES:
            raise ExportError(
                f"layer {name!r}: a weight of {largest:.3g} units needs {copies:.0f} parallel "
                f"mirror copies (at most {MAX_COPIES}): regularize the training "
                "(kernel_constraint) or raise the unit current and scale the weights down"
            )
        self.quantized[name] = [quantize(kernel, self.sizing), bias]

    def bias_dac(self, block: Block, name: str, j: int, side: str, units: float) -> str:
        """A bias DAC into output ``j``'s ``side`` ("p" or "n") sum: a
        programmable reference into an NMOS diode, the n-node returned."""
        net = block.port(f"bn_{name}_{j}{side}")
        block.mos("n", net, net, "gnd", self.unit)
        label = "I_bias+" if side == "p" else "I_bias-"
        amperes = float(units) * self.unit_current
        self.sources.append(BiasSource(f"IB_b_{name}_{j}{side}", net, amperes, name, j, label))
        return net

    def cell_biases(self, op: Memory) -> np.ndarray:
        """Each cell's (I_thresh, I_width, I_gain) in units, as its bias DACs
        put them out: ``beta_high``, ``beta_high - beta_low``, ``alpha``; a
        trimmed cell is set to switch where the software's ``c`` crosses
        ``beta`` (:meth:`exporters.trims.BiasTrims.switching_points`)."""
        high, low = self.trims.switching_points(op.name, op.beta_high, op.beta_low)
        if not self.trims.trims_cells(op.name):
            what = f"layer {op.name!r} thresholds"
            thresh, width = self.dac.set(high, what), self.dac.set(high - low, what)
        else:
            thresh, width = self.dac.set_trimmed(high), self.dac.set_trimmed(high - low)
        gain_current = self.dac.set(op.alpha, f"layer {op.name!r} alpha")
        return np.stack([thresh, width, gain_current], axis=1)

    # -- operations ----------------------------------------------------------
    def inputs(self, n_features: int):
        block = self.block("features", "input", "bias")
        nets = []
        for f in range(n_features):
            net = block.port(f"in_{f}")
            block.mos("n", net, net, "gnd", self.unit)
            nets.append(net)
        self.input_nets = nets
        return [(net, None) for net in nets]

    def affine(self, op: Affine, signal, readout: bool):
        name = op.name
        nominal = self.dac.set(np.maximum(op.bias, 0), name) - self.dac.set(
            np.maximum(-op.bias, 0), name
        )
        self.realize(name, op.kernel, nominal)
        wanted = nominal + self.trims.biases.get(name, 0.0)
        dac = np.stack([self.dac.set_trimmed(wanted), self.dac.set_trimmed(-wanted)], axis=1)
        block = self.block(name, "readout" if readout else "dense")
        sums = self._sums(block, name, signal, op.kernel, np.zeros(len(op.bias)), dac)
        probes = [tuple(None if s is None else s[1] for s in pair) for pair in sums]
        if readout:
            self.readout += probes
            return []
        self.dense_probes[name] = probes
        out = []
        for j, pair in enumerate(sums):
            copies = [
                None
                if s is None
                else p_to_n(block, s[0], block.port(f"{name}_{j}{'np'[k == 0]}"), self.unit)
                for k, s in enumerate(pair)
            ]
            if None in pair:
                out.append(tuple(copies))
                continue
            # Each side less the other: the large positive and negative sums
            # cancel here, once, not in every mirror after (docs/circuits.md).
            out.append(
                Rectified(
                    subtract(
                        block,
                        pair[k][0],
                        copies[1 - k],
                        block.port(f"{name}_{j}{'pn'[k]}r"),
                        self.unit,
                        f"MR{j}{'pn'[k]}",
                    )
                    for k in range(2)
                )
            )
        return out

    def relu(self, op: Relu, signal):
        block = None
        out = []
        for j, pair in enumerate(signal):
            pos, neg = pair
            if pos is None:  # never positive: constant 0
                out.append((None, None))
                continue
            if neg is None or isinstance(pair, Rectified):  # its positive side is its ReLU
                out.append((pos, None))
                continue
            block = block or self.block(op.name, "relu")
            node, _ = sum_node(block, [(block.port(pos), 1.0)], self.unit, self.sizing)
            out.append(
                (
                    subtract(block, node, block.port(neg), block.port(f"{op.name}_{j}"), self.unit),
                    None,
                )
            )
        return out

    def add(self, op: Add, signals):
        block = self.block(op.name, "add")
        out = []
        for j, components in enumerate(zip(*signals, strict=True)):
            pair = []
            for k in range(2):
                nets = [c[k] for c in components if c[k] is not None]
                if len(nets) <= 1:
                    pair.append(nets[0] if nets else None)
                    continue
                node, _ = sum_node(
                    block, [(block.port(n), 1.0) for n in nets], self.unit, self.sizing
                )
                pair.append(p_to_n(block, node, block.port(f"{op.name}_{j}{'pn'[k]}"), self.unit))
            out.append(tuple(pair))
        return out

    def memory(self, op: Memory, signal):
        name = op.name
        cell_current = self.cell_ratio * self.unit_current
        currents = (
            np.stack([op.beta_high, op.beta_high - op.beta_low, op.alpha], axis=1) * cell_current
        )
        if currents.max(initial=0.0) > MAX_BIAS_CURRENT:
            u, k = np.unravel_index(np.argmax(currents), currents.shape)
            raise ExportError(
                f"layer {name!r} unit {u}: {CELL_BIASES[k][1]} would be {currents[u, k]:.3g} A, "
                f"{currents[u, k] / MAX_BIAS_CURRENT:.0f}x the {MAX_BIAS_CURRENT:g} A up to "
                "which the cell stays in subthreshold: lower the unit current"
            )
        if op.start_delay and not self.reset:
            raise ExportError(
                f"layer {name!r} waits {op.start_delay} frames in reset (start_delay), which "
                "its cells hold through their reset transistor: export with power_on_reset=True"
            )
        rst = reset_net(op.start_delay)
        currents = self.cell_biases(op) * cell_current
        self.realize(name, op.kernel, quantize(op.bias, self.sizing))
        block = self.block(name, "memory", "cell")
        sums = self._sums(block, name, signal, op.kernel, op.bias)
        out, states = [], []
        self.cell_probes[name] = []
        for u, (pos, neg) in enumerate(sums):
            if pos is None:
                # No positive input: the unit never switches on, in software as
                # in hardware. No cell; its output is a constant 0.
                out.append((None, None))
                states.append(None)
                self.cell_probes[name].append((None, None, None))
                self.omitted.append((name, u))
                continue
            v0 = block.port(f"v0_{name}_{u}")
            if neg is not None:  # sunk at v0, scaled as the cell's input (M1)
                n_node = p_to_n(block, neg[0], block.net("cn"), self.unit)
                ratio = self.cell_ratio
                scaled = Mirror(ratio, *self.unit, m=ratio) if ratio > 1 else None
                block.mos("n", v0, n_node, "gnd", self.unit, scaled)
            for k, (key, label) in enumerate(CELL_BIASES):
                net = block.port(f"{key}_{name}_{u}")
                block.mos("n", net, net, "gnd", self.unit)
                self.sources.append(
                    BiasSource(f"IB_{key}_{name}_{u}", net, float(currents[u, k]), name, u, label)
                )
            cell_out = block.net("co")
            block.elements.append(
                Instance(
                    f"X{u}",
                    (pos[0], v0, f"th_{name}_{u}", f"wd_{name}_{u}", f"gn_{name}_{u}", cell_out)
                    + ((block.port(rst),) if self.reset else ())
                    + ("vdd", "gnd"),
                    "fqbmru_cell",
                    self.cell_transistors,
                )
            )
            output_probe = block.port(f"po_{name}_{u}")
            out.append(
                (
                    p_to_n(block, cell_out, block.port(f"{name}_{u}"), self.unit, output_probe),
                    None,
                )
            )
            states.append(v0)
            self.cell_probes[name].append((pos[1], None if neg is None else neg[1], output_probe))
        self.states[name] = states
        return out


def lower(
    network: Network,
    unit: tuple[float, float],
    unit_current: float,
    sizing: Sizing,
    output_capacitance: float,
    dac: BiasDac,
    trims: BiasTrims | None = None,
    cell_ratio: int = 1,
    switch: tuple[float, float] | None = None,
    reset: bool = False,
) -> Circuit:
    """The transistor-level circuit of ``network``: ``unit`` is the unit
    device (width, length), ``sizing`` the realizable mirrors (with measured
    copy ratios, :func:`exporters.mirrors.characterize`), ``dac`` the bias
    references, ``trims`` a chip's calibration (:mod:`exporters.trims`),
    ``cell_ratio`` the memory cells' currents over ``unit_current`` and
    ``switch`` their switches' size and ``reset`` their power-on reset
    (:func:`exporters.cells.cell_library`)."""
    low = Lowering(unit, unit_current, sizing, dac, trims, cell_ratio, reset)
    network.build(low, low.inputs(network.n_inputs))
    for block in low.blocks:
        block.ports += ["vdd", "gnd"]
    return Circuit(
        library=cell_library(output_capacitance, cell_ratio, switch, reset),
        blocks=low.blocks,
        sources=low.sources,
        inputs=low.input_nets,
        readout=low.readout,
        cell_probes=low.cell_probes,
        dense_probes=low.dense_probes,
        states=low.states,
        omitted=low.omitted,
        weights=low.weights,
        quantized=low.quantized,
        reset=reset,
        held_resets=held_resets(network.start_delays()),
    )
