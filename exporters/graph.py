"""The one walker of a Keras model's graph, and the front end that turns a
model into a :class:`~exporters.network.Network` through the layer handlers.

The walk reads the model's own graph (its nodes by depth), not a layer's
``input`` / ``output``: a layer reloaded from a ``.keras`` file, or reused
in another model, has several inbound nodes, and only the model's nodes say
which tensors it reads here. Sequential, functional and reloaded models walk
alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

import exporters.handlers  # noqa: F401  (registers the handlers)
from exporters.errors import ExportError
from exporters.network import Network
from exporters.registry import handler_for, unsupported


@dataclass(frozen=True)
class Step:
    """One layer call of the model: its input and output tensors."""

    layer: keras.layers.Layer
    inputs: list  # KerasTensors of the model's graph
    output: object


def walk(model: keras.Model) -> list[Step]:
    """The model's layer calls in evaluation order (input layers left out)."""
    # A Sequential model keeps its graph in a functional model of the same layers.
    graph = getattr(model, "_functional", None) if isinstance(model, keras.Sequential) else model
    if not isinstance(model, keras.Model) or not hasattr(graph, "_nodes_by_depth"):
        raise ExportError(
            f"cannot export a {type(model).__name__}: give a functional or Sequential "
            "Keras model (a subclassed model has no graph to walk)"
        )
    if len(model.inputs) != 1:
        raise ExportError("the exporter takes a model with one input (the features)")
    if len(model.outputs) != 1:
        raise ExportError("the exporter takes a model with one output (the class logits)")
    for layer in model.layers:
        if isinstance(layer, keras.layers.Masking) or getattr(layer, "mask_zero", False):
            raise unsupported(
                layer,
                "masking (the circuit runs every frame of a clip; trim or pad clips to one "
                "length and train without a mask)",
            )
    nodes = {}
    for depth in graph._nodes_by_depth.values():
        for node in depth:
            if isinstance(node.operation, keras.layers.InputLayer):
                continue
            if node.operation in nodes:
                raise ExportError(
                    f"layer {node.operation.name!r} is called twice in the model: a "
                    "circuit block computes one signal; use two layers"
                )
            nodes[node.operation] = node
    order = [layer for layer in model.layers if layer in nodes]
    foreign = [op.name for op in nodes if op not in order]
    if foreign:
        raise ExportError(
            f"the model computes {foreign} outside its layers (a Keras op applied to a "
            "tensor): each step needs a layer with a circuit handler"
        )
    steps = []
    for layer in order:
        node = nodes[layer]
        if isinstance(layer, keras.Model):
            raise ExportError(
                f"layer {layer.name!r} is a nested model: export a flat model "
                "(call its layers directly)"
            )
        if len(node.outputs) != 1:
            raise ExportError(f"layer {layer.name!r} has several outputs")
        steps.append(Step(layer, list(node.input_tensors), node.outputs[0]))
    return steps


def output_layer(model: keras.Model) -> str:
    """The name of the layer whose output is the model's (the readout)."""
    steps = walk(model)
    for step in steps:
        if step.output is model.outputs[0]:
            return step.layer.name
    raise ExportError("the model's output is not the output of one of its layers")


def to_network(model: keras.Model) -> Network:
    """Dispatch every layer call to its handler (:mod:`exporters.registry`)."""
    steps = walk(model)
    source = {id(model.inputs[0]): "input"}
    operations = []
    output = None
    for step in steps:
        layer = step.layer
        handler = handler_for(layer)
        if handler is None:
            raise ExportError(
                f"layer {layer.name!r} ({type(layer).__name__}) has no circuit handler. "
                "Register one with @exporters.registry.register_handler("
                f"{type(layer).__name__}) in a module of exporters/handlers/."
            )
        try:
            sources = [source[id(tensor)] for tensor in step.inputs]
        except KeyError as error:  # pragma: no cover - walk() orders the layers
            raise ExportError(f"layer {layer.name!r} reads a tensor not computed before") from error
        operations.append(handler(layer, sources))
        source[id(step.output)] = layer.name
        if step.output is model.outputs[0]:
            output = layer.name
    if output is None:
        raise ExportError("the model's output is not the output of one of its layers")
    return Network("input", int(model.inputs[0].shape[-1]), operations, output)
