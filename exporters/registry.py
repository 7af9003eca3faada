"""Layer handlers: one function per Keras layer type, registered by class.

A handler gets the :class:`exporters.export.Builder`, the layer and the
signals of its inputs, adds its block(s) and returns the signal it outputs.
Register a new one with::

    @register_handler(MyLayer)
    def my_layer(builder, layer, inputs): ...

in a module of ``exporters/handlers/`` (imported by its ``__init__``).
"""

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
