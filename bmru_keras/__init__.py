"""bmru-keras: bistable memory recurrent units in Keras, exported to circuits."""

try:
    import keras  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installation
    raise ImportError(
        "bmru-keras needs Keras 3 with a backend. Install it with "
        "`pip install 'bmru-keras[cpu]'` (TensorFlow, CPU) or "
        "`pip install 'bmru-keras[gpu]'` (TensorFlow with CUDA)."
    ) from error

from bmru_keras.callbacks import EpsilonAnnealing
from bmru_keras.layers import BMRU, CMRU, FQBMRU, BMRUCell, CMRUCell, FQBMRUCell

__version__ = "0.1.0"


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
