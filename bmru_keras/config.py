"""Experiment configuration: YAML files validated against typed dataclasses.

Every key is checked on load, before any training: an unknown key, a value of
the wrong type or a missing path is a :class:`ConfigError` that names the key
and the file. ``--set section.key=value`` overrides any key (the value is
parsed as YAML).
"""

import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """An invalid experiment configuration."""


class YamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 booleans: only ``true`` and ``false``
    are booleans, so words such as ``yes``, ``no``, ``on`` and ``off`` (Speech
    Commands keywords) stay strings."""


YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_yaml(text):
    """Parse YAML text or a file with :class:`YamlLoader`."""
    return yaml.load(text, Loader=YamlLoader)  # noqa: S506 (a SafeLoader)


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
    # With balance: "weight" keeps every training clip and weights the loss so
    # each class counts equally; "subsample" cuts training to its rarest class.
    balance_training: str = "weight"
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
    # Non-negative input currents from z (features.py): pair | offset.
    input_mapping: str = "pair"
    scale_sigma: float = 3.0  # |z| = scale_sigma is the full-scale current


@dataclass
class AugmentConfig:
    # Off by default: 5x the training time of kws_yes_d4 for no measured gain
    # (docs/results.md, "What makes the FQ-BMRU learn").
    enabled: bool = False
    noise_probability: float = 0.8
    snr_db: list[float] = field(default_factory=lambda: [5.0, 20.0])
    time_shift_ms: float = 100.0


@dataclass
class ModelConfig:
    recurrent: str = "fqbmru"  # fqbmru | bmru | cmru | gru
    units: int = 4
    layers: int = 2
    # Width of the feed-forward Dense layers and the skip path (None: units);
    # kws12 reads 64 (docs/results.md, "Twelve classes").
    dense_units: int | None = None
    skip: bool = True
    # Train on centred inputs: a layer maps the input currents back to z-scores
    # (models.centring_layer), folded into the input Dense when training ends.
    input_centering: bool = True
    gradient: str = "surrogate"
    sharpness: float = 1.0
    # The FQ-BMRU in training at epsilon > 0: noise | leaky | ladder
    # (layers/fq_bmru.py; docs/results.md, "Switching noise").
    relaxation: str = "noise"
    decision: str = "majority"  # majority (vote over frames) | mean (mean logits)
    # Hardware-aware bounds (bmru_keras.constraints), None: unconstrained.
    weight_range: list[float] | None = None  # [low, high]: |w| = 0 or in it (mirror ratios)
    current_range: list[float] | None = None  # [low, high]: alpha, beta's raw weights (units)
    # Loss per unit of the Dense layers' mirror current (layers.MirrorDense);
    # 0: plain Dense layers.
    current_penalty: float = 0.0
    # Standard deviation, in units, of a noise on every bistable cell's input
    # in training (layers.bistable.BistableCell); 0: none.
    input_noise: float = 0.0
    # Frames each memory layer after the first waits in reset for the one
    # before it to settle: memory_i holds i x start_delay frames
    # (layers.bistable.BistableRNN; the circuit's staggered reset,
    # exporters.cells); 0: every layer starts at once.
    start_delay: int = 0


@dataclass
class EpsilonConfig:
    """The relaxation curriculum (bmru_keras.callbacks.EpsilonAnnealing), in
    optimizer steps."""

    start: float = 1.0
    hold_steps: int = 300
    decay_steps: int = 1200


#: Quantiles of a unit's pre-activation put at 0, beta_low and beta_high
#: (centre, low, high; bmru_keras.initialization).
THRESHOLD_QUANTILES = (0.5, 0.6, 0.8)


@dataclass
class TrainConfig:
    """The training recipe; its defaults are the measured one (docs/results.md,
    "What makes the FQ-BMRU learn")."""

    epochs: int = 80
    batch_size: int = 64
    learning_rate: float = 0.003
    lr_schedule: str = "constant"  # constant | cosine
    # frames: each frame's cross-entropy (the paper's); clip: the cross-entropy
    # of the clip's mean frame logits, for model.decision=mean (bmru_keras.losses).
    loss: str = "frames"
    epsilon: EpsilonConfig | None = field(default_factory=EpsilonConfig)
    # FQ-BMRU biases and thresholds set from the training data before fit
    # ("data", bmru_keras.initialization) or left to their initializers ("random").
    threshold_init: str = "data"
    # With "data": see THRESHOLD_QUANTILES.
    threshold_quantiles: list[float] = field(default_factory=lambda: list(THRESHOLD_QUANTILES))
    early_stopping_patience: int | None = None  # epochs, counted once epsilon is 0
    # Hardware-aware training: gradients at parameters scaled by 1 + N(0, p/3)
    # (bmru_keras.callbacks.ParameterNoise); 0 disables it.
    parameter_noise: float = 0.0
    # Train from this many initialisations and keep the one whose best epoch
    # reads the highest validation clip accuracy (docs/results.md).
    restarts: int = 1
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
    "features.input_mapping": ("pair", "offset"),
    "model.recurrent": ("fqbmru", "bmru", "cmru", "gru"),
    "model.gradient": ("ste", "surrogate"),
    "model.relaxation": ("noise", "leaky", "ladder"),
    "model.decision": ("majority", "mean"),
    "train.lr_schedule": ("cosine", "constant"),
    "train.loss": ("frames", "clip"),
    "train.threshold_init": ("data", "random"),
}
#: Numeric bounds, as intervals: "(" and ")" exclude the bound, "[" and "]" include it.
BOUNDS = {
    "seed": "[0, inf)",
    "data.train_fraction": "(0, 1]",
    "data.split.validation": "[0, 1)",
    "data.split.test": "[0, 1)",
    "data.split.min_training_fraction": "[0, 1]",
    "features.sample_rate": "(0, inf)",
    "features.clip_seconds": "(0, inf)",
    "features.n_mfcc": "(0, inf)",
    "features.n_fft": "(0, inf)",
    "features.hop_ms": "(0, inf)",
    "features.n_mels": "(0, inf)",
    "features.f_min": "[0, inf)",
    "features.f_max": "(0, inf)",
    "features.scale_sigma": "(0, inf)",
    "augment.noise_probability": "[0, 1]",
    "augment.time_shift_ms": "[0, inf)",
    "model.units": "(0, inf)",
    "model.layers": "(0, inf)",
    "model.sharpness": "(0, inf)",
    "model.current_penalty": "[0, inf)",
    "model.input_noise": "[0, inf)",
    "model.start_delay": "[0, inf)",
    "train.epochs": "(0, inf)",
    "train.batch_size": "(0, inf)",
    "train.learning_rate": "(0, inf)",
    "train.epsilon.start": "[0, 1]",
    "train.epsilon.hold_steps": "[0, inf)",
    "train.epsilon.decay_steps": "[0, inf)",
    "train.early_stopping_patience": "[0, inf)",
    "train.parameter_noise": "[0, 1)",
    "train.restarts": "[1, inf)",
    "train.verbose": "[0, 2]",
}
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


def _within(value: float, bounds: str) -> bool:
    low, high = (float(v) for v in bounds[1:-1].split(","))
    above = value >= low if bounds[0] == "[" else value > low
    below = value <= high if bounds[-1] == "]" else value < high
    return above and below


def _is_interval(values: list[float]) -> bool:
    return len(values) == 2 and 0 <= values[0] < values[1]


def are_threshold_quantiles(values) -> bool:
    """``(centre, low, high)``, each in (0, 1), with ``low < high``."""
    return len(values) == 3 and 0 < values[0] < 1 and 0 < values[1] < values[2] < 1


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
        number = kwargs[name]
        if key in BOUNDS and number is not None and not _within(number, BOUNDS[key]):
            raise ConfigError(f"{source}: `{key}` must be in {BOUNDS[key]}, got {value!r}")
        interval = kwargs[name]
        if key in INTERVALS and interval is not None and not _is_interval(interval):
            raise ConfigError(f"{source}: `{key}` must be [low, high] with 0 <= low < high")
        if key == "train.threshold_quantiles" and not are_threshold_quantiles(kwargs[name]):
            raise ConfigError(
                f"{source}: `{key}` must be [centre, low, high], each in (0, 1), "
                f"with low < high; got {value!r}"
            )
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
    try:
        node[parts[-1]] = load_yaml(raw)
    except yaml.YAMLError as error:
        raise ConfigError(
            f"{source}: `--set {assignment}`: not a valid YAML value ({error})"
        ) from None


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
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.=,+-]*", config.name):
        raise ConfigError(
            f"{source}: `name` must be a plain name (letters, digits and _ . = , + -, "
            f"no path), got {config.name!r}"
        )
    if config.train.loss == "clip" and config.model.decision != "mean":
        raise ConfigError(
            f"{source}: `train.loss` is 'clip', which trains the mean of the frame logits, "
            f"but `model.decision` is {config.model.decision!r}; set model.decision=mean "
            "(or train.loss=frames)"
        )
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
            values = load_yaml(file)
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if values is not None and not isinstance(values, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return config_from_dict(values, str(path), overrides)


def config_to_dict(config: ExperimentConfig) -> dict:
    return dataclasses.asdict(config)
