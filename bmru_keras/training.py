"""Keyword-spotting experiments: train with ``model.fit``, evaluate, and write
the run folder that ``bmru evaluate`` and the circuit exporter read."""

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import yaml

from bmru_keras.callbacks import EpsilonAnnealing, ParameterNoise, relaxable_cells
from bmru_keras.config import ExperimentConfig, config_from_dict, config_to_dict, load_yaml
from bmru_keras.data.pipeline import (
    AugmentedTrainingData,
    SplitData,
    class_weights,
    default_cache_dir,
    frame_labels,
    load_split,
    noise_pool,
)
from bmru_keras.data.speech_commands import (
    Clip,
    DatasetError,
    build_clips,
    resolve_task,
    sample_dir,
)
from bmru_keras.dependencies import require
from bmru_keras.evaluation import clip_metrics
from bmru_keras.features import (
    dataset_statistics,
    describe_mapping,
    frames_per_clip,
    n_inputs,
    to_network_input,
)
from bmru_keras.initialization import init_thresholds_from_data
from bmru_keras.losses import training_loss
from bmru_keras.models import (
    build_kws_model,
    centring_layer,
    fold_input_scaling,
    predict_in_batches,
)

log = logging.getLogger(__name__)

#: Files of a complete run folder.
RUN_FILES = (
    "model.keras",
    "config.yaml",
    "metrics.json",
    "normalization.json",
    "history.json",
    "splits.json",
    "plots/learning_curves.png",
    "plots/confusion_matrix.png",
    "plots/state_raster.png",
)
#: Training clips that the data-dependent threshold initialisation looks at.
INIT_CLIPS = 256
#: Restart r of a run with seed s trains from seed s + RESTART_SEED_STRIDE * r.
RESTART_SEED_STRIDE = 1000


class RunFolderError(ValueError):
    """A run folder that is missing what a command needs."""


class ClipAccuracyCheckpoint(keras.callbacks.Callback):
    """Log the validation frame loss and accuracy (``val_loss``,
    ``val_accuracy``) and ``val_clip_accuracy`` each epoch, from one pass, and
    keep the best weights, counting only epochs where every relaxable
    ``epsilon`` is ~0 (the exact model)."""

    def __init__(self, x, labels, class_names, rule: str, tolerance: float = 1e-3):
        super().__init__()
        self.x, self.labels = x, labels
        self.frame_targets = frame_labels(np.asarray(labels), x.shape[1])
        self.class_names, self.rule, self.tolerance = class_names, rule, tolerance
        self.best, self.best_epoch, self.best_weights = -1.0, None, None

    def on_epoch_end(self, epoch, logs=None):
        logits = predict_in_batches(self.model, self.x)
        logs["val_loss"] = float(self.model.loss(self.frame_targets, logits))  # the compiled loss
        metrics = clip_metrics(logits, self.labels, self.class_names, self.rule)
        logs["val_accuracy"] = metrics["frame_accuracy"]
        accuracy = logs["val_clip_accuracy"] = metrics["clip_accuracy"]
        epsilon = max((float(c.epsilon) for c in relaxable_cells(self.model)), default=0)
        if epsilon <= self.tolerance and accuracy > self.best:
            self.best, self.best_epoch = accuracy, epoch
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    @property
    def best_epoch_number(self) -> int | None:
        """The kept epoch, counted from 1 (None: epsilon never reached 0)."""
        return None if self.best_epoch is None else self.best_epoch + 1


@dataclass
class Prepared:
    """Everything a run needs from the data, in network units."""

    class_names: list[str]
    splits: dict[str, SplitData]
    statistics: dict | None

    def inputs(self, config: ExperimentConfig, split: str) -> np.ndarray:
        return to_network_input(self.splits[split].features, config.features, self.statistics)


def seed_everything(seed: int) -> None:
    """Python, NumPy and TensorFlow seeds, and TensorFlow's deterministic ops:
    the same seed trains the same model on the same machine."""
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def resolve_data_dir(config: ExperimentConfig) -> Path:
    return Path(config.data.dir) if config.data.dir else sample_dir()


def prepare_data(
    config: ExperimentConfig, root: Path, splits=("training", "validation", "testing")
) -> Prepared:
    cache = Path(config.data.cache_dir) if config.data.cache_dir else default_cache_dir()
    names, clips = build_clips(root, config.data, config.seed, splits)
    data = {s: load_split(root, clips[s], config.features, cache) for s in splits}
    for split, part in data.items():
        log.info("%s: %d clips, %s", split, len(part.clips), np.bincount(part.labels))
    return Prepared(names, data, None)


def _statistics(config: ExperimentConfig, training: SplitData) -> dict | None:
    if config.features.normalization != "dataset":
        return None
    return dataset_statistics(training.features)


def _training_input(config, prepared, root, frames):
    training = prepared.splits["training"]
    weights = None
    if config.data.balance and config.data.balance_training == "weight":
        weights = class_weights(training.labels, len(prepared.class_names))
    if config.augment.enabled:
        noise = noise_pool(root, "training", config.features.sample_rate)
        if not noise and config.augment.noise_probability > 0:
            raise DatasetError(
                f"augment.noise_probability is {config.augment.noise_probability} but "
                f"{root} has no _background_noise_/*.wav; add the noise recordings or "
                "set augment.noise_probability=0 (time shifts only)"
            )
        return AugmentedTrainingData(
            training,
            noise,
            config.augment,
            config.features,
            prepared.statistics,
            config.train.batch_size,
            config.seed,
            weights,
        )
    inputs = (prepared.inputs(config, "training"), frame_labels(training.labels, frames))
    if weights is None:
        return inputs
    return (*inputs, np.repeat(weights[:, None], frames, axis=1))


def _learning_rate(config: ExperimentConfig, steps_per_epoch: int):
    if config.train.lr_schedule == "constant":
        return config.train.learning_rate
    return keras.optimizers.schedules.CosineDecay(
        config.train.learning_rate,
        decay_steps=config.train.epochs * steps_per_epoch,
        alpha=0.05,
    )


@dataclass
class Trial:
    """One training from one initialisation (``train.restarts`` makes several)."""

    seed: int
    model: keras.Model
    history: keras.callbacks.History
    checkpoint: ClipAccuracyCheckpoint
    seconds: float


def _fit(config, prepared, root, frames, seed: int, logs: Path) -> Trial:
    """Build, initialise and train one model from ``seed``, keeping its best
    exact-model epoch on the validation clips."""
    n_classes = len(prepared.class_names)
    epsilon = config.train.epsilon
    model = build_kws_model(
        n_inputs(config.features),
        n_classes,
        config.model,
        epsilon.start if epsilon else 0,
        centring_layer(config.features) if config.model.input_centering else None,
    )
    n_train = len(prepared.splits["training"].clips)
    if config.train.threshold_init == "data":
        chosen = np.random.default_rng(seed).permutation(n_train)[:INIT_CLIPS]
        init_thresholds_from_data(
            model,
            prepared.inputs(config, "training")[np.sort(chosen)],
            config.train.threshold_quantiles,
        )
    steps_per_epoch = -(-n_train // config.train.batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(_learning_rate(config, steps_per_epoch)),
        loss=training_loss(config.train.loss),
        metrics=["accuracy"],
    )
    x_val = prepared.inputs(config, "validation")
    labels_val = prepared.splits["validation"].labels
    checkpoint = ClipAccuracyCheckpoint(
        x_val, labels_val, prepared.class_names, config.model.decision
    )
    callbacks = [checkpoint]
    anneal_epochs = 0
    if epsilon is not None and relaxable_cells(model):
        callbacks.insert(
            0, EpsilonAnnealing(epsilon.hold_steps, epsilon.decay_steps, epsilon.start)
        )
        anneal_epochs = -(-(epsilon.hold_steps + epsilon.decay_steps) // steps_per_epoch)
    if config.train.parameter_noise:
        callbacks.insert(0, ParameterNoise(config.train.parameter_noise, seed))
    if config.train.early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_clip_accuracy",
                mode="max",
                patience=config.train.early_stopping_patience,
                start_from_epoch=anneal_epochs,
            )
        )
    if config.train.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(logs)))
    train_input = _training_input(config, prepared, root, frames)
    fit_kwargs = {"batch_size": config.train.batch_size, "shuffle": True}
    if isinstance(train_input, keras.utils.PyDataset):
        train_input, fit_kwargs = (train_input,), {}
    elif len(train_input) == 3:  # per-frame class weights
        *train_input, fit_kwargs["sample_weight"] = train_input
    start = time.perf_counter()
    history = model.fit(
        *train_input,
        epochs=config.train.epochs,
        callbacks=callbacks,
        verbose=config.train.verbose,
        **fit_kwargs,
    )
    return Trial(seed, model, history, checkpoint, time.perf_counter() - start)


def run_experiment(config: ExperimentConfig, out_dir: str | Path) -> dict:
    """Train, evaluate on validation and test, write the run folder; return
    the metrics."""
    root = resolve_data_dir(config)
    if config.train.tensorboard:
        require("tensorboard", "tensorboard", "train.tensorboard: true (false: no logs)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    prepared = prepare_data(config, root)
    prepared.statistics = _statistics(config, prepared.splits["training"])
    frames = frames_per_clip(config.features)
    trials = []
    for restart in range(config.train.restarts):
        seed = config.seed + RESTART_SEED_STRIDE * restart
        if restart:
            seed_everything(seed)
        logs = out / "logs" if config.train.restarts == 1 else out / "logs" / f"restart_{restart}"
        trials.append(_fit(config, prepared, root, frames, seed, logs))
        log.info(
            "restart %d (seed %d): validation clip accuracy %.4f",
            restart,
            seed,
            trials[-1].checkpoint.best,
        )
    chosen = max(range(len(trials)), key=lambda r: trials[r].checkpoint.best)  # first of ties
    model, history, checkpoint = (
        trials[chosen].model,
        trials[chosen].history,
        trials[chosen].checkpoint,
    )
    if checkpoint.best_weights is None:
        log.warning(
            "epsilon never reached 0 during training: the model saved is the "
            "last one, evaluated at its final epsilon. Train longer or shorten "
            "`train.epsilon`."
        )
    metrics = {
        "name": config.name,
        "data_dir": str(root),
        "class_names": prepared.class_names,
        "train_seconds": round(sum(t.seconds for t in trials), 1),
        "epochs_run": len(history.history["loss"]),
        "best_epoch": checkpoint.best_epoch_number,
        "parameters": int(model.count_params()),
        "restart": chosen,
        "restarts": [
            {
                "seed": t.seed,
                "validation_clip_accuracy": t.checkpoint.best,
                "best_epoch": t.checkpoint.best_epoch_number,
            }
            for t in trials
        ],
    }
    # Report the numbers of the saved model, as `bmru evaluate` will see it;
    # it reads the first-quadrant currents directly (no Rescaling left).
    fold_input_scaling(model).save(out / "model.keras")
    saved = keras.saving.load_model(out / "model.keras")
    for split in ("validation", "testing"):
        logits = predict_in_batches(saved, prepared.inputs(config, split))
        metrics[split] = clip_metrics(
            logits,
            prepared.splits[split].labels,
            prepared.class_names,
            config.model.decision,
        )
    write_run(out, config, root, saved, prepared, history.history, metrics)
    return metrics


def _clip_record(clip: Clip) -> dict:
    return {
        "path": clip.path,
        "label": clip.label,
        "word": clip.word,
        "speaker": clip.speaker,
        "offset": clip.offset,
        "gain": clip.gain,
    }


def write_run(out, config, root, model, prepared, history, metrics) -> None:
    """Everything of the run folder but ``model.keras`` (saved already)."""
    from bmru_keras import plots

    resolved = config_to_dict(config)
    resolved["data"]["dir"] = str(root)
    (out / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    history = {k: [float(v) for v in values] for k, values in history.items()}
    (out / "history.json").write_text(json.dumps(history, indent=2))
    normalization = {
        "features": resolved["features"],
        "statistics": prepared.statistics,
        "frames_per_clip": frames_per_clip(config.features),
        "input_mapping": describe_mapping(config.features),
    }
    (out / "normalization.json").write_text(json.dumps(normalization, indent=2))
    splits = {s: [_clip_record(c) for c in d.clips] for s, d in prepared.splits.items()}
    (out / "splits.json").write_text(json.dumps(splits))
    plots_dir = out / "plots"
    plots_dir.mkdir(exist_ok=True)
    plots.learning_curves(history, plots_dir / "learning_curves.png")
    plots.confusion(metrics["testing"], plots_dir / "confusion_matrix.png")
    clip = prepared.splits["testing"].clips[0]
    plots.state_raster(
        model,
        prepared.inputs(config, "testing")[:1],
        plots_dir / "state_raster.png",
        f"{clip.path} ({prepared.class_names[clip.label]})",
    )


def load_run(run_dir: str | Path) -> tuple[ExperimentConfig, keras.Model, dict]:
    """The resolved config, the trained model and the normalisation of a run."""
    run = Path(run_dir)
    for name in ("config.yaml", "model.keras", "normalization.json"):
        if not (run / name).is_file():
            raise RunFolderError(f"{run} has no {name}: is it a folder written by `bmru run`?")
    try:
        values = load_yaml((run / "config.yaml").read_text())
    except yaml.YAMLError as error:
        raise RunFolderError(f"{run / 'config.yaml'} is not valid YAML: {error}") from None
    if not isinstance(values, dict):
        raise RunFolderError(f"{run / 'config.yaml'} does not hold a mapping")
    config = config_from_dict(values, str(run / "config.yaml"))
    try:
        normalization = json.loads((run / "normalization.json").read_text())
        normalization["statistics"]  # noqa: B018 (checks the key)
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise RunFolderError(
            f"{run / 'normalization.json'} is damaged ({error!r}); rerun `bmru run` for this run"
        ) from None
    try:
        model = keras.saving.load_model(run / "model.keras")
    except Exception as error:  # Keras raises several types for a damaged file
        raise RunFolderError(
            f"{run / 'model.keras'} exists but cannot be loaded as a Keras model "
            f"({type(error).__name__}: {error}); rerun `bmru run` for this run"
        ) from None
    inputs, outputs = model.inputs[0].shape[-1], model.outputs[0].shape[-1]
    classes = len(resolve_task(config.data.task))
    if inputs != n_inputs(config.features) or outputs != classes:
        raise RunFolderError(
            f"{run / 'model.keras'} takes {inputs} inputs and gives {outputs} classes, but "
            f"the run's config has {n_inputs(config.features)} inputs "
            f"({config.features.input_mapping}) and {classes} classes"
        )
    return config, model, normalization


def interleaved(clips: list[Clip]) -> list[int]:
    """The indices of ``clips`` in the order a few of them are taken: the
    classes in turn (a clip of each class, then another of each, ...), each
    class going round its source words (a split lists a class word by word),
    so that the first clips of "other" are not all one word."""
    seen = Counter()  # clips so far of each (class, word)
    first = {}  # (class, word) -> the order in which its first clip came
    turns = []
    for clip in clips:
        word = clip.label, clip.word
        first.setdefault(word, len(first))
        turns.append((clip.label, seen[word], first[word]))
        seen[word] += 1
    rank = Counter()
    order = {}
    for i in sorted(range(len(clips)), key=turns.__getitem__):  # within each class
        order[i] = rank[clips[i].label], clips[i].label
        rank[clips[i].label] += 1
    return sorted(order, key=order.__getitem__)


def run_inputs(config, normalization: dict, data_dir, split: str, limit: int | None = None):
    """The class names, clips and network inputs of a run's ``split`` in a
    dataset folder: ``training``, ``validation`` or ``testing`` by the run's
    split rule (training: the clips the model was trained on, unaugmented;
    validation and testing: their balanced draws, as training scored them),
    ``heldout`` (validation then testing, every clip of them, not subsampled:
    every clip of the speakers the model was not trained on), or ``all``
    (every clip of the task's classes); with ``limit``, that many of them,
    interleaved so that a few clips still cover every class and every source
    word of a class (:func:`interleaved`)."""
    root = Path(data_dir)
    cache = Path(config.data.cache_dir) if config.data.cache_dir else default_cache_dir()
    parts = ("validation", "testing") if split == "heldout" else (split,)
    every = split in ("heldout", "all")
    names, clips = build_clips(
        root, config.data, config.seed, parts, balance=False if every else None
    )
    chosen = [clip for part in parts for clip in clips[part]]
    if limit is not None and limit < len(chosen):
        picked = interleaved(chosen)[:limit]
        chosen = [chosen[i] for i in sorted(picked)]
    data = load_split(root, chosen, config.features, cache)
    x = to_network_input(data.features, config.features, normalization["statistics"])
    return names, data, x


def evaluate_run(run_dir: str | Path, data_dir: str | Path, split: str = "testing") -> dict:
    """Metrics of a trained run on a dataset folder (see :func:`run_inputs`)."""
    config, model, normalization = load_run(run_dir)
    names, data, x = run_inputs(config, normalization, data_dir, split)
    logits = predict_in_batches(model, x)
    metrics = clip_metrics(logits, data.labels, names, config.model.decision)
    metrics["split"] = split
    metrics["data_dir"] = str(data_dir)
    return metrics
