"""Model builders: the paper's keyword-spotting topology."""

import keras

from bmru_keras.config import ModelConfig
from bmru_keras.constraints import MagnitudeRange, MirrorRatio
from bmru_keras.layers import BMRU, CMRU, FQBMRU

RECURRENT = {"fqbmru": FQBMRU, "bmru": BMRU, "cmru": CMRU, "gru": keras.layers.GRU}


def _mirror(config: ModelConfig) -> MirrorRatio | None:
    return MirrorRatio(*config.weight_range) if config.weight_range else None


def memory_layer(config: ModelConfig, name: str) -> keras.layers.Layer:
    """The recurrent layer of one block; every choice has its own input kernel."""
    cls = RECURRENT[config.recurrent]
    if cls is keras.layers.GRU:
        return cls(config.units, return_sequences=True, name=name)
    return cls(
        config.units,
        gradient=config.gradient,
        sharpness=config.sharpness,
        return_sequences=True,
        kernel_constraint=_mirror(config),
        bias_constraint=_mirror(config),
        unit_constraint=MagnitudeRange(*config.current_range) if config.current_range else None,
        name=name,
    )


def dense(config: ModelConfig, units: int, name: str) -> keras.layers.Dense:
    """A Dense layer, its weights realizable mirror ratios when configured."""
    return keras.layers.Dense(
        units, kernel_constraint=_mirror(config), bias_constraint=_mirror(config), name=name
    )


def build_kws_model(
    n_features: int, n_classes: int, config: ModelConfig, epsilon: float = 0.0
) -> keras.Model:
    """``inputs -> Dense -> [ReLU -> Dense -> memory -> Dense] x layers -> Dense``.

    Each block adds its output to its input when ``config.skip``. The block's
    first ``Dense`` is the memory layer's own input kernel
    (``h_hat = ReLU(x @ kernel + bias)`` for the FQ-BMRU), so it is not a
    separate layer. Outputs are per-frame logits ``(batch, time, n_classes)``.
    """
    if config.units <= 0 or config.layers <= 0:
        raise ValueError(
            f"`model.units` and `model.layers` must be positive; got "
            f"{config.units} and {config.layers}"
        )
    inputs = keras.Input((None, n_features), name="features")
    hidden = dense(config, config.units, "input_dense")(inputs)
    for i in range(config.layers):
        x = keras.layers.ReLU(name=f"relu_{i}")(hidden)
        x = memory_layer(config, f"memory_{i}")(x)
        x = dense(config, config.units, f"output_dense_{i}")(x)
        hidden = keras.layers.Add(name=f"skip_{i}")([hidden, x]) if config.skip else x
    logits = dense(config, n_classes, "classifier")(hidden)
    model = keras.Model(inputs, logits, name=f"kws_{config.recurrent}_d{config.units}")
    for layer in model.layers:
        if getattr(getattr(layer, "cell", None), "relaxable", False):
            layer.cell.epsilon.assign(epsilon)
    return model
