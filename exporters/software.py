"""The software side of a hardware comparison: the model with the weights
the circuit realizes, and the currents it sums before each memory cell and
at each Dense layer's output."""

import keras
import numpy as np

from bmru_keras.models import direct_outputs
from exporters.deck import CircuitExport
from exporters.graph import output_layer, walk


def quantized_model(model: keras.Model, export: CircuitExport) -> keras.Model:
    """A copy of ``model`` whose kernels and biases are the realized mirror
    ratios of the export."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for name, (kernel, bias) in export.quantized_weights.items():
        layer = copy.get_layer(name)
        layer.kernel.assign(kernel)
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(bias)
    return copy


def realized_sums(model: keras.Model, x: np.ndarray, layers: list[str]) -> dict:
    """The currents the circuit sums for each of ``layers``, in software,
    ``(clips, frames, units)``: a memory layer's input currents
    (``inputs @ kernel + bias``, before its cells), a Dense layer's outputs."""
    steps = {step.layer.name: step for step in walk(model)}
    dense = {n for n in layers if isinstance(steps[n].layer, keras.layers.Dense)}
    tensors = [steps[n].output if n in dense else steps[n].inputs[0] for n in layers]
    values = direct_outputs(model, x, tensors)
    out = {}
    for name, value in zip(layers, values, strict=True):
        out[name] = value if name in dense else _cell_sums(model.get_layer(name), value)
    return out


def _cell_sums(layer, inputs: np.ndarray) -> np.ndarray:
    """A memory layer's input currents: ``inputs @ kernel + bias``."""
    bias = np.asarray(layer.cell.bias) if layer.cell.use_bias else 0.0
    return inputs @ np.asarray(layer.cell.kernel) + bias


def local_sums(model: keras.Model, features: np.ndarray, measured: dict, states: dict) -> dict:
    """For one clip, each Dense and memory layer's sums as ``model``'s weights
    compute them from the circuit's own upstream signals: the features, the
    measured outputs of the Dense layers (``measured``: layer -> ``(frames,
    units)``, NaN for an output fixed at 0) and the measured cell states
    (``states``: memory layer -> ``(frames, units)`` bool; a cell puts out
    ``alpha`` when on). Against these, a layer's measured sums show its own
    error alone, not the errors of the layers before it. ReLU and Add layers
    are applied in software."""
    values = {id(model.inputs[0]): np.asarray(features, float)[None]}
    sums = {}
    for step in walk(model):
        layer = step.layer
        args = [values[id(tensor)] for tensor in step.inputs]
        if isinstance(layer, keras.layers.Dense):
            bias = np.asarray(layer.bias) if layer.use_bias else 0.0
            sums[layer.name] = (args[0] @ np.asarray(layer.kernel) + bias)[0]
            value = np.nan_to_num(measured.get(layer.name, sums[layer.name]))[None]
        elif layer.name in states:
            sums[layer.name] = _cell_sums(layer, args[0])[0]
            value = (states[layer.name] * np.asarray(layer.alpha))[None]
        else:
            value = np.asarray(layer(args if len(args) > 1 else args[0]))
        values[id(step.output)] = value
    return sums


def probe_readings(model: keras.Model, features: np.ndarray, result: dict) -> dict:
    """For one simulated clip (``result`` of :func:`exporters.simulate.simulate_job`),
    each probed layer's ``(measured, software)`` sums: the hidden Dense outputs,
    each memory layer's input currents and the readout's logits, the software
    from the circuit's own upstream signals (:func:`local_sums`)."""
    local = local_sums(model, features, result["dense"], result["states"])
    measured = {**result["dense"], **result["candidates"], output_layer(model): result["logits"]}
    return {layer: (value, local[layer]) for layer, value in measured.items()}


def realized_states(model: keras.Model, x: np.ndarray, layers: list[str]) -> dict:
    """Each memory layer's cell states in software, ``(clips, frames, units)``
    booleans (on: a non-zero output)."""
    steps = {step.layer.name: step for step in walk(model)}
    values = direct_outputs(model, x, [steps[n].output for n in layers])
    return {name: value > 0 for name, value in zip(layers, values, strict=True)}


def frame_edge_logits(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The per-frame logits of ``model`` (``build_kws_model``'s topology, with
    skips) as a circuit computes them when its first-layer cells switch at a
    frame's edge: their outputs move slower than the direct path, so the
    second memory layer first sees ``(x_t, s0_(t-1))``, then the settled
    ``(x_t, s0_t)``; it is updated on both, in that order. Deeper layers see
    settled inputs. ``docs/results.md``, "Why states differ"."""
    names = [layer.name for layer in model.layers]
    needed = ["input_dense", "memory_0", "output_dense_0", "memory_1", "skip_0"]
    if any(name not in names for name in needed):
        raise ValueError(
            f"the transient replay needs a model of build_kws_model with skip connections "
            f"and two memory layers (layers {needed}); this one has {names}"
        )

    def dense(name, v):
        layer = model.get_layer(name)
        return v @ np.asarray(layer.kernel) + np.asarray(layer.bias)

    read = ("input_dense", "memory_0", "skip_0")
    direct, s0, settled = direct_outputs(model, x, [model.get_layer(n).output for n in read])
    previous = np.concatenate([np.zeros_like(s0[:, :1]), s0[:, :-1]], axis=1)
    transient = direct + dense("output_dense_0", previous)
    b, t, u = settled.shape
    steps = np.stack([transient, settled], axis=2).reshape(b, 2 * t, u)
    hidden = settled
    memory = 1
    while f"memory_{memory}" in names:
        layer = model.get_layer(f"memory_{memory}")
        if memory == 1:
            states = np.asarray(layer(np.maximum(steps, 0)))[:, 1::2]
        else:
            states = np.asarray(layer(np.maximum(hidden, 0)))
        hidden = hidden + dense(f"output_dense_{memory}", states)
        memory += 1
    return dense("classifier", hidden)
