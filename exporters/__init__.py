"""Hardware exporters: trained Keras models to SPICE circuits, and their
verification in ngspice.

Imported lazily: ``import exporters.simulate`` (the simulation side) loads
neither Keras nor TensorFlow; ``exporters.export_to_circuit`` does.
"""

import importlib

_LAZY = {
    "CircuitExport": "exporters.deck",
    "Design": "exporters.design",
    "ExportError": "exporters.errors",
    "SimulationError": "exporters.errors",
    "export_to_circuit": "exporters.export",
    "register_handler": "exporters.registry",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'exporters' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = sorted(_LAZY)
