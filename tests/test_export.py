"""Exporting a model to a transistor-level circuit and simulating it in
ngspice against Keras (real ngspice, real GF180MCU models)."""

import re

import keras
import numpy as np
import pytest

from bmru_keras.config import DataConfig, FeatureConfig, ModelConfig
from bmru_keras.data.pipeline import load_split
from bmru_keras.data.speech_commands import build_clips, sample_dir
from bmru_keras.evaluation import clip_decisions
from bmru_keras.features import to_network_input
from bmru_keras.models import build_kws_model
from exporters import ExportError, export_to_circuit
from exporters.simulate import simulate_clip

UNIT = 3e-10


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(4)
    model = build_kws_model(13, 2, ModelConfig(units=2, layers=1))
    memory = model.get_layer("memory_0")
    memory.cell.kernel.assign(np.abs(np.asarray(memory.cell.kernel)) + 0.3)
    memory.cell.raw_beta_low.assign([0.3, 0.5])
    memory.cell.raw_beta_width.assign([0.4, 0.3])
    model.get_layer("classifier").bias.assign([0.2, -0.1])
    return model


@pytest.fixture(scope="module")
def tiny_export(tiny_model):
    return export_to_circuit(tiny_model, unit_current=UNIT, vdd=0.9)


def test_netlist_is_hierarchical_with_one_block_per_layer(tiny_export):
    library, top = tiny_export.library, tiny_export.netlist
    for name in (
        "fqbmru_cell", "input_features", "dense_input_dense", "relu_relu_0",
        "memory_memory_0", "dense_output_dense_0", "add_skip_0", "readout_classifier",
    ):  # fmt: skip
        assert f".subckt {name} " in library, name
        assert library.count(f".ends {name}\n") == 1
    instances = re.findall(r"^X\d+ .* (\w+)$", top, flags=re.M)
    assert sorted(instances) == sorted(
        ["input_features", "dense_input_dense", "relu_relu_0", "memory_memory_0",
         "dense_output_dense_0", "add_skip_0", "readout_classifier", "bias_unit"]
    )  # fmt: skip
    memory = library.split(".subckt memory_memory_0")[1].split(".ends")[0]
    assert len(re.findall(r" fqbmru_cell$", memory, flags=re.M)) == 2
    assert tiny_export.transistors["memory"] >= 2 * 9
    assert tiny_export.transistor_count == sum(tiny_export.transistors.values())


def test_bias_currents_are_the_mapped_parameters(tiny_model, tiny_export):
    layer = tiny_model.get_layer("memory_0")
    table = {
        (row["unit"], row["name"]): row["amperes"]
        for row in tiny_export.bias_table
        if row["block"] == "memory_0"
    }
    high, low, alpha = (np.asarray(v) for v in (layer.beta_high, layer.beta_low, layer.alpha))
    for unit in range(2):
        assert table[unit, "I_thresh"] == pytest.approx(high[unit] * UNIT)
        assert table[unit, "I_width"] == pytest.approx((high[unit] - low[unit]) * UNIT)
        assert table[unit, "I_gain"] == pytest.approx(alpha[unit] * UNIT)
        assert f"IB_th_memory_0_{unit} vdd_bias th_memory_0_{unit} {table[unit, 'I_thresh']:g}"[
            :40
        ] in (tiny_export.netlist)
    kernel = np.asarray(tiny_model.get_layer("input_dense").kernel)
    realized = tiny_export.quantized_weights["input_dense"][0]
    # Widths on a 0.1 um grid of a 4 um unit: within half a step, 0.0125.
    wide = np.abs(kernel) >= 0.125
    assert np.all(np.abs(realized[wide] - kernel[wide]) <= 0.0125 + 1e-6)
    assert np.all(np.sign(realized[wide]) == np.sign(kernel[wide]))
    assert all(w["relative_error"] is not None for w in tiny_export.weights)


def test_write_gives_the_designer_files(tiny_export, tmp_path):
    out = tiny_export.write(tmp_path / "circuit")
    for name in ("network.spice", "cells.lib", "bias_table.csv", "bias_table.json",
                 "weights.json", "README.md"):  # fmt: skip
        assert (out / name).is_file(), name
    deck = (out / "network.spice").read_text()
    assert ".lib " in deck and "sm141064.ngspice typical" in deck and deck.rstrip().endswith(".end")


def test_layer_without_handler_is_named():
    inputs = keras.Input((None, 3))
    x = keras.layers.LayerNormalization(name="norm")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    with pytest.raises(
        ExportError,
        match=r"'norm' \(LayerNormalization\) has no circuit handler.*register_handler",
    ):
        export_to_circuit(model)


def test_relaxed_memory_is_refused():
    model = build_kws_model(13, 2, ModelConfig(units=2, layers=1), epsilon=0.5)
    with pytest.raises(ExportError, match="epsilon=0.5"):
        export_to_circuit(model)


def test_ngspice_transient_decides_as_keras(tiny_model, tiny_export):
    names, clips = build_clips(sample_dir(), DataConfig(), seed=0, splits=("all",))
    data = load_split(sample_dir(), clips["all"][:12], FeatureConfig(), None)
    x = to_network_input(data.features, FeatureConfig())
    software = tiny_model.predict(x, verbose=0)
    # The two clips whose software decisions are the clearest (largest vote margin).
    votes = (software.argmax(-1) == 0).mean(axis=1)
    chosen = np.argsort(-np.abs(votes - 0.5))[:2]
    probe = keras.Model(tiny_model.inputs, tiny_model.get_layer("memory_0").output)
    states = probe.predict(x[chosen], verbose=0) > 0
    for k, i in enumerate(chosen):
        sim = simulate_clip(tiny_export, x[i])
        assert clip_decisions(sim.logits[None])[0] == clip_decisions(software[i : i + 1])[0]
        assert np.mean(sim.states["memory_0"] == states[k]) > 0.9
        assert np.mean(sim.logits.argmax(1) == software[i].argmax(1)) > 0.8
        assert 0 < sim.power["cell"] < 20e-9 and 0 < sim.power["ff"] < 100e-9


TINY_RUN = """
name: tiny
data:
  split: {method: speaker_hash, salt: sample36, validation: 0.2, test: 0.2}
augment: {enabled: false}
model: {units: 2, layers: 1}
train: {epochs: 2, batch_size: 16, epsilon: null, tensorboard: false, verbose: 0}
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from bmru_keras.cli import main

    folder = tmp_path_factory.mktemp("run")
    (folder / "tiny.yaml").write_text(TINY_RUN)
    assert main(["run", str(folder / "tiny.yaml"), "--out", str(folder / "run")]) == 0
    return folder / "run"


def test_export_and_verify_commands(tiny_run, tmp_path, capsys, monkeypatch):
    import json

    from bmru_keras.cli import main
    from exporters import verify

    assert main(["export", str(tiny_run), "--out", str(tmp_path / "circuit")]) == 0
    assert (tmp_path / "circuit" / "network.spice").is_file()
    # One clip fails in the simulator: it is reported, the other is kept.
    real = verify.simulate_clip
    calls = []

    def flaky(export, features, frame):
        calls.append(1)
        if len(calls) == 1:
            raise verify.SimulationError("timestep too small")
        return real(export, features, frame)

    monkeypatch.setattr(verify, "simulate_clip", flaky)
    capsys.readouterr()
    sample = str(sample_dir())
    assert main(["verify", str(tiny_run), "--data-dir", sample, "--clips", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("clip_agreement", "hw_clip_accuracy", "sw_clip_accuracy", "avg_power_w",
                "transistors", "n_clips", "energy_per_inference_j"):  # fmt: skip
        assert key in result, key
    report = (tiny_run / "verification" / "verification.md").read_text()
    assert result["n_clips"] == 2 and result["n_failed"] == 1, report
    assert result["transistors"] > 100 and result["avg_power_w"] > 0
    report = (tiny_run / "verification" / "verification.md").read_text()
    assert "timestep too small" in report


def test_verify_without_a_model_names_the_folder(tmp_path, capsys):
    from bmru_keras.cli import main

    assert main(["verify", str(tmp_path), "--data-dir", str(tmp_path)]) == 2
    assert "no config.yaml" in capsys.readouterr().err
