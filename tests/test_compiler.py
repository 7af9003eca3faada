"""The exporter as a compiler: any Keras graph of the supported layers walks,
refusals are clean, the kit runs in plain ngspice, the simulation side loads
no TensorFlow, and a 2-layer circuit whose cells switch up and down decides
as Keras (real ngspice, real GF180MCU models)."""

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from bmru_keras.config import DataConfig, FeatureConfig, ModelConfig
from bmru_keras.data.pipeline import load_split
from bmru_keras.data.speech_commands import build_clips, sample_dir
from bmru_keras.evaluation import clip_decisions
from bmru_keras.initialization import init_thresholds_from_data
from bmru_keras.layers import FQBMRU
from bmru_keras.models import build_kws_model, direct_outputs
from exporters import ExportError, export_to_circuit
from exporters.deck import read_testbench_output
from exporters.graph import to_network
from exporters.kit import clip_stimuli
from exporters.network import Memory
from exporters.simulate import simulate_clip
from exporters.software import (
    frame_edge_logits,
    quantized_model,
    realized_states,
    realized_sums,
)

UNIT = 7e-10
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample_inputs():
    """Network inputs (13 offset-mapped features) of 24 clips of the sample."""
    from bmru_keras.features import to_network_input

    _, clips = build_clips(sample_dir(), DataConfig(), seed=0, splits=("all",))
    offset = FeatureConfig(input_mapping="offset")
    data = load_split(sample_dir(), clips["all"][:24], offset, None)
    return to_network_input(data.features, offset)


def _sequential(units=3):
    keras.utils.set_random_seed(3)
    return keras.Sequential(
        [keras.Input((None, 13)), FQBMRU(units, return_sequences=True), keras.layers.Dense(2)]
    )


def test_sequential_reloaded_from_a_keras_file_exports_and_simulates(tmp_path, sample_inputs):
    model = _sequential()
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    network = to_network(reloaded)
    assert [type(op).__name__ for op in network.operations] == ["Memory", "Affine"]
    export = export_to_circuit(reloaded, level="behavioral")
    logits = export.predict(sample_inputs[0, :30])
    assert logits.shape == (1, 30, 2) and np.isfinite(logits).all()
    realized = quantized_model(reloaded, export).predict(sample_inputs[:1, :30], verbose=0)
    assert np.mean(logits.argmax(-1) == realized.argmax(-1)) > 0.9


def test_functional_with_skips_and_a_config_model_export_alike():
    # build_kws_model is functional, with Add skips around each memory block.
    model = build_kws_model(13, 2, ModelConfig(units=2, layers=2))
    network = to_network(model)
    kinds = [type(op).__name__ for op in network.operations]
    assert kinds.count("Memory") == 2 and kinds.count("Add") == 2 and network.output == "classifier"
    adds = [op for op in network.operations if type(op).__name__ == "Add"]
    assert all(len(op.sources) == 2 for op in adds)
    inputs = keras.Input((None, 13))
    x = keras.layers.Dense(3, name="a")(inputs)
    y = keras.layers.ReLU(name="r")(x)
    z = keras.layers.Add(name="skip")([x, keras.layers.Dense(3, name="b")(y)])
    out = keras.layers.Dense(2, name="readout")(FQBMRU(3, return_sequences=True, name="m")(z))
    network = to_network(keras.Model(inputs, out))
    assert network.operation("skip").sources == ("a", "b")
    assert network.operation("m").source == "skip"


@pytest.mark.parametrize(
    "layer, reason",
    [
        (FQBMRU(2, return_sequences=True, go_backwards=True), "go_backwards"),
        (FQBMRU(2, return_sequences=False), "return_sequences=False"),
    ],
)
def test_recurrent_settings_without_a_circuit_are_refused(layer, reason):
    inputs = keras.Input((None, 13))
    out = layer(inputs)
    if reason == "go_backwards":
        out = keras.layers.Dense(2)(out)
    model = keras.Model(inputs, out)
    with pytest.raises(ExportError, match=reason):
        to_network(model)


def test_stateful_and_masking_are_refused():
    stateful = keras.Sequential(
        [keras.Input((None, 13), batch_size=1), FQBMRU(2, return_sequences=True, stateful=True),
         keras.layers.Dense(2)]
    )  # fmt: skip
    with pytest.raises(ExportError, match="stateful=True"):
        to_network(stateful)
    masked = keras.Sequential(
        [keras.Input((None, 13)), keras.layers.Masking(), FQBMRU(2, return_sequences=True),
         keras.layers.Dense(2)]
    )  # fmt: skip
    with pytest.raises(ExportError, match="masking"):
        to_network(masked)


def test_non_finite_and_unrealizable_parameters_are_refused():
    model = _sequential(2)
    dense = model.layers[-1]
    dense.kernel.assign(np.where(np.eye(2, dtype=bool), np.nan, 0.5))
    with pytest.raises(ExportError, match=r"'dense.*kernel\[0, 0\] is nan.*2 of its 4"):
        to_network(model)
    dense.kernel.assign(np.full((2, 2), 1e6))
    with pytest.raises(ExportError, match="parallel mirror copies"):
        export_to_circuit(model, sizing=_nominal_sizing())
    dense.kernel.assign(np.full((2, 2), 0.5))
    model.layers[0].cell.raw_beta_low.assign([1e3, 0.5])
    with pytest.raises(ExportError, match="unit 0: I_thresh.*subthreshold"):
        export_to_circuit(model, sizing=_nominal_sizing())


def _nominal_sizing():
    from exporters.blocks import Sizing

    return Sizing(4e-6, 8e-6, measured=())  # nominal copy ratios: no ngspice run


def test_simulation_side_loads_no_tensorflow():
    modules = (
        "exporters.simulate, exporters.deck, exporters.lower, exporters.mirrors, "
        "exporters.mismatch, exporters.noise, exporters.characterize, exporters.design, "
        "exporters.writers.transistor, exporters.writers.behavioral, exporters.jobs"
    )
    script = (
        f"import importlib, sys\nfor m in '{modules}'.split(', '): importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]"
        "\nassert not bad, bad[:5]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _switch_up_and_down(states: np.ndarray) -> bool:
    """Every unit goes on after being off, then off again."""
    for unit in states.T:
        rises = np.flatnonzero(~unit[:-1] & unit[1:])
        falls = np.flatnonzero(unit[:-1] & ~unit[1:])
        if not len(rises) or not len(falls) or falls.max() < rises.min():
            return False
    return True


@pytest.fixture(scope="module")
def two_layer(sample_inputs):
    """A 2-layer, 2-unit model whose thresholds are set from the data, and
    the clips on which every memory cell switches up and back down."""
    keras.utils.set_random_seed(3)
    model = build_kws_model(13, 2, ModelConfig(units=2, layers=2))
    init_thresholds_from_data(model, sample_inputs)
    states = realized_states(model, sample_inputs, ["memory_0", "memory_1"])
    both = [
        i
        for i in range(len(sample_inputs))
        if _switch_up_and_down(states["memory_0"][i]) and _switch_up_and_down(states["memory_1"][i])
    ]
    assert len(both) >= 2, "the sample should hold clips where every cell switches"
    return model, both[:2]


def test_the_software_side_traces_no_function_per_model(two_layer, sample_inputs, caplog):
    """The studies read many one-off models (a quantized copy per chip, a
    sub-model per probe) by direct calls: ``predict`` would trace a function
    for each, and TensorFlow warns of retracing after five."""
    model, _ = two_layer
    export = export_to_circuit(model, unit_current=UNIT, sizing=_nominal_sizing())
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for _ in range(6):
            realized = quantized_model(model, export)
            logits = direct_outputs(realized, sample_inputs)[0]
            realized_states(realized, sample_inputs, ["memory_0"])
            realized_sums(realized, sample_inputs, ["memory_0"])
    assert logits.shape == (*sample_inputs.shape[:2], 2)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_two_layer_circuit_switches_and_decides_as_keras(two_layer, sample_inputs):
    model, chosen = two_layer
    export = export_to_circuit(model, unit_current=UNIT)
    realized = quantized_model(model, export)
    software = realized.predict(sample_inputs[chosen], verbose=0)
    states = realized_states(realized, sample_inputs[chosen], ["memory_0", "memory_1"])
    for k, i in enumerate(chosen):
        sim = simulate_clip(export, sample_inputs[i])
        for layer in ("memory_0", "memory_1"):
            assert _switch_up_and_down(sim.states[layer]), layer  # up and back down on silicon
            assert np.mean(sim.states[layer] == states[layer][k]) > 0.9, layer
        assert np.mean(sim.logits.argmax(1) == software[k].argmax(1)) > 0.85
        assert np.median(np.abs(sim.logits - software[k])) < 0.15  # readout mirrors within range
        assert clip_decisions(sim.logits[None])[0] == clip_decisions(software[k : k + 1])[0]


def test_frame_edge_replay_updates_the_second_layer_on_the_transient_first(
    two_layer, sample_inputs
):
    trained, _ = two_layer
    model = keras.models.clone_model(trained)  # its thresholds are changed below
    model.set_weights(trained.get_weights())
    x = sample_inputs
    names = ("input_dense", "memory_0", "skip_0")
    direct, s0, settled = (
        np.asarray(v)
        for v in keras.Model(model.input, [model.get_layer(n).output for n in names])(x)
    )
    out0 = model.get_layer("output_dense_0")
    previous = np.concatenate([np.zeros_like(s0[:, :1]), s0[:, :-1]], axis=1)
    transient = direct + previous @ np.asarray(out0.kernel) + np.asarray(out0.bias)
    cell = model.get_layer("memory_1").cell
    kernel, bias = np.asarray(cell.kernel), np.asarray(cell.bias)
    seen, final = (np.maximum(np.maximum(h, 0) @ kernel + bias, 0) for h in (transient, settled))

    def states(low, high, steps):  # the cells frame by frame, on each step's input
        state = np.zeros(seen.shape[0::2])
        out = np.zeros_like(seen)
        for t in range(seen.shape[1]):
            for c in steps(t):
                state = np.where(c > high, 1.0, np.where(c < low, 0.0, state))
            out[:, t] = state
        return out

    # Thresholds at which the transient changes some state: searched on a grid
    # of the inputs' quantiles (the data-set ones rarely meet a transient).
    grid = np.quantile(final[final > 0], np.linspace(0.05, 0.95, 10))
    found = None
    for low, high in ((a, b) for a in grid for b in grid if a < b):
        pair = (np.full(2, low), np.full(2, high))
        replayed = states(*pair, lambda t: (seen[:, t], final[:, t]))
        if (replayed != states(*pair, lambda t: (final[:, t],))).any():
            found = pair, replayed
            break
    assert found is not None, "the sample should hold a transient that changes a state"
    (low, high), replayed = found
    cell.raw_beta_low.assign(low)
    cell.raw_beta_width.assign(high - low)
    out1, readout = model.get_layer("output_dense_1"), model.get_layer("classifier")
    hidden = settled + (replayed * np.asarray(cell.alpha)) @ np.asarray(out1.kernel)
    hidden = hidden + np.asarray(out1.bias)
    expected = hidden @ np.asarray(readout.kernel) + np.asarray(readout.bias)
    replay = frame_edge_logits(model, x)
    np.testing.assert_allclose(replay, expected, atol=1e-4)
    assert not np.allclose(replay, np.asarray(model(x)), atol=1e-4)  # the plain model differs
    with pytest.raises(ValueError, match="two memory layers"):
        frame_edge_logits(_sequential(), x)


def test_kit_runs_in_plain_ngspice_elsewhere(two_layer, sample_inputs, tmp_path):
    model, chosen = two_layer
    export = export_to_circuit(model, unit_current=UNIT)
    stimuli = clip_stimuli(model, sample_inputs[chosen[:1], :40], ["yes/clip.wav"])
    export.write(tmp_path / "kit", stimuli)
    moved = shutil.copytree(tmp_path / "kit", tmp_path / "elsewhere")
    shutil.rmtree(tmp_path / "kit")
    network = (moved / "network.spice").read_text()
    assert ".lib models/sm141064.ngspice typical" in network and "/" not in network.split("\n")[
        1
    ].removeprefix(".include models/")
    assert (moved / "models" / "LICENSE.md").is_file()
    assert ".param ib_th_memory_0_0=" in network and "beta_low" in network
    bench = "tb_00_yes_clip"
    done = subprocess.run(
        ["ngspice", "-b", f"{bench}.spice"], cwd=moved, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    vectors = read_testbench_output(moved / f"{bench}.out")
    expected = json.loads((moved / f"{bench}.expected.json").read_text())
    frames = np.arange(len(expected["sw_logits"]))
    sample = (frames + 0.95) * expected["frame_s"]
    logits = (
        np.stack(
            [
                np.interp(sample, vectors["time"], vectors[f"vp{k}#branch"])
                - np.interp(sample, vectors["time"], vectors[f"vn{k}#branch"])
                for k in range(2)
            ],
            axis=1,
        )
        / UNIT
    )
    decision = clip_decisions(logits[None], expected["decision_rule"])[0]
    assert decision == expected["sw_decision"]
    assert np.mean(logits.argmax(1) == np.argmax(expected["sw_logits"], 1)) > 0.85
    assert "i_vdd_vdd_cell" in done.stdout


def test_memory_parameters_reach_the_network_model():
    model = _sequential(2)
    (memory,) = [op for op in to_network(model).operations if isinstance(op, Memory)]
    layer = model.layers[0]
    np.testing.assert_allclose(memory.beta_high, np.asarray(layer.beta_high), rtol=1e-6)
    np.testing.assert_allclose(memory.alpha, np.asarray(layer.alpha) * np.ones(2), rtol=1e-6)


def test_export_command_takes_a_bare_keras_file(tmp_path, capsys):
    from bmru_keras.cli import main

    model = _sequential(2)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "x.npy", np.full((1, 12, 13), 0.4, dtype=np.float32))
    out = tmp_path / "kit"
    command = ["export", str(tmp_path / "model.keras"), "--out", str(out), "--level", "behavioral"]
    assert main([*command, "--inputs", str(tmp_path / "x.npy")]) == 0
    expected = json.loads((out / "tb_00_input0.expected.json").read_text())
    assert (
        len(expected["sw_logits"]) == 12 and "tb_00_input0.spice" in (out / "README.md").read_text()
    )
    assert "ngspice -b" in capsys.readouterr().out


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--unit-device", "0", "0"], "give positive sizes"),
        (["--unit-current", "1e-3"], "outside 0.1 pA - 100 nA"),
        (["--cell-ratio", "0"], "give an integer 1-8"),
        (["--level", "behavioral", "--model-library", "x.lib", "--nmos", "n", "--pmos", "p"],
         "behavioral level has ideal elements"),
        (["--model-library", "missing.lib", "--nmos", "n", "--pmos", "p"], "missing.lib not found"),
    ],
)  # fmt: skip
def test_circuit_options_are_checked_before_any_work(tmp_path, capsys, flags, message):
    from bmru_keras.cli import main

    _sequential(2).save(tmp_path / "model.keras")
    assert (
        main(["export", str(tmp_path / "model.keras"), "--out", str(tmp_path / "k"), *flags]) == 2
    )
    assert message in capsys.readouterr().err
    assert not (tmp_path / "k").exists()


def test_a_bad_model_library_is_named_not_blamed_on_convergence(tmp_path):
    from exporters.pdk import ProcessModels, gf180mcu

    gf = gf180mcu()
    wrong = ProcessModels(gf.library, "tt_typo", gf.nmos, gf.pmos, includes=gf.includes)
    with pytest.raises(ExportError, match="no section 'tt_typo'.*typical"):
        export_to_circuit(_sequential(1), models=wrong)
    (tmp_path / "garbage.lib").write_text("this is not a model library\n")
    script = (
        "import numpy as np, keras\nfrom pathlib import Path\n"
        "from bmru_keras.layers import FQBMRU\nfrom exporters import export_to_circuit\n"
        "from exporters.blocks import Sizing\nfrom exporters.pdk import ProcessModels\n"
        "m = keras.Sequential([keras.Input((None, 3)), FQBMRU(1, return_sequences=True), "
        "keras.layers.Dense(2)])\n"
        f"models = ProcessModels(Path({str(tmp_path / 'garbage.lib')!r}), None, 'n', 'p')\n"
        "e = export_to_circuit(m, models=models, sizing=Sizing(4e-6, 8e-6, measured=()))\n"
        "e.predict(np.full((3, 3), 0.5))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode != 0
    assert "could not read the circuit's models" in done.stderr
    assert "converge" not in done.stderr.splitlines()[-1]
