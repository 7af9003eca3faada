"""Model builders: the paper's keyword-spotting topology, and the pass that
folds its input scaling into the first Dense layer."""

import keras
import numpy as np

from bmru_keras.config import FeatureConfig, ModelConfig
from bmru_keras.constraints import MagnitudeRange, MirrorRatio
from bmru_keras.layers import BMRU, CMRU, FQBMRU, MirrorDense, SignedPair
from bmru_keras.layers.bistable import BistableRNN

RECURRENT = {"fqbmru": FQBMRU, "bmru": BMRU, "cmru": CMRU, "gru": keras.layers.GRU}


def _mirror(config: ModelConfig) -> MirrorRatio | None:
    return MirrorRatio(*config.weight_range) if config.weight_range else None


def memory_layer(config: ModelConfig, name: str, start_delay: int = 0) -> keras.layers.Layer:
    """The recurrent layer of one block, held in reset for its first
    ``start_delay`` frames; every choice has its own input kernel."""
    cls = RECURRENT[config.recurrent]
    if cls is keras.layers.GRU:
        for key in ("input_noise", "start_delay"):
            if getattr(config, key):
                raise ValueError(
                    f"`model.{key}` is an option of the bistable cells; the GRU has none. "
                    f"Set model.{key}=0 or model.recurrent to fqbmru, bmru or cmru."
                )
        return cls(config.units, return_sequences=True, name=name)
    options = {"relaxation": config.relaxation} if cls is FQBMRU else {}
    return cls(
        config.units,
        gradient=config.gradient,
        sharpness=config.sharpness,
        input_noise=config.input_noise,
        return_sequences=True,
        kernel_constraint=_mirror(config),
        bias_constraint=_mirror(config),
        unit_constraint=MagnitudeRange(*config.current_range) if config.current_range else None,
        start_delay=start_delay,
        name=name,
        **options,
    )


def dense(config: ModelConfig, units: int, name: str) -> keras.layers.Dense:
    """A Dense layer, its weights realizable mirror ratios when configured,
    its mirror current penalized when ``config.current_penalty``."""
    options = {"kernel_constraint": _mirror(config), "bias_constraint": _mirror(config)}
    if config.current_penalty:
        return MirrorDense(units, config.current_penalty, name=name, **options)
    return keras.layers.Dense(units, name=name, **options)


def build_kws_model(
    n_features: int,
    n_classes: int,
    config: ModelConfig,
    epsilon: float = 0.0,
    input_layer: keras.layers.Layer | None = None,
) -> keras.Model:
    """``inputs -> Dense -> [ReLU -> Dense -> memory -> Dense] x layers -> Dense``.

    The Dense layers and the skip path are ``config.dense_units`` wide
    (``config.units`` when None). Each block adds its output to its input
    when ``config.skip``; block ``i``'s memory layer waits ``i *
    config.start_delay`` frames in reset. The block's
    first ``Dense`` is the memory layer's own input kernel
    (``h_hat = ReLU(x @ kernel + bias)`` for the FQ-BMRU), so it is not a
    separate layer. Outputs are per-frame logits ``(batch, time, n_classes)``.

    ``input_layer`` (:func:`centring_layer`) goes before the first Dense:
    it turns the first-quadrant currents back into z-scores, so that training
    sees centred inputs; :func:`fold_input_scaling` folds it into the Dense
    after training.
    """
    width = config.units if config.dense_units is None else config.dense_units
    if config.units <= 0 or config.layers <= 0 or width <= 0:
        raise ValueError(
            f"`model.units`, `model.layers` and `model.dense_units` must be positive; got "
            f"{config.units}, {config.layers} and {config.dense_units}"
        )
    inputs = keras.Input((None, n_features), name="features")
    x = inputs
    if input_layer is not None:
        x = input_layer(inputs)
    hidden = dense(config, width, "input_dense")(x)
    for i in range(config.layers):
        x = keras.layers.ReLU(name=f"relu_{i}")(hidden)
        x = memory_layer(config, f"memory_{i}", i * config.start_delay)(x)
        x = dense(config, width, f"output_dense_{i}")(x)
        hidden = keras.layers.Add(name=f"skip_{i}")([hidden, x]) if config.skip else x
    logits = dense(config, n_classes, "classifier")(hidden)
    model = keras.Model(inputs, logits, name=f"kws_{config.recurrent}_d{config.units}")
    for layer in model.layers:
        if getattr(getattr(layer, "cell", None), "relaxable", False):
            layer.cell.epsilon.assign(epsilon)
    return model


def centring_layer(features: FeatureConfig) -> keras.layers.Layer:
    """The layer that maps the input currents of ``features.input_mapping``
    back to z-scores (``bmru_keras.features``), named ``input_scaling``."""
    s = features.scale_sigma
    if features.input_mapping == "pair":
        return SignedPair(s, name="input_scaling")
    return keras.layers.Rescaling(2 * s, -s, name="input_scaling")


def fold_input_scaling(model: keras.Model) -> keras.Model:
    """The same function as ``model`` with every ``Rescaling`` or
    :class:`SignedPair` layer that feeds only ``Dense`` layers folded into
    them:

        Dense(s * x + o) = x @ (s[:, None] * W) + (b + o @ W)
        Dense(s * (x+ - x-)) = [x+, x-] @ [s W; -s W] + b

    so that the network reads the first-quadrant currents directly and every
    layer left has a circuit. Other layers keep their weights; a model with no
    such layer is returned unchanged.
    """
    folded = {}  # Dense name -> (scale, offset) of the Rescaling it reads
    consumers = {}
    for layer in model.layers:
        for tensor in layer.input if isinstance(layer.input, list) else [layer.input]:
            producer = tensor._keras_history.operation
            consumers.setdefault(producer.name, []).append(layer)
    skipped = set()
    for layer in model.layers:
        if not isinstance(layer, (keras.layers.Rescaling, SignedPair)):
            continue
        readers = consumers.get(layer.name, [])
        if readers and all(isinstance(r, keras.layers.Dense) and r.use_bias for r in readers):
            skipped.add(layer.name)
            for reader in readers:
                folded[reader.name] = layer
    if not skipped:
        return model

    def call(layer, *args, **kwargs):
        return args[0] if layer.name in skipped else layer(*args, **kwargs)

    clone = keras.models.clone_model(model, call_function=call)
    for layer in clone.layers:
        original = model.get_layer(layer.name)
        weights = original.get_weights()
        if layer.name in folded:
            weights = _folded(folded[layer.name], *weights)
        layer.set_weights(weights)
    return clone


def _folded(scaling, kernel: np.ndarray, bias: np.ndarray) -> list[np.ndarray]:
    """A Dense layer's kernel and bias with ``scaling`` before it folded in."""
    if isinstance(scaling, SignedPair):
        return [np.concatenate([scaling.scale * kernel, -scaling.scale * kernel]), bias]
    n_in = kernel.shape[0]
    scale = np.broadcast_to(np.asarray(scaling.scale, kernel.dtype), (n_in,))
    offset = np.broadcast_to(np.asarray(scaling.offset, kernel.dtype), (n_in,))
    return [scale[:, None] * kernel, bias + offset @ kernel]


def with_start_delay(model: keras.Model, frames: int) -> keras.Model:
    """A copy of ``model``, with its weights, whose ``i``-th bistable layer
    (in graph order) waits ``i * frames`` frames in reset, as
    :func:`build_kws_model` with ``model.start_delay = frames``: a trained
    model given the circuit's staggered reset without retraining."""
    if not isinstance(frames, int) or frames < 0:
        raise ValueError(f"frames={frames!r}: give an integer >= 0")
    memories = [layer.name for layer in model.layers if isinstance(layer, BistableRNN)]
    config = model.get_config()
    for layer in config["layers"]:
        if layer["config"]["name"] in memories:
            layer["config"]["start_delay"] = memories.index(layer["config"]["name"]) * frames
    copy = type(model).from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def direct_outputs(
    model: keras.Model, x: np.ndarray, tensors: list | None = None
) -> list[np.ndarray]:
    """``model``'s outputs on ``x`` (or ``tensors`` of its graph), by a direct
    call: a one-off model traces no function, where ``predict`` traces one
    for every model it sees (TensorFlow then warns of retracing)."""
    tensors = model.outputs if tensors is None else tensors
    values = keras.Model(model.inputs, tensors)([np.asarray(x)])
    values = values if isinstance(values, (list, tuple)) else [values]
    return [keras.ops.convert_to_numpy(value) for value in values]


def predict_in_batches(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """``model.predict(x)`` without its tf.data pipeline, which under
    TensorFlow's deterministic ops logs a spurious error on every call
    (``docs/install.md``): batches of one padded shape, one traced function."""
    if len(x) == 0:
        return np.asarray(model.predict_on_batch(x))
    batch_size = min(batch_size, len(x))
    outputs = []
    for start in range(0, len(x), batch_size):
        chunk = x[start : start + batch_size]
        padded = np.concatenate([chunk, np.zeros_like(x[: batch_size - len(chunk)])])
        outputs.append(np.asarray(model.predict_on_batch(padded))[: len(chunk)])
    return np.concatenate(outputs)
