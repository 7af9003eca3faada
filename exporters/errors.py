"""Errors of the circuit exporters and the simulator."""


class ExportError(ValueError):
    """A model, option or installation the exporter cannot work with."""


class SimulationError(RuntimeError):
    """ngspice failed (missing library, non-convergence...)."""
