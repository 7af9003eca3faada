"""What can be set on a fabricated chip: its bias currents, and nothing else.

Every bias of an exported circuit (each Dense output's, each memory cell's
threshold, width and gain) comes from a programmable current reference,
modelled as a current DAC (:class:`BiasDac`): a step of ``step`` software
units (1/256 of the unit current by default: 1.4 pA at 350 pA) and
``2**bits - 1`` steps at most (11 bits: about 8 units). The
nominal circuit is programmed with the software's parameters; a calibration
(:func:`exporters.calibrate.calibrate`) reprograms them:

- each output of a Dense layer (hidden or readout) has a two-sided bias DAC
  (one reference into its positive sum, one into its negative sum): its
  bias moves by the measured offset, so a layer whose output reads ``g y + o``
  reads ``g y`` again (its gain, set by mirror ratios, cannot change);
- each memory cell's ``I_thresh`` and ``I_width`` come from bias DACs too:
  a cell whose input reads ``g c + o`` is set to switch at ``g beta + o``
  (up and down), where the software's ``c`` crosses ``beta``, less its
  comparator's own error: where the cell was seen to switch against where
  it was set to (the input probe does not see the comparator's mismatch;
  its state and the probe together do);
- a memory layer whose input carries another layer's cell states may be set
  to reset a guard below that point (:data:`exporters.calibrate.RESET_GUARD`):
  its input dips between frame samples as the upstream cells switch.

Mirror sizes never change after fabrication; a test checks that a
calibrated circuit has the nominal circuit's devices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from exporters.errors import ExportError


@dataclass(frozen=True)
class BiasDac:
    """A programmable bias current: ``code * step`` units, code in
    ``0 .. 2**bits - 1``."""

    step: float = 1 / 256
    bits: int = 11

    @property
    def full_scale(self) -> float:
        return (2**self.bits - 1) * self.step

    def code(self, units: np.ndarray) -> np.ndarray:
        """The nearest codes (clipped to the range) of currents in units."""
        return np.clip(np.rint(np.asarray(units, float) / self.step), 0, 2**self.bits - 1)

    def set(self, units: np.ndarray, what: str = "") -> np.ndarray:
        """The currents the DAC puts out for ``units``; a nominal current
        beyond full scale is an error (say which)."""
        units = np.asarray(units, float)
        if (units > self.full_scale + self.step / 2).any():
            raise ExportError(
                f"{what}: a bias of {units.max():.3g} units is beyond the bias DAC's full scale "
                f"{self.full_scale:.3g} ({self.bits} bits of {self.step:g} units): raise the "
                "unit current's share (a smaller parameter), or use more bits"
            )
        return self.set_trimmed(units)

    def set_trimmed(self, units: np.ndarray) -> np.ndarray:
        """The currents for trimmed settings: clipped to the DAC's range (a
        trim cannot go below 0 or beyond full scale)."""
        return self.code(units) * self.step


@dataclass
class BiasTrims:
    """A chip's calibration: per Dense layer the bias change of each output
    (units), applied to its bias DACs; per memory layer the measured
    ``(gain, offset)`` of each cell's input and each cell's comparator
    error ``(up, down)`` (where it switches less where it was set to, in
    input units), both applied to its threshold DACs; per memory layer a
    reset guard (units): its cells set to switch down that much lower."""

    thresholds: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    biases: dict[str, np.ndarray] = field(default_factory=dict)
    comparators: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    guards: dict[str, float] = field(default_factory=dict)

    def targets(self, layer: str, high, low) -> tuple[np.ndarray, np.ndarray]:
        """Where the software's cells of ``layer``, with thresholds ``high``
        and ``low``, switch, in the units the circuit's input probes read:
        ``g beta + o`` with a threshold trim, ``beta`` without."""
        high, low = np.asarray(high, float), np.asarray(low, float)
        if layer not in self.thresholds:
            return high, low
        gain, offset = (np.asarray(v, float) for v in self.thresholds[layer])
        return gain * high + offset, gain * low + offset

    def switching_points(self, layer: str, high, low) -> tuple[np.ndarray, np.ndarray]:
        """Where the cells are set to switch up and down (their DACs), in
        input-probe units: :meth:`targets` less each cell's comparator error
        ``e``, so that the cell, with its error, switches at the target; its
        down points a further guard lower, if ``layer`` has one."""
        high, low = self.targets(layer, high, low)
        if layer in self.comparators:
            up, down = (np.asarray(v, float) for v in self.comparators[layer])
            high, low = high - up, low - down
        return high, low - self.guards.get(layer, 0.0)

    def trims_cells(self, layer: str) -> bool:
        """Whether the thresholds of ``layer``'s cells are trimmed."""
        return any(layer in part for part in (self.thresholds, self.comparators, self.guards))

    def as_dict(self) -> dict:
        """JSON-ready."""
        return {
            "thresholds": {k: [g.tolist(), o.tolist()] for k, (g, o) in self.thresholds.items()},
            "biases": {k: v.tolist() for k, v in self.biases.items()},
            "comparators": {k: [u.tolist(), d.tolist()] for k, (u, d) in self.comparators.items()},
            "guards": dict(self.guards),
        }

    @classmethod
    def from_dict(cls, values: dict) -> BiasTrims:
        """The trims :meth:`as_dict` wrote (a verification's ``calibration_trims``)."""
        return cls(
            {k: (np.asarray(g), np.asarray(o)) for k, (g, o) in values["thresholds"].items()},
            {k: np.asarray(v) for k, v in values["biases"].items()},
            {  # none in a calibration before comparator trims
                k: (np.asarray(u), np.asarray(d))
                for k, (u, d) in values.get("comparators", {}).items()
            },
            dict(values.get("guards", {})),  # none before reset guards
        )
