"""The paper topology, clip decisions, and a tiny experiment through the CLI."""

import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from bmru_keras.cli import main
from bmru_keras.config import FeatureConfig, ModelConfig
from bmru_keras.data.speech_commands import sample_dir
from bmru_keras.evaluation import clip_decisions, clip_metrics
from bmru_keras.features import n_inputs
from bmru_keras.initialization import init_thresholds_from_data
from bmru_keras.losses import ClipMeanCrossEntropy
from bmru_keras.models import (
    build_kws_model,
    centring_layer,
    fold_input_scaling,
    predict_in_batches,
    with_start_delay,
)
from bmru_keras.training import RUN_FILES, RunFolderError, evaluate_run, load_run, run_inputs
from tests.scripts import tensorflow_start_up_lines


def test_paper_topology():
    model = build_kws_model(13, 2, ModelConfig(units=4, layers=2))
    names = [layer.name for layer in model.layers]
    assert names == [
        "features", "input_dense",
        "relu_0", "memory_0", "output_dense_0", "skip_0",
        "relu_1", "memory_1", "output_dense_1", "skip_1",
        "classifier",
    ]  # fmt: skip
    assert model.output_shape == (None, None, 2)
    assert model.get_layer("memory_0").units == 4
    assert model(np.zeros((3, 101, 13), "float32")).shape == (3, 101, 2)


def test_the_dense_layers_may_be_wider_than_the_memories():
    model = build_kws_model(13, 12, ModelConfig(units=4, layers=2, dense_units=16))
    assert model.get_layer("input_dense").units == 16
    assert model.get_layer("output_dense_1").units == 16
    assert model.get_layer("memory_1").units == 4
    assert model.get_layer("memory_1").cell.kernel.shape == (16, 4)
    with pytest.raises(ValueError, match="dense_units"):
        build_kws_model(13, 2, ModelConfig(dense_units=0))


def test_model_input_noise_reaches_every_memory_cell():
    model = build_kws_model(13, 2, ModelConfig(units=4, layers=2, input_noise=0.02))
    assert [model.get_layer(f"memory_{i}").cell.input_noise for i in (0, 1)] == [0.02, 0.02]
    with pytest.raises(ValueError, match="input_noise.*GRU"):
        build_kws_model(13, 2, ModelConfig(recurrent="gru", input_noise=0.02))


@pytest.mark.parametrize("recurrent", ["fqbmru", "gru"])
@pytest.mark.parametrize("mapping", ["pair", "offset"])
def test_input_scaling_folds_into_the_first_dense(recurrent, mapping, tmp_path):
    features = FeatureConfig(input_mapping=mapping)
    n = n_inputs(features)
    layer = centring_layer(features)
    model = build_kws_model(n, 2, ModelConfig(recurrent=recurrent, units=3), 0.0, layer)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, np.shape(w)) for w in model.get_weights()])
    folded = fold_input_scaling(model)
    assert "input_scaling" in [layer.name for layer in model.layers]
    assert "input_scaling" not in [layer.name for layer in folded.layers]
    x = rng.uniform(0, 1, (2, 30, n)).astype("float32")
    np.testing.assert_allclose(folded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-4)
    kernel = np.asarray(model.get_layer("input_dense").kernel)
    expected = np.concatenate([3 * kernel, -3 * kernel]) if mapping == "pair" else 6 * kernel
    np.testing.assert_allclose(np.asarray(folded.get_layer("input_dense").kernel), expected)
    folded.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-4)
    model.save(tmp_path / "unfolded.keras")  # SignedPair is serializable too
    keras.saving.load_model(tmp_path / "unfolded.keras")
    plain = build_kws_model(13, 2, ModelConfig(units=3))
    assert fold_input_scaling(plain) is plain


def test_rescaling_before_a_non_dense_layer_is_kept():
    model = keras.Sequential(
        [keras.Input((None, 4)), keras.layers.Rescaling(2.0, -1.0), keras.layers.ReLU()]
    )
    assert fold_input_scaling(model) is model


@pytest.mark.parametrize("recurrent", ["gru", "bmru", "cmru"])
def test_baselines_swap_only_the_memory_layer(recurrent):
    model = build_kws_model(13, 12, ModelConfig(recurrent=recurrent, units=8, skip=False))
    assert isinstance(model.get_layer("memory_1"), keras.layers.RNN)
    assert "skip_0" not in [layer.name for layer in model.layers]
    assert model(np.zeros((2, 20, 13), "float32")).shape == (2, 20, 12)


def test_each_memory_layer_waits_for_the_one_before_it():
    model = build_kws_model(13, 2, ModelConfig(units=2, layers=3, start_delay=2))
    delays = [model.get_layer(f"memory_{i}").start_delay for i in range(3)]
    assert delays == [0, 2, 4]
    # A trained model given the same delays without retraining computes the same.
    keras.utils.set_random_seed(0)
    plain = build_kws_model(13, 2, ModelConfig(units=2, layers=3))
    model.set_weights(plain.get_weights())
    late = with_start_delay(plain, 2)
    assert [late.get_layer(f"memory_{i}").start_delay for i in range(3)] == [0, 2, 4]
    x = np.random.default_rng(0).uniform(0, 1, (2, 12, 13)).astype("float32")
    np.testing.assert_array_equal(late(x), model(x))
    assert np.any(np.asarray(late(x)) != np.asarray(plain(x)))
    with pytest.raises(ValueError, match="model.start_delay"):
        build_kws_model(13, 2, ModelConfig(recurrent="gru", start_delay=2))


def test_majority_vote_and_mean_logit_decisions():
    logits = np.zeros((2, 5, 3))
    logits[0, :3, 2] = 1.0  # three frames vote 2, two vote 0
    logits[0, 3:, 0] = 10.0  # but class 0 has the larger mean logit
    logits[1, :, 1] = 1.0
    np.testing.assert_array_equal(clip_decisions(logits, "majority"), [2, 1])
    np.testing.assert_array_equal(clip_decisions(logits, "mean"), [0, 1])
    metrics = clip_metrics(logits, np.array([2, 0]), ["a", "b", "c"], "majority")
    assert metrics["clip_accuracy"] == 0.5 and metrics["balanced_accuracy"] == 0.5
    assert metrics["confusion_matrix"] == [[0, 1, 0], [0, 0, 0], [0, 0, 1]]
    assert metrics["frame_accuracy"] == pytest.approx(3 / 10)
    # Clip 0 (label 2) is right on its first three frames, clip 1 on none.
    np.testing.assert_allclose(metrics["frame_accuracy_by_tenth"], [0.5, 0.5, 0.5, 0, 0])
    tenths = clip_metrics(np.repeat(logits, 4, axis=1), np.array([2, 0]), ["a", "b", "c"], "mean")
    np.testing.assert_allclose(tenths["frame_accuracy_by_tenth"], [0.5] * 6 + [0] * 4)


TINY = """
name: tiny
data:
  split: {method: speaker_hash, salt: sample36, validation: 0.2, test: 0.2}
augment: {enabled: true, noise_probability: 0.5}
model: {units: 2, layers: 1}
train:
  epochs: 3
  batch_size: 16
  epsilon: {start: 1.0, hold_steps: 2, decay_steps: 3}
  early_stopping_patience: 1
"""


def test_tiny_experiment_through_the_cli(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    run = tmp_path / "run"
    assert main(["run", str(config), "--out", str(run), "--set", "train.verbose=0"]) == 0
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    assert list((run / "logs").rglob("events.out.tfevents*"))
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["class_names"] == ["yes", "other"]
    assert metrics["best_epoch"] is not None  # epsilon reached 0 in time
    config_back, model, _ = load_run(run)
    assert config_back.model.units == 2
    assert model.get_layer("memory_0").epsilon.numpy() == 0.0
    # Trained on centred inputs, saved reading the currents (folded).
    assert "input_scaling" not in [layer.name for layer in model.layers]
    # The reloaded run evaluates to exactly the numbers it recorded.
    sample = metrics["data_dir"]
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data-dir", sample, "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    for key in (
        "clip_accuracy",
        "balanced_accuracy",
        "frame_accuracy",
        "frame_accuracy_by_tenth",
        "n_clips",
    ):
        assert evaluated[key] == metrics["testing"][key], key
    assert evaluated["confusion_matrix"] == metrics["testing"]["confusion_matrix"]
    command = ["evaluate", str(run), "--data-dir", sample, "--split", "validation", "--json"]
    assert main(command) == 0
    validation = json.loads(capsys.readouterr().out)
    assert validation["balanced_accuracy"] == metrics["validation"]["balanced_accuracy"]
    assert validation["n_clips"] == metrics["validation"]["n_clips"]
    training = evaluate_run(run, sample, "training")
    assert training["n_clips"] == len(json.loads((run / "splits.json").read_text())["training"])
    everything = evaluate_run(run, sample, "all")
    assert everything["n_clips"] > evaluated["n_clips"]


@pytest.mark.parametrize("augment", ["true", "false"])
def test_class_weighted_training_keeps_every_training_clip(tmp_path, augment):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    run = tmp_path / "run"
    settings = ["data.balance_training=weight", f"augment.enabled={augment}", "train.epochs=1"]
    overrides = [arg for setting in [*settings, "train.verbose=0"] for arg in ("--set", setting)]
    assert main(["run", str(config), "--out", str(run), *overrides]) == 0
    splits = json.loads((run / "splits.json").read_text())
    words = [clip["word"] for clip in splits["training"]]
    assert words.count("yes") < len(words) / 2  # not cut to the rarest class
    assert json.loads((run / "metrics.json").read_text())["testing"]["n_clips"] > 0


@pytest.mark.parametrize("augment", ["true", "false"])
def test_the_clip_loss_trains_through_the_cli(tmp_path, augment):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    run = tmp_path / "run"
    settings = ["train.loss=clip", "model.decision=mean", f"augment.enabled={augment}"]
    settings += ["data.balance_training=weight", "train.epochs=2", "train.verbose=0"]
    overrides = [arg for setting in settings for arg in ("--set", setting)]
    assert main(["run", str(config), "--out", str(run), *overrides]) == 0
    config_back, model, _ = load_run(run)
    assert config_back.train.loss == "clip"
    assert isinstance(model.loss, ClipMeanCrossEntropy)
    history = json.loads((run / "history.json").read_text())
    assert np.all(np.isfinite(history["loss"]))


def test_a_few_clips_of_a_split_cover_every_class(tiny_run):
    from bmru_keras.data.speech_commands import sample_dir
    from bmru_keras.training import run_inputs

    config, _, normalization = load_run(tiny_run)
    _, everything, _ = run_inputs(config, normalization, sample_dir(), "heldout")
    assert everything.labels[0] == everything.labels[1]  # the split lists a class together
    _, few, x = run_inputs(config, normalization, sample_dir(), "heldout", 4)
    assert sorted(few.labels) == [0, 0, 1, 1] and len(x) == 4


def test_heldout_is_every_validation_and_test_clip_and_the_splits_their_draws(tiny_run):
    from bmru_keras.data.speech_commands import build_clips, sample_dir
    from bmru_keras.training import run_inputs

    config, _, normalization = load_run(tiny_run)
    parts = ("validation", "testing")
    _, every = build_clips(sample_dir(), config.data, config.seed, parts, balance=False)
    _, heldout, _ = run_inputs(config, normalization, sample_dir(), "heldout")
    assert [c.key for c in heldout.clips] == [c.key for p in parts for c in every[p]]
    for part in parts:
        _, drawn, _ = run_inputs(config, normalization, sample_dir(), part)
        counts = np.bincount(drawn.labels)
        assert counts.min() == counts.max() and len(drawn.clips) < len(every[part])


def test_a_few_clips_go_round_the_words_of_each_class():
    from bmru_keras.data.speech_commands import Clip
    from bmru_keras.training import interleaved

    # A split lists its clips word by word: "yes", then "other" as down x4, left x2, no.
    words = [(0, "yes")] * 4 + [(1, "down")] * 4 + [(1, "left")] * 2 + [(1, "no")]
    clips = [Clip(label, word, f"{word}/{i}.wav") for i, (label, word) in enumerate(words)]
    first = [clips[i] for i in interleaved(clips)[:6]]
    assert [c.label for c in first] == [0, 1, 0, 1, 0, 1]
    assert [c.word for c in first if c.label == 1] == ["down", "left", "no"]
    assert sorted(interleaved(clips)) == list(range(len(clips)))


def test_cli_errors_name_the_problem(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {unitz: 3}")
    assert main(["run", str(bad)]) == 2
    assert "unknown key `model.unitz`" in capsys.readouterr().err
    good = tmp_path / "good.yaml"
    good.write_text("name: x")
    assert main(["run", str(good), "--data-dir", str(tmp_path / "none")]) == 2
    assert "`data.dir`" in capsys.readouterr().err
    with pytest.raises(RunFolderError, match="no config.yaml"):
        evaluate_run(tmp_path, tmp_path)


def test_thresholds_from_data_make_every_unit_switch():
    keras.utils.set_random_seed(0)
    model = build_kws_model(13, 2, ModelConfig(units=6), 1.0, keras.layers.Rescaling(6.0, -3.0))
    x = np.random.default_rng(0).uniform(0, 1, (32, 50, 13)).astype("float32")
    # Push one unit's candidate to 0 on every frame: a dead unit.
    cell = model.get_layer("memory_0").cell
    cell.bias.assign(np.where(np.arange(6) == 0, -100.0, 0.0).astype("float32"))
    assert init_thresholds_from_data(model, x) == ["memory_0", "memory_1"]
    assert float(cell.epsilon) == 1.0  # restored after the exact-unit pass
    for name in ("memory_0", "memory_1"):
        model.get_layer(name).cell.epsilon.assign(0.0)
    names = ["memory_0", "memory_1"]
    states = keras.Model(model.inputs, [model.get_layer(n).output for n in names]).predict(
        x, verbose=0
    )
    for state in states:
        on = (state > 0).mean(axis=(0, 1))
        assert np.all(on > 0.05) and np.all(on < 0.95), on


def test_the_same_seed_trains_the_same_model(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    weights = []
    for name in ("a", "b"):
        settings = ["--set", "train.verbose=0", "--set", "train.tensorboard=false"]
        assert main(["run", str(config), "--out", str(tmp_path / name), *settings]) == 0
        _, model, _ = load_run(tmp_path / name)
        weights.append(model.get_weights())
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)


def test_restarts_keep_the_initialisation_with_the_best_validation(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    records = {}
    for restarts in (1, 3):
        run = tmp_path / f"r{restarts}"
        settings = ["train.verbose=0", f"train.restarts={restarts}", "train.epochs=2"]
        overrides = [arg for setting in settings for arg in ("--set", setting)]
        assert main(["run", str(config), "--out", str(run), *overrides]) == 0
        records[restarts] = json.loads((run / "metrics.json").read_text())
    single, several = records[1], records[3]
    assert [r["seed"] for r in several["restarts"]] == [0, 1000, 2000]
    # Restart 0 is the run without restarts; the one kept has the best validation.
    assert several["restarts"][0] == single["restarts"][0]
    accuracies = [r["validation_clip_accuracy"] for r in several["restarts"]]
    assert several["restart"] == accuracies.index(max(accuracies))
    assert several["best_epoch"] == several["restarts"][several["restart"]]["best_epoch"]
    assert sorted(p.name for p in (tmp_path / "r3" / "logs").iterdir()) == [
        "restart_0",
        "restart_1",
        "restart_2",
    ]


def test_the_quickstart_learns_the_task_with_every_unit_switching(tmp_path):
    # The shipped quickstart (8 units, the sample in the package): chance is
    # 50 %; on its 36 held-out clips it reached 94 % (docs/results.md).
    config = Path(__file__).parent.parent / "configs" / "quickstart.yaml"
    run = tmp_path / "quickstart"
    settings = ["--set", "train.verbose=0", "--set", "train.tensorboard=false"]
    assert main(["run", str(config), "--out", str(run), *settings]) == 0
    config, model, normalization = load_run(run)
    metrics = evaluate_run(run, sample_dir(), "heldout")
    assert metrics["balanced_accuracy"] >= 0.8, metrics
    _, _, x = run_inputs(config, normalization, sample_dir(), "heldout")
    names = [layer.name for layer in model.layers if layer.name.startswith("memory")]
    states = keras.Model(model.inputs, [model.get_layer(n).output for n in names]).predict(
        x, verbose=0
    )
    for name, state in zip(names, states, strict=True):
        on = (state > 0).mean(axis=(0, 1))
        assert np.all(on > 0) and np.all(on < 1), (name, on)


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "RUN", "--data-dir", "D", "--clips", "-1"],
        ["verify", "RUN", "--data-dir", "D", "--clips", "0"],
        ["robustness", "montecarlo", "RUN", "--data-dir", "D", "--trials", "0"],
        ["robustness", "noise", "RUN", "--data-dir", "D", "--frames", "0"],
        ["sweep", "C.yaml", "--seeds", "0"],
        ["verify", "RUN", "--data-dir", "D", "--calibrate", "-2"],
    ],
)
def test_counts_below_their_minimum_are_refused_before_anything_runs(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "must be at least" in capsys.readouterr().err


def test_a_trained_run_is_replaced_only_with_overwrite(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    run = tmp_path / "run"
    settings = ["--out", str(run), "--set", "train.epochs=1", "--set", "train.tensorboard=false"]
    assert main(["run", str(config), *settings]) == 0
    (run / "verification_transistor").mkdir()
    capsys.readouterr()
    assert main(["run", str(config), *settings]) == 2
    assert "holds a trained run (model.keras); pass --overwrite" in capsys.readouterr().err
    assert (run / "verification_transistor").is_dir()
    assert main(["run", str(config), *settings, "--overwrite"]) == 0
    assert (run / "model.keras").is_file()
    assert not (run / "verification_transistor").exists()
    (tmp_path / "file").write_text("x")
    assert main(["run", str(config), "--out", str(tmp_path / "file")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_noise_augmentation_without_noise_recordings_is_an_error(tmp_path, capsys):
    root = tmp_path / "data"
    for word in ("yes", "no"):
        shutil.copytree(sample_dir() / word, root / word)
    config = tmp_path / "two.yaml"
    config.write_text(
        TINY.replace("augment: {enabled: true, noise_probability: 0.5}", "augment: {enabled: true}")
        + "  tensorboard: false\n"
    )
    settings = ["--set", "data.task={classes: {yes: [yes], no: [no]}}"]
    assert main(["run", str(config), "--data-dir", str(root), *settings]) == 2
    assert "has no _background_noise_/*.wav" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("localhost:99x", "is not a Dask address"),
        ("tcp://127.0.0.1:9", "no Dask scheduler answers"),
    ],
)
def test_a_dask_scheduler_is_checked_before_any_work(tmp_path, capsys, address, message):
    config = Path(__file__).parent.parent / "configs" / "quickstart.yaml"
    argv = ["sweep", str(config), "--out", str(tmp_path / "s"), "--scheduler", address]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_export_refuses_a_foreign_folder(tiny_run, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "README.md").write_text("my notes")
    assert main(["export", str(tiny_run), "--out", str(out), "--level", "behavioral"]) == 2
    assert "holds no export (no network.spice)" in capsys.readouterr().err
    assert (out / "README.md").read_text() == "my notes"
    (tmp_path / "file").write_text("x")
    assert main(["export", str(tiny_run), "--out", str(tmp_path / "file")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_the_command_line_hides_tensorflows_start_up_lines(tmp_path):
    import subprocess
    import sys

    command = [sys.executable, "-m", "bmru_keras.cli", "evaluate", str(tmp_path), "--data-dir", "."]
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run(command, capture_output=True, text=True, env=env)
    assert quiet.returncode == 2 and "is it a folder written by `bmru run`?" in quiet.stderr
    assert not tensorflow_start_up_lines(quiet.stderr), quiet.stderr


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("model.keras", b"not a zip file", "cannot be loaded as a Keras model"),
        ("normalization.json", b"{", "normalization.json is damaged"),
        ("config.yaml", b"model: [", "config.yaml is not valid YAML"),
        ("config.yaml", b"- a list", "config.yaml does not hold a mapping"),
    ],
)
def test_a_damaged_run_folder_names_the_file(tiny_run, tmp_path, name, damage, message):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / name).write_bytes(damage)
    with pytest.raises(RunFolderError, match=message):
        load_run(run)


def test_a_model_that_does_not_fit_its_run_is_refused(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    build_kws_model(13, 3, ModelConfig(units=2, layers=1)).save(run / "model.keras")
    with pytest.raises(
        RunFolderError,
        match=r"takes 13 inputs and gives 3 classes, but the run's config has 26 inputs \(pair\)",
    ):
        load_run(run)


def test_a_damaged_feature_cache_is_computed_again(tmp_path, caplog):
    import logging

    from bmru_keras.config import DataConfig, FeatureConfig, SplitConfig
    from bmru_keras.data.pipeline import load_split
    from bmru_keras.data.speech_commands import build_clips

    data = DataConfig(split=SplitConfig(salt="sample36"))
    _, clips = build_clips(sample_dir(), data, 0, ("testing",))
    first = load_split(sample_dir(), clips["testing"], FeatureConfig(), tmp_path)
    (cache,) = tmp_path.glob("features-*.npz")
    cache.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        again = load_split(sample_dir(), clips["testing"], FeatureConfig(), tmp_path)
    assert "is damaged" in caplog.text
    np.testing.assert_array_equal(again.features, first.features)


def test_signed_pair_validates_its_input():
    from bmru_keras.layers import SignedPair

    with pytest.raises(ValueError, match="`scale` must be positive"):
        SignedPair(0.0)
    with pytest.raises(ValueError, match="even number of input features"):
        SignedPair(3.0)(np.zeros((1, 2, 13), "float32"))
    z = np.asarray(SignedPair(3.0)(np.array([[[0.5, 0.0, 0.0, 0.25]]], "float32")))
    np.testing.assert_allclose(z, [[[1.5, -0.75]]])


def test_threshold_quantiles_place_the_candidate_and_the_band():
    keras.utils.set_random_seed(0)
    model = build_kws_model(13, 2, ModelConfig(units=6), 0.0, keras.layers.Rescaling(6.0, -3.0))
    x = np.random.default_rng(0).uniform(0, 1, (32, 50, 13)).astype("float32")
    init_thresholds_from_data(model, x, (0.1, 0.3, 0.9))
    layer = model.get_layer("memory_0")
    inputs = keras.ops.convert_to_numpy(keras.Model(model.inputs, layer.input)([x]))
    pre = inputs.reshape(-1, inputs.shape[-1]) @ np.asarray(layer.kernel) + np.asarray(layer.bias)
    np.testing.assert_allclose((pre > 0).mean(axis=0), 0.9, atol=0.01)
    np.testing.assert_allclose((pre < np.asarray(layer.beta_low)).mean(axis=0), 0.3, atol=0.01)
    np.testing.assert_allclose((pre > np.asarray(layer.beta_high)).mean(axis=0), 0.1, atol=0.01)
    with pytest.raises(ValueError, match="centre"):
        init_thresholds_from_data(model, x, (0.5, 0.8, 0.6))


def test_predict_in_batches_is_predict():
    keras.utils.set_random_seed(0)
    model = build_kws_model(13, 3, ModelConfig(units=3), 0.0)
    x = np.random.default_rng(1).uniform(0, 1, (7, 20, 13)).astype("float32")
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(predict_in_batches(model, x, batch_size=3), expected, atol=1e-5)
    assert predict_in_batches(model, x[:0]).shape[0] == 0
