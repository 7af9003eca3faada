"""Experiment configuration: YAML files validated against typed dataclasses.

Every key is checked on load, before any training: an unknown key, a value of
the wrong type or a missing path is a :class:`ConfigError` that names the key
and the file. ``--set section.key=value`` overrides any key (the value is
parsed as YAML).
"""

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """An invalid experiment configuration."""


@dataclass
class SplitConfig:
    """How clips are assigned to training, validation and test.

    ``auto`` uses the dataset's ``validation_list.txt`` / ``testing_list.txt``
    when they put at least ``min_training_fraction`` of the clips in
    training, and the speaker hash otherwise (as for subsets, where the
    official rule sends nearly every clip to testing).
    """

    method: str = "auto"  # auto | official | speaker_hash
    salt: str = "bmru-keras"
    validation: float = 0.15
    test: float = 0.15
    min_training_fraction: float = 0.5


@dataclass
class DataConfig:
    dir: str | None = None  # None: the sample shipped in the package; $VARS expand
    task: Any = "yes_vs_rest"  # preset name, {keywords: [...]}, or {classes: {...}}
    balance: bool = True
    # With balance: "subsample" cuts training to its rarest class too; "weight"
    # keeps every training clip and weights the loss so each class counts equally.
    balance_training: str = "subsample"
    # Keep this fraction of each class's training clips (a nested, seeded
    # subset: for learning curves, e.g. `bmru sweep --grid data.train_fraction=...`).
    train_fraction: float = 1.0
    split: SplitConfig = field(default_factory=SplitConfig)
    silence_gain: list[float] = field(default_factory=lambda: [0.0, 1.0])
    cache_dir: str | None = None  # None: $BMRU_CACHE_DIR or ~/.cache/bmru_keras


@dataclass
class FeatureConfig:
    """MFCC front end (``tf.signal``) and the first-quadrant input scaling."""

    sample_rate: int = 16000
    clip_seconds: float = 1.0
    n_mfcc: int = 13
    n_fft: int = 512
    hop_ms: float = 10.0
    n_mels: int = 40
    f_min: float = 20.0
    f_max: float = 7600.0
    normalization: str = "clip"  # clip (per clip, not causal) | dataset (causal)
    scale_sigma: float = 3.0  # z = +-scale_sigma maps to inputs 1 and 0


@dataclass
class AugmentConfig:
    enabled: bool = True
    noise_probability: float = 0.8
    snr_db: list[float] = field(default_factory=lambda: [5.0, 20.0])
    time_shift_ms: float = 100.0


@dataclass
class ModelConfig:
    recurrent: str = "fqbmru"  # fqbmru | bmru | cmru | gru
    units: int = 4
    layers: int = 2
    skip: bool = True
    gradient: str = "surrogate"
    sharpness: float = 1.0
    decision: str = "majority"  # majority (vote over frames) | mean (mean logits)
    # Hardware-aware bounds (bmru_keras.constraints), None: unconstrained.
    weight_range: list[float] | None = None  # [low, high]: |w| = 0 or in it (mirror ratios)
    current_range: list[float] | None = None  # [low, high]: alpha, beta's raw weights (units)


@dataclass
class EpsilonConfig:
    start: float = 1.0
    hold_steps: int = 1000
    decay_steps: int = 5000


@dataclass
class TrainConfig:
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 0.01
    lr_schedule: str = "cosine"  # cosine | constant
    epsilon: EpsilonConfig | None = field(default_factory=EpsilonConfig)
    early_stopping_patience: int | None = 30
    # Hardware-aware training: gradients at parameters scaled by 1 + N(0, p/3)
    # (bmru_keras.callbacks.ParameterNoise); 0 disables it.
    parameter_noise: float = 0.0
    tensorboard: bool = True
    verbose: int = 2


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


CHOICES = {
    "data.balance_training": ("subsample", "weight"),
    "data.split.method": ("auto", "official", "speaker_hash"),
    "features.normalization": ("clip", "dataset"),
    "model.recurrent": ("fqbmru", "bmru", "cmru", "gru"),
    "model.gradient": ("ste", "surrogate"),
    "model.decision": ("majority", "mean"),
    "train.lr_schedule": ("cosine", "constant"),
}
RANGES = {"train.parameter_noise": (0.0, 1.0)}  # [low, high)
FRACTIONS = ("data.train_fraction",)  # (0, 1]
INTERVALS = ("model.weight_range", "model.current_range")  # [low, high], 0 <= low < high


def _check_type(value, annotation, key: str, source: str):
    """Return ``value`` converted to ``annotation``, or raise naming ``key``."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check_type(value, option, key, source)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0])
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: `{key}` must be a mapping, got {value!r}")
        return _build(annotation, value, key + ".", source)
    if origin is list:
        (item,) = typing.get_args(annotation)
        if not isinstance(value, list):
            raise ConfigError(f"{source}: `{key}` must be a list, got {value!r}")
        return [_check_type(v, item, f"{key}[{i}]", source) for i, v in enumerate(value)]
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is int and isinstance(value, bool):
        raise ConfigError(f"{source}: `{key}` must be an integer, got {value!r}")
    if not isinstance(value, annotation):
        raise ConfigError(f"{source}: `{key}` must be of type {annotation.__name__}, got {value!r}")
    return value


def _is_interval(values: list[float]) -> bool:
    return len(values) == 2 and 0 <= values[0] < values[1]


def _build(cls, values: dict, prefix: str, source: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key `{prefix}{unknown[0]}`; "
            f"known keys under `{prefix or '(top level)'}`: {', '.join(fields)}"
        )
    kwargs = {}
    for name, value in values.items():
        key = prefix + name
        kwargs[name] = _check_type(value, hints[name], key, source)
        if key in CHOICES and kwargs[name] not in CHOICES[key]:
            raise ConfigError(f"{source}: `{key}` must be one of {CHOICES[key]}, got {value!r}")
        if key in RANGES and not RANGES[key][0] <= kwargs[name] < RANGES[key][1]:
            raise ConfigError(f"{source}: `{key}` must be in [{RANGES[key][0]}, {RANGES[key][1]})")
        if key in FRACTIONS and not 0.0 < kwargs[name] <= 1.0:
            raise ConfigError(f"{source}: `{key}` must be in (0, 1], got {value!r}")
        interval = kwargs[name]
        if key in INTERVALS and interval is not None and not _is_interval(interval):
            raise ConfigError(f"{source}: `{key}` must be [low, high] with 0 <= low < high")
    return cls(**kwargs)


def _apply_override(values: dict, assignment: str, source: str) -> None:
    if "=" not in assignment:
        raise ConfigError(f"{source}: `--set {assignment}` must look like key=value")
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    node = values
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{source}: `--set {key}`: `{part}` is not a section")
    node[parts[-1]] = yaml.safe_load(raw)


def config_from_dict(
    values: dict, source: str = "<config>", overrides: list[str] = ()
) -> ExperimentConfig:
    """Validate a configuration mapping (plus ``key=value`` overrides)."""
    values = dict(values or {})
    for assignment in overrides:
        _apply_override(values, assignment, f"{source} (--set)")
    if overrides:
        source = f"{source} (with --set {' '.join(overrides)})"
    config = _build(ExperimentConfig, values, "", source)
    if config.data.dir is not None:
        expanded = os.path.expandvars(os.path.expanduser(config.data.dir))
        if "$" in expanded:
            raise ConfigError(
                f"{source}: `data.dir` is {config.data.dir!r} and that environment "
                "variable is not set; set it or pass --data-dir"
            )
        config.data.dir = expanded
    if config.data.dir is not None and not Path(config.data.dir).is_dir():
        raise ConfigError(
            f"{source}: `data.dir` is {config.data.dir!r}, which is not a directory. "
            "Point it at a Speech Commands folder or pass --data-dir."
        )
    return config


def load_config(path: str | Path, overrides: list[str] = ()) -> ExperimentConfig:
    """Load and validate a YAML experiment file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found")
    with open(path) as file:
        try:
            values = yaml.safe_load(file)
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if values is not None and not isinstance(values, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return config_from_dict(values, str(path), overrides)


def config_to_dict(config: ExperimentConfig) -> dict:
    return dataclasses.asdict(config)
