"""Layer handlers: one function per Keras layer type, registered by class.

A handler gets the layer and the names of the signals it reads, checks that
the layer has a circuit mapping, and returns one operation of the network
model (:mod:`exporters.network`). Register a new one with::

    @register_handler(MyLayer)
    def my_layer(layer, sources): ...

in a module of ``exporters/handlers/`` (imported by its ``__init__``).
"""

from exporters.errors import ExportError

HANDLERS: dict[type, object] = {}


def register_handler(*layer_classes: type):
    def decorator(function):
        for cls in layer_classes:
            HANDLERS[cls] = function
        return function

    return decorator


def handler_for(layer):
    for cls in type(layer).__mro__:
        if cls in HANDLERS:
            return HANDLERS[cls]
    return None


def unsupported(layer, what: str) -> ExportError:
    """The error for a layer whose settings have no circuit mapping."""
    return ExportError(
        f"layer {layer.name!r} ({type(layer).__name__}) cannot be exported: "
        f"{what} has no circuit mapping"
    )
