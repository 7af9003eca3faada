"""bmru-keras: bistable memory recurrent units in Keras, exported to circuits.

The names below load Keras (and its backend, TensorFlow) on first use, so
that ``import bmru_keras`` and the ``bmru`` command line start at once.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "BMRU": "bmru_keras.layers",
    "CMRU": "bmru_keras.layers",
    "FQBMRU": "bmru_keras.layers",
    "BMRUCell": "bmru_keras.layers",
    "CMRUCell": "bmru_keras.layers",
    "FQBMRUCell": "bmru_keras.layers",
    "EpsilonAnnealing": "bmru_keras.callbacks",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'bmru_keras' has no attribute {name!r}")
    try:
        import keras  # noqa: F401
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError(
            "bmru-keras needs Keras 3 with a backend. Install it with "
            "`pip install 'bmru-keras[cpu]'` (TensorFlow, CPU) or "
            "`pip install 'bmru-keras[gpu]'` (TensorFlow with CUDA)."
        ) from error
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def export_to_circuit(model, **options):
    """Export a trained model to a transistor-level circuit; see
    :func:`exporters.export.export_to_circuit`."""
    from exporters import export_to_circuit as export

    return export(model, **options)


__all__ = [
    "BMRU",
    "CMRU",
    "FQBMRU",
    "BMRUCell",
    "CMRUCell",
    "EpsilonAnnealing",
    "FQBMRUCell",
    "export_to_circuit",
]
