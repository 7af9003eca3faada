"""Hardware exporters: trained Keras models to SPICE circuits, and their
verification in ngspice."""

from exporters.errors import ExportError, SimulationError
from exporters.export import CircuitExport, export_to_circuit
from exporters.registry import register_handler

__all__ = [
    "CircuitExport",
    "ExportError",
    "SimulationError",
    "export_to_circuit",
    "register_handler",
]
