"""The paper topology, clip decisions, and a tiny experiment through the CLI."""

import json

import keras
import numpy as np
import pytest

from bmru_keras.cli import main
from bmru_keras.config import ModelConfig
from bmru_keras.evaluation import clip_decisions, clip_metrics
from bmru_keras.models import build_kws_model
from bmru_keras.training import RUN_FILES, RunFolderError, evaluate_run, load_run


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


@pytest.mark.parametrize("recurrent", ["gru", "bmru", "cmru"])
def test_baselines_swap_only_the_memory_layer(recurrent):
    model = build_kws_model(13, 12, ModelConfig(recurrent=recurrent, units=8, skip=False))
    assert isinstance(model.get_layer("memory_1"), keras.layers.RNN)
    assert "skip_0" not in [layer.name for layer in model.layers]
    assert model(np.zeros((2, 20, 13), "float32")).shape == (2, 20, 12)


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
    # The reloaded run evaluates to exactly the numbers it recorded.
    sample = metrics["data_dir"]
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data-dir", sample, "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    for key in ("clip_accuracy", "balanced_accuracy", "frame_accuracy", "n_clips"):
        assert evaluated[key] == metrics["testing"][key], key
    assert evaluated["confusion_matrix"] == metrics["testing"]["confusion_matrix"]
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


def test_a_few_clips_of_a_split_cover_every_class(tiny_run):
    from bmru_keras.data.speech_commands import sample_dir
    from bmru_keras.training import run_inputs

    config, _, normalization = load_run(tiny_run)
    _, everything, _ = run_inputs(config, normalization, sample_dir(), "heldout")
    assert everything.labels[0] == everything.labels[1] == 0  # the split lists "yes" first
    _, few, x = run_inputs(config, normalization, sample_dir(), "heldout", 4)
    assert sorted(few.labels) == [0, 0, 1, 1] and len(x) == 4


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
