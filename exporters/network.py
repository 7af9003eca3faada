"""The network model: what the layer handlers make of a Keras model.

A :class:`Network` is a list of operations in an order where each reads
signals already computed, in software units (one unit is the unit current
on silicon). It holds plain numbers, no Keras objects and no circuit: the
transistor lowering (:mod:`exporters.lower`) and the behavioral writer
(:mod:`exporters.writers.behavioral`) both start from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exporters.errors import ExportError


@dataclass(frozen=True)
class Affine:
    """``outputs = inputs @ kernel + bias`` (a Dense layer without activation)."""

    name: str
    source: str
    kernel: np.ndarray  # (inputs, outputs)
    bias: np.ndarray  # (outputs,)


@dataclass(frozen=True)
class Relu:
    name: str
    source: str


@dataclass(frozen=True)
class Add:
    name: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Memory:
    """FQ-BMRU units: candidate ``inputs @ kernel + bias``; a unit switches on
    above ``beta_high``, off below ``beta_low``, and puts out ``alpha`` when on;
    it is held off for its first ``start_delay`` frames."""

    name: str
    source: str
    kernel: np.ndarray
    bias: np.ndarray
    beta_low: np.ndarray
    beta_high: np.ndarray
    alpha: np.ndarray
    start_delay: int = 0


Operation = Affine | Relu | Add | Memory


@dataclass
class Network:
    """Operations in evaluation order; ``input`` names the network input
    (``n_inputs`` values), ``output`` the Affine whose outputs are the logits."""

    input: str
    n_inputs: int
    operations: list[Operation]
    output: str

    def __post_init__(self):
        self.validate()

    def operation(self, name: str) -> Operation:
        return next(op for op in self.operations if op.name == name)

    def start_delays(self) -> list[int]:
        """Each memory layer's ``start_delay``, in evaluation order."""
        return [op.start_delay for op in self.operations if isinstance(op, Memory)]

    def validate(self) -> None:
        """Refuse what no circuit can compute: non-finite parameters,
        thresholds out of order, negative amplitudes, a non-Affine readout."""
        for op in self.operations:
            for key in ("kernel", "bias", "beta_low", "beta_high", "alpha"):
                values = getattr(op, key, None)
                if values is None:
                    continue
                bad = ~np.isfinite(values)
                if bad.any():
                    where = tuple(int(i) for i in np.argwhere(bad)[0])
                    raise ExportError(
                        f"layer {op.name!r}: {key}{list(where)} is {values[where]}; "
                        f"{int(bad.sum())} of its {values.size} values are not finite "
                        "(a diverged training?): retrain or fix the weights before exporting"
                    )
            if isinstance(op, Memory):
                if (op.alpha < 0).any():
                    raise ExportError(
                        f"layer {op.name!r}: alpha {op.alpha.min():g} < 0; a cell's "
                        "output current cannot be negative"
                    )
                if (op.beta_low > op.beta_high).any():
                    raise ExportError(
                        f"layer {op.name!r}: beta_low > beta_high for some unit; "
                        "its hysteresis width would be a negative current"
                    )
        if not isinstance(self.operation(self.output), Affine):
            raise ExportError(
                f"the model's output {self.output!r} is not a Dense layer: the circuit "
                "reads its logits from the readout mirrors of a final Dense layer"
            )

    def build(self, builder, inputs) -> dict:
        """Hand each operation, in order, to ``builder``'s ``affine(op,
        signal, readout)``, ``relu(op, signal)``, ``add(op, signals)`` or
        ``memory(op, signal)``, with the signals it reads (``inputs`` for the
        network input); every operation's signal by name."""
        signals = {self.input: inputs}
        for op in self.operations:
            if isinstance(op, Affine):
                signals[op.name] = builder.affine(op, signals[op.source], op.name == self.output)
            elif isinstance(op, Relu):
                signals[op.name] = builder.relu(op, signals[op.source])
            elif isinstance(op, Add):
                signals[op.name] = builder.add(op, [signals[s] for s in op.sources])
            else:
                signals[op.name] = builder.memory(op, signals[op.source])
        return signals

    def memory_layers(self) -> list[str]:
        return [op.name for op in self.operations if isinstance(op, Memory)]
