"""Exporting a model to a transistor-level circuit and simulating it in
ngspice against Keras (real ngspice, real GF180MCU models)."""

import dataclasses
import json
import os
import re
import shutil
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from bmru_keras.config import DataConfig, FeatureConfig, ModelConfig
from bmru_keras.data.pipeline import load_split
from bmru_keras.data.speech_commands import build_clips, sample_dir
from bmru_keras.evaluation import clip_decisions
from bmru_keras.features import to_network_input
from bmru_keras.models import build_kws_model
from bmru_keras.training import evaluate_run, load_run
from exporters import ExportError, export_to_circuit
from exporters.cells import OUTPUT_CAPACITANCE
from exporters.circuit import Block, Capacitor, Circuit, Device, Instance, Subcircuit
from exporters.deck import Stimulus
from exporters.design import Design
from exporters.simulate import SAMPLE, simulate_clip, simulate_samples
from exporters.software import local_sums, realized_states, realized_sums

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
        "fqbmru_cell", "input_features", "dense_input_dense", "memory_memory_0",
        "dense_output_dense_0", "add_skip_0", "readout_classifier",
    ):  # fmt: skip
        assert f".subckt {name} " in library, name
        assert library.count(f".ends {name}\n") == 1
    instances = re.findall(r"^X(\w+) .* (\w+)$", top, flags=re.M)
    assert all(name == block for name, block in instances)  # instances named after their block
    assert sorted(block for _, block in instances) == sorted(
        ["input_features", "dense_input_dense", "memory_memory_0",
         "dense_output_dense_0", "add_skip_0", "readout_classifier"]
    )  # fmt: skip
    # A hidden Dense layer puts out each output rectified, (max(y, 0), max(-y, 0)):
    # the ReLU after it is its positive side and needs no block.
    assert ".subckt relu_relu_0 " not in library
    dense = library.split(".subckt dense_input_dense ")[1].split(".ends")[0]
    assert all(f" input_dense_{j}{side}r " in dense for j in range(2) for side in "pn")
    memory = library.split(".subckt memory_memory_0")[1].split(".ends")[0]
    assert len(re.findall(r" fqbmru_cell$", memory, flags=re.M)) == 2
    assert tiny_export.transistors["memory"] >= 2 * 9
    assert tiny_export.transistor_count == sum(tiny_export.transistors.values())


def test_area_counts_every_gate_and_capacitor(tiny_export):
    cell = Subcircuit(
        "c", ["a"], [Device("M1", "n", "a", "a", "g", "g"), Capacitor("C1", "a", "g", 1e-12)]
    )
    block = Block("b", ["a"], kind="memory")
    block.elements += [
        Device("M1", "n", "a", "a", "g", "g", 2e-6, 3e-6, m=2),
        Instance("X1", ("a",), "c", 1),
    ]
    circuit = Circuit([cell], [block], [], [], [], {}, {}, {}, [], [], {})
    area = circuit.area((4e-6, 8e-6), 2e-3)
    assert area["gate"] == pytest.approx((2 * 3 * 2 + 4 * 8) * 1e-12)  # m^2
    assert area["capacitor"] == pytest.approx(500e-12)  # 1 pF at 2 fF/um^2
    cells = 2  # tiny_model's memory cells, each with the default output capacitor
    assert tiny_export.area["capacitor"] == pytest.approx(cells * OUTPUT_CAPACITANCE / 2e-3)
    assert tiny_export.area["gate"] > tiny_export.transistor_count * 0.5e-6 * 8e-6
    assert "Estimated area:" in tiny_export.readme([])


def test_bias_currents_are_the_mapped_parameters(tiny_model, tiny_export):
    layer = tiny_model.get_layer("memory_0")
    table = {
        (row["unit"], row["name"]): row["amperes"]
        for row in tiny_export.bias_table
        if row["block"] == "memory_0"
    }
    high, low, alpha = (np.asarray(v) for v in (layer.beta_high, layer.beta_low, layer.alpha))
    cell = Design().cell_ratio * UNIT  # the cells run at a multiple of the unit current
    step = cell / 512  # half a bias-DAC step
    for unit in range(2):
        assert table[unit, "I_thresh"] == pytest.approx(high[unit] * cell, abs=step)
        assert table[unit, "I_width"] == pytest.approx((high[unit] - low[unit]) * cell, abs=step)
        assert table[unit, "I_gain"] == pytest.approx(alpha[unit] * cell, abs=step)
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


def test_local_sums_take_the_circuits_upstream_signals(tiny_model):
    x = np.random.default_rng(0).uniform(0, 1, (2, 20, 13))
    dense, memory = ["input_dense", "output_dense_0"], ["memory_0"]
    software = realized_sums(tiny_model, x, [*dense, *memory, "classifier"])
    states = realized_states(tiny_model, x, memory)
    # Given the software's own signals, they are the software's sums.
    own = local_sums(
        tiny_model, x[0], {n: software[n][0] for n in dense}, {"memory_0": states["memory_0"][0]}
    )
    for name, value in own.items():
        np.testing.assert_allclose(value, software[name][0], atol=1e-5, err_msg=name)
    # Given a first layer that reads 20 % high and a cell stuck on, each layer after
    # them is computed from those signals: its sums differ from the software's only
    # by what came in, so its own error is what its measurement shows.
    measured = {n: software[n][0] * (1.2 if n == "input_dense" else 1.0) for n in dense}
    stuck = np.ones_like(states["memory_0"][0])
    local = local_sums(tiny_model, x[0], measured, {"memory_0": stuck})
    memory_layer = tiny_model.get_layer("memory_0")
    expected = np.maximum(measured["input_dense"], 0) @ np.asarray(memory_layer.cell.kernel)
    np.testing.assert_allclose(
        local["memory_0"], expected + np.asarray(memory_layer.cell.bias), atol=1e-5
    )
    out = tiny_model.get_layer("output_dense_0")
    alpha = np.asarray(memory_layer.alpha)
    np.testing.assert_allclose(
        local["output_dense_0"],
        (stuck * alpha) @ np.asarray(out.kernel) + np.asarray(out.bias),
        atol=1e-5,
    )
    assert not np.allclose(local["memory_0"], software["memory_0"][0])


def test_bias_trims_are_the_chips_bias_dacs_and_move_its_outputs(tiny_model, tiny_export):
    from exporters.trims import BiasTrims

    trims = BiasTrims(biases={"classifier": np.array([0.3, 0.0])})
    trimmed = export_to_circuit(tiny_model, unit_current=UNIT, vdd=0.9, trims=trims)
    # Only the bias DACs' currents differ: the same devices, the same sizes.
    assert trimmed.library == tiny_export.library
    nominal = {s.name: s.amperes for s in tiny_export.bias_sources}
    changed = {s.name for s in trimmed.bias_sources if s.amperes != nominal[s.name]}
    assert changed == {"IB_b_classifier_0p"}
    assert ".param ib_b_classifier_0p=" in trimmed.netlist
    x = np.random.default_rng(3).uniform(0, 1, (8, 13)).astype("float32")
    before, after = (simulate_clip(e, x).logits for e in (tiny_export, trimmed))
    np.testing.assert_allclose(after[:, 0] - before[:, 0], 0.3, atol=0.03)  # up by 0.3 units
    np.testing.assert_allclose(after[:, 1], before[:, 1], atol=0.01)


def test_one_simulation_read_through_the_frame_settles_toward_its_sample(tiny_export):
    x = np.random.default_rng(6).uniform(0, 1, (8, 13)).astype("float32")
    early, late = simulate_samples(tiny_export, x, 0.01, 27.0, (0.05, SAMPLE))
    sampled = simulate_clip(tiny_export, x)
    np.testing.assert_allclose(late.logits, sampled.logits)  # the verification's reading
    assert late.power == early.power  # one simulation
    # Just after a frame's edge its inputs have moved and the sums lag them.
    moved = np.abs(early.dense["input_dense"] - late.dense["input_dense"])
    assert np.max(moved[1:]) > 0.01
    with pytest.raises(ValueError, match="between 0 and 1"):
        simulate_samples(tiny_export, x, 0.01, 27.0, (1.0,))


def test_threshold_trims_move_where_the_cells_switch(tiny_model, tiny_export):
    from exporters.trims import BiasTrims

    layer = tiny_model.get_layer("memory_0")
    high, low = np.asarray(layer.beta_high), np.asarray(layer.beta_low)
    x = np.random.default_rng(5).uniform(0, 1, (10, 13)).astype("float32")
    nominal = simulate_clip(tiny_export, x)
    seen = nominal.candidates["memory_0"]  # each cell's input, units
    # Between its start and its sample a frame's input spans its sampled value.
    lowest, highest = np.moveaxis(nominal.candidate_range["memory_0"], -1, 0)
    assert np.all(lowest <= seen + 1e-9) and np.all(seen <= highest + 1e-9)
    assert np.any(highest - lowest > 0.01)  # the frames' edges move it
    # A cell measured as g c + o switches at g beta + o: here unit 0 above
    # every input it sees (never on), unit 1 below all of them (on throughout).
    gain = np.array([1.0, 1.5])
    offset = np.array([seen[:, 0].max() + 0.5 - high[0], seen[:, 1].min() - 0.3 - 1.5 * high[1]])
    trims = BiasTrims(thresholds={"memory_0": (gain, offset)})
    # A verification's JSON gives the same trims back.
    again = BiasTrims.from_dict(json.loads(json.dumps(trims.as_dict())))
    assert again.as_dict() == trims.as_dict()
    trimmed = export_to_circuit(tiny_model, unit_current=UNIT, vdd=0.9, trims=again)
    assert trimmed.library == tiny_export.library  # bias currents only
    nominal_amps = {s.name: s.amperes for s in tiny_export.bias_sources}
    amps = {s.name: s.amperes for s in trimmed.bias_sources}
    assert {n for n in amps if amps[n] != nominal_amps[n]} <= {
        f"IB_{k}_memory_0_{u}" for k in ("th", "wd") for u in range(2)
    }
    cell = Design().cell_ratio * UNIT
    for u in range(2):
        wanted = max(gain[u] * high[u] + offset[u], 0.0) * cell
        assert amps[f"IB_th_memory_0_{u}"] == pytest.approx(wanted, abs=cell / 512)
        assert amps[f"IB_wd_memory_0_{u}"] == pytest.approx(
            gain[u] * (high[u] - low[u]) * cell, abs=cell / 512
        )
    states = simulate_clip(trimmed, x).states["memory_0"]
    assert not states[:, 0].any() and states[1:, 1].all()


def test_a_comparator_trim_sets_each_cell_against_its_own_error(tiny_model):
    from exporters.trims import BiasTrims

    layer = tiny_model.get_layer("memory_0")
    high, low = np.asarray(layer.beta_high), np.asarray(layer.beta_low)
    up, down = np.array([0.1, -0.05]), np.array([0.0, 0.02])  # switched that far off
    trims = BiasTrims(
        thresholds={"memory_0": (np.ones(2), np.zeros(2))},
        comparators={"memory_0": (up, down)},
        guards={"memory_0": 0.04},  # and each set to reset that much lower
    )
    again = BiasTrims.from_dict(json.loads(json.dumps(trims.as_dict())))
    amps = {
        s.name: s.amperes
        for s in export_to_circuit(tiny_model, unit_current=UNIT, vdd=0.9, trims=again).bias_sources
    }
    cell = Design().cell_ratio * UNIT
    for u in range(2):  # set where the cell, with its error, switches at beta
        assert amps[f"IB_th_memory_0_{u}"] == pytest.approx(
            (high[u] - up[u]) * cell, abs=cell / 512
        )
        assert amps[f"IB_wd_memory_0_{u}"] == pytest.approx(
            (high[u] - up[u] - low[u] + down[u] + 0.04) * cell, abs=cell / 512
        )


def test_the_reset_guard_goes_to_the_cells_fed_by_other_cells():
    from bmru_keras.layers import FQBMRU
    from exporters.calibrate import fed_by_memories

    x = keras.Input((None, 13))
    first = FQBMRU(3, return_sequences=True, name="first")(x)
    beside = FQBMRU(2, return_sequences=True, name="beside")(x)  # fed by the input alone
    mixed = keras.layers.Dense(4, name="mix")(keras.layers.Concatenate()([first, x]))
    second = FQBMRU(3, return_sequences=True, name="second")(mixed)
    third = FQBMRU(2, return_sequences=True, name="third")(keras.layers.Dense(4)(second))
    out = keras.layers.Dense(2)(keras.layers.Concatenate()([third, beside]))
    assert fed_by_memories(keras.Model(x, out)) == ["second", "third"]
    kws = build_kws_model(13, 2, ModelConfig(units=2, layers=2))
    assert fed_by_memories(kws) == ["memory_1"]


def test_cells_run_at_a_multiple_of_the_unit_current(tiny_model):
    plain = export_to_circuit(tiny_model, unit_current=UNIT, vdd=0.9, cell_ratio=1)
    scaled = export_to_circuit(tiny_model, unit_current=UNIT / 2, vdd=0.9, cell_ratio=2)
    # The cells' own currents are unchanged; the feed-forward blocks' halved.
    cells = {s.name: s.amperes for s in plain.bias_sources if "memory_0_" in s.name}
    for source in scaled.bias_sources:
        if source.name in cells:
            assert source.amperes == pytest.approx(cells[source.name], rel=0.01), source.name
        elif source.name == "IB_unit":
            assert source.amperes == pytest.approx(UNIT / 2)
    cell = scaled.library.split(".subckt fqbmru_cell ")[1].split(".ends")[0]
    assert len(re.findall(r"^M[14] .* m=2$", cell, flags=re.M)) == 2
    assert scaled.transistors["memory"] == plain.transistors["memory"] + 2 * 2
    # In units, the circuit computes what it computed at one unit current.
    x = np.random.default_rng(3).uniform(0, 1, (8, 13)).astype("float32")
    full, half = (simulate_clip(e, x) for e in (plain, scaled))
    assert (full.states["memory_0"] == half.states["memory_0"]).mean() >= 0.9
    # Once settled: in a frame where a cell switches, the rectified Dense
    # outputs after it start from no current, slower at half the current.
    states = full.states["memory_0"]
    held = np.r_[True, (states[1:] == states[:-1]).all(1)]
    assert held.sum() >= 5
    np.testing.assert_allclose(
        half.logits[held], full.logits[held], atol=0.1 * np.abs(full.logits).max()
    )
    assert half.power["ff"] < 0.6 * full.power["ff"]
    with pytest.raises(ExportError, match="cell_ratio"):
        export_to_circuit(tiny_model, cell_ratio=1.5)


def test_skidl_leaves_no_log_files_for_another_process_to_race_on(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    # SKiDL deletes the <script>.log it opened in the working folder; when a second
    # process of the same script had already deleted it, the export failed.
    script = (
        "import os\n"
        "from exporters.writers import skidl_netlist as spice\n"
        "spice.skidl()\n"
        "assert not os.listdir('.'), os.listdir('.')\n"
        "with spice.top_level('') as (sk, circuit, library):\n"
        "    pass\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not list(tmp_path.iterdir())


def test_skidl_records_the_same_source_trace_from_the_frames_alone():
    from exporters.writers.skidl_netlist import skidl, source_trace

    skidl()  # imports SKiDL outside the working folder (the test above)
    scriptinfo = sys.modules["skidl.scriptinfo"]
    assert sys.modules["skidl.circuit"].get_skidl_trace is source_trace
    assert sys.modules["skidl.node"].get_skidl_trace is source_trace
    # Called from one line, both name the same callers, this test's line last.
    theirs, ours = scriptinfo.get_skidl_trace(), source_trace()
    assert ours == theirs and ours[-1][0] == os.path.abspath(__file__)


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


def test_export_and_verify_commands(tiny_run, tmp_path, capsys, monkeypatch):
    import json

    from bmru_keras.cli import main
    from exporters import simulate
    from exporters.errors import SimulationError

    circuit = tmp_path / "circuit"
    assert main(["export", str(tiny_run), "--out", str(circuit), "--unit-current", "3e-10"]) == 0
    assert (circuit / "network.spice").is_file()
    assert len(list(circuit.glob("tb_*.spice"))) == 3  # three held-out clips by default
    # One clip fails in the simulator: it is reported, the other is kept.
    real = simulate.simulate_clip
    calls = []

    def flaky(export, features, frame, temperature):
        calls.append(1)
        if len(calls) == 1:
            raise SimulationError("timestep too small")
        return real(export, features, frame, temperature)

    monkeypatch.setattr(simulate, "simulate_clip", flaky)
    capsys.readouterr()
    sample = str(sample_dir())
    command = ["verify", str(tiny_run), "--data-dir", sample, "--json", "--clips"]
    assert main([*command, "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("clip_agreement", "hw_clip_accuracy", "sw_clip_accuracy", "avg_power_w",
                "transistors", "n_clips", "energy_per_inference_j"):  # fmt: skip
        assert key in result, key
    folder = tiny_run / "verification_transistor"
    report = (folder / "verification.md").read_text()
    assert result["n_clips"] == 2 and result["n_failed"] == 1, report
    assert result["transistors"] > 100 and result["avg_power_w"] > 0
    assert "timestep too small" in report and (folder / "clips.png").is_file()
    gates = 1e6 * result["area_m2"]["gate"]  # mm^2, as the report writes it
    assert gates > 0.001 and f"{gates:.3f} mm^2 of gates" in report
    gains = [g for g in result["cell_input_gain"]["memory_0"] if g is not None]
    assert gains and all(0.8 < g < 1.2 for g in gains), gains  # cell inputs within 20 %
    # Resumed: the failed clip is retried, the good one kept, one clip added.
    assert main([*command, "3"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(calls) == 4 and result["n_clips"] == 3 and result["n_failed"] == 0
    assert len((folder / "clips.jsonl").read_text().splitlines()) == 1 + 2 + 2
    # Other settings do not mix with these results.
    assert main([*command, "3", "--vdd", "0.9"]) == 2
    assert "other settings" in capsys.readouterr().err
    # A copy of the run (another checkout, files of other times) reads its log back.
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run, copy)
    os.utime(copy / "model.keras", (0, 0))
    calls.clear()
    assert main(["verify", str(copy), "--data-dir", sample, "--json", "--clips", "3"]) == 0
    assert not calls and json.loads(capsys.readouterr().out)["n_clips"] == 3


def test_a_fingerprint_names_model_files_by_their_contents_not_their_paths(tiny_model, tmp_path):
    export = export_to_circuit(tiny_model, unit_current=UNIT)
    models = export.models
    files = [models.library, *models.includes]
    for f in files:
        shutil.copy(f, tmp_path / Path(f).name)
    moved = dataclasses.replace(
        export,
        models=dataclasses.replace(
            models,
            library=tmp_path / Path(models.library).name,
            includes=tuple(tmp_path / Path(f).name for f in models.includes),
        ),
    )
    assert moved.spice() != export.spice()  # another checkout's paths
    assert moved.fingerprint() == export.fingerprint()
    with open(moved.models.includes[0], "a") as file:  # other models
        file.write("* edited\n")
    assert moved.fingerprint() != export.fingerprint()


def test_agreement_over_the_classes_weighs_few_keywords_as_many_others():
    from exporters.verify import balanced_mean_of, mean_of

    rows = [{"label": 0, "ok": False}, {"label": 0, "ok": True}] + [{"label": 1, "ok": True}] * 8

    def agrees(row):
        return row["ok"]

    assert mean_of(rows, agrees) == 0.9
    assert balanced_mean_of(rows, agrees) == 0.75
    assert balanced_mean_of([], agrees) is None


def test_behavioral_level_decides_as_the_realized_weights(tiny_model):
    from exporters.software import quantized_model

    export = export_to_circuit(tiny_model, unit_current=UNIT, vdd=0.9, level="behavioral")
    assert export.transistors == {} and export.models is None
    assert len(re.findall(r"^X\S+ .* fqbmru_ideal ", export.netlist, re.M)) == 2
    weights = sum(np.count_nonzero(k) for k, _ in export.quantized_weights.values())
    assert len(re.findall(r"^G_(?!skip)", export.netlist, re.M)) == weights
    names, clips = build_clips(sample_dir(), DataConfig(), seed=0, splits=("all",))
    offset = FeatureConfig(input_mapping="offset")  # tiny_model reads 13 inputs
    data = load_split(sample_dir(), clips["all"][:6], offset, None)
    x = to_network_input(data.features, offset)
    realized = quantized_model(tiny_model, export).predict(x, verbose=0)
    probe = keras.Model(tiny_model.inputs, tiny_model.get_layer("memory_0").output)
    states = probe.predict(x, verbose=0) > 0
    for i in range(len(x)):
        sim = simulate_clip(export, x[i])
        assert clip_decisions(sim.logits[None])[0] == clip_decisions(realized[i : i + 1])[0]
        assert np.mean(sim.logits.argmax(1) == realized[i].argmax(1)) > 0.95
        assert np.mean(sim.states["memory_0"] == states[i]) > 0.95
        assert sim.power == {} and sim.seconds < 5


def test_level_and_models_are_checked(tiny_model):
    from exporters.pdk import gf180mcu

    with pytest.raises(ExportError, match="choose 'transistor' or 'behavioral'"):
        export_to_circuit(tiny_model, level="spice")
    with pytest.raises(ExportError, match="takes no models"):
        export_to_circuit(tiny_model, level="behavioral", models=gf180mcu())


def test_verify_without_a_model_names_the_folder(tmp_path, capsys):
    from bmru_keras.cli import main

    assert main(["verify", str(tmp_path), "--data-dir", str(tmp_path)]) == 2
    assert "no config.yaml" in capsys.readouterr().err


def test_calibration_brings_cell_inputs_to_the_software(tiny_run, tmp_path):
    from exporters.design import Design
    from exporters.study import StudyOptions
    from exporters.verify import verify_run

    options = StudyOptions(tiny_run, sample_dir(), clips=2, design=Design(unit_current=UNIT))
    plain = verify_run(options, tmp_path / "plain")
    tuned = verify_run(
        dataclasses.replace(options, calibrate=3, calibration_passes=2), tmp_path / "tuned"
    )
    trims = tuned["calibration_trims"]
    assert set(trims["thresholds"]) == {"memory_0"}
    assert set(trims["biases"]) == {"input_dense", "output_dense_0", "classifier"}
    assert plain["calibration_trims"] is None and tuned["calibration_clips"] == 3
    # The report names its design point (benchmarks/transients.py rebuilds the chip from it).
    assert plain["unit_device_um"] == [4.0, 8.0] and plain["cell_ratio"] == Design.cell_ratio
    # The cells switch where the software's do against the current they receive.
    assert tuned["state_agreement"] >= plain["state_agreement"] - 0.01


def test_a_chip_s_calibration_is_kept_and_measured_again_only_when_it_changes(
    tiny_run, tmp_path, monkeypatch
):
    from exporters import study
    from exporters.design import Design
    from exporters.study import StudyOptions, kept_trims, load_clips, nominal_trims
    from exporters.trims import BiasTrims

    measured = []

    def measure():
        measured.append(1)
        return BiasTrims(biases={"classifier": np.array([0.1 * len(measured), 0.0])})

    path = tmp_path / "chip.json"
    first = kept_trims(path, {"seed": 1}, measure)
    assert kept_trims(path, {"seed": 1}, measure).as_dict() == first.as_dict()
    assert len(measured) == 1
    kept_trims(path, {"seed": 2}, measure)  # another chip or calibration
    kept_trims(path, {"seed": 2}, measure, restart=True)
    assert len(measured) == 3
    # The nominal chip's trims are kept with the run: a second study reads them back.
    run = shutil.copytree(tiny_run, tmp_path / "run", ignore=shutil.ignore_patterns("calibration"))
    options = StudyOptions(run, sample_dir(), clips=1, design=Design(unit_current=UNIT))
    options = dataclasses.replace(options, calibrate=2, calibration_passes=1)
    clips = load_clips(options)
    trims = nominal_trims(clips.model, options, clips.x_cal, clips.frame)
    assert len(list((run / "calibration").glob("*.json"))) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("calibrated again")

    monkeypatch.setattr(study, "calibrate", refuse)
    again = nominal_trims(clips.model, options, clips.x_cal, clips.frame)
    assert again.as_dict() == trims.as_dict()
    with pytest.raises(AssertionError, match="calibrated again"):  # another design point
        nominal_trims(
            clips.model,
            dataclasses.replace(options, design=Design(unit_current=2 * UNIT)),
            clips.x_cal,
            clips.frame,
        )


def test_studies_feed_the_circuit_at_the_run_s_feature_hop(tiny_run, tmp_path):
    import shutil

    import yaml

    from exporters.study import StudyOptions, load_clips
    from exporters.verify import verify_run

    run = shutil.copytree(tiny_run, tmp_path / "run")
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["features"]["hop_ms"] = 20.0
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    options = StudyOptions(run, sample_dir(), clips=1, design=Design(unit_current=UNIT))
    clips = load_clips(options)
    assert clips.frame == 0.02 and clips.x.shape[1] < 60  # 1 s of 20 ms frames
    assert load_clips(dataclasses.replace(options, frame=0.005)).frame == 0.005
    result = verify_run(options, tmp_path / "verify")
    settings = json.loads((tmp_path / "verify" / "clips.jsonl").read_text().splitlines()[0])
    assert settings["settings"]["frame_s"] == 0.02
    assert result["energy_per_inference_j"] == pytest.approx(
        result["avg_power_w"] * clips.x.shape[1] * 0.02
    )
    with pytest.raises(ValueError, match="frame"):
        StudyOptions(run, sample_dir(), frame=0.0)
    with pytest.raises(ValueError, match="reset_guard"):
        StudyOptions(run, sample_dir(), reset_guard=-0.01)


def test_calibration_on_a_mismatched_chip_moves_only_bias_currents(tiny_run):
    from bmru_keras.training import load_run, run_inputs
    from exporters.calibrate import calibrate, measure_trims
    from exporters.mismatch import mismatched

    config, model, normalization = load_run(tiny_run)
    _, _, x = run_inputs(config, normalization, sample_dir(), "training", 2)

    def chip(trims):
        return mismatched(export_to_circuit(model, unit_current=UNIT, vdd=0.9, trims=trims), 7)

    nominal = chip(None)
    trims = calibrate(model, chip, x, passes=2, reset_guard=0.05)
    assert trims.guards == {}  # one memory layer: no cell is fed by another
    calibrated = chip(trims)
    devices = [
        [(b.name, e) for b in c.circuit.blocks for e in b.elements] for c in (nominal, calibrated)
    ]
    assert devices[0] == devices[1]  # not one mirror resized, not one draw changed
    assert calibrated.library == nominal.library
    assert [s.amperes for s in calibrated.bias_sources] != [s.amperes for s in nominal.bias_sources]
    # The readout's offset is trimmed away, within a few DAC steps.
    offsets = measure_trims(model, calibrated, x).offsets
    before = measure_trims(model, nominal, x).offsets
    readout = "classifier"
    assert np.abs(offsets[readout]).max() < max(0.02, 0.5 * np.abs(before[readout]).max())


def test_trims_separate_an_offset_from_a_gain():
    from exporters.calibrate import _trim, median_gain

    rng = np.random.default_rng(0)
    sw = rng.uniform(-0.8, 1.2, (16, 101, 2))
    hw = np.stack([0.94 * sw[..., 0] - 0.23, 1.1 * sw[..., 1] + 0.29], -1)
    hw += rng.normal(0, 0.02, hw.shape)
    hw[0, :5, 1] = np.nan  # a unit without a probe on some frames
    gains, offsets = _trim(hw, sw)
    np.testing.assert_allclose(gains, [0.94, 1.1], atol=0.01)
    np.testing.assert_allclose(offsets, [-0.23, 0.29], atol=0.01)
    # The ratio reads the offset as gain.
    assert abs(median_gain(hw[..., 0].ravel(), sw[..., 0].ravel()) - 0.94) > 0.1


def test_a_cells_switching_points_are_read_from_its_states_and_input():
    from exporters.calibrate import crossings, switching_point

    # One clip, one cell: low, rises in frame 1, holds, falls in frame 4.
    # Frame 0 (the start) does not count, nor frame 3, whose input dips to
    # 0.1 between samples of 0.6 and 0.5 (a glitch at the frame edge).
    states = np.array([[[False], [True], [True], [True], [False], [False]]])
    samples = np.array([[[0.3], [0.9], [0.6], [0.5], [0.05], [0.4]]])
    ranges = np.array(
        [[[[0.1, 0.3]], [[0.3, 0.9]], [[0.6, 0.9]], [[0.1, 0.6]], [[0.05, 0.5]], [[0.05, 0.4]]]]
    )
    (cell,) = crossings(states, ranges, samples)
    np.testing.assert_array_equal(cell.highest, [0.9, 0.4])  # steady frames that started low
    np.testing.assert_array_equal(cell.rose, [True, False])
    np.testing.assert_array_equal(cell.lowest, [0.6, 0.05])  # steady frames that started high
    np.testing.assert_array_equal(cell.fell, [False, True])
    # A peak above both samples makes a frame that started low unsteady; a
    # dip does not (it cannot raise the cell).
    ranges[0, 5, 0] = [0.05, 0.5]
    np.testing.assert_array_equal(crossings(states, ranges, samples)[0].highest, [0.9])
    ranges[0, 5, 0] = [-0.3, 0.4]
    np.testing.assert_array_equal(crossings(states, ranges, samples)[0].highest, [0.9, 0.4])
    # A cell held in reset for its first 2 frames (a start delay): frames
    # 0-2 do not count (its input reached 0.9 in frame 1 while it was held).
    held = np.array([[[False], [False], [True], [True], [False], [False]]])
    (late,) = crossings(held, ranges, samples, start_delay=2)
    np.testing.assert_array_equal(late.highest, [0.4])
    np.testing.assert_array_equal(late.lowest, [0.05])
    # A comparator that switches at 0.6 where it was meant to at 0.45: the
    # frames say so, whatever the target; a target they cannot tell from it stays.
    rng = np.random.default_rng(1)
    highest = rng.uniform(0, 1, 400)
    rose = highest >= 0.6
    assert switching_point(highest, rose, 0.45) == pytest.approx(0.6, abs=0.01)
    gap = (highest > 0.58) & (highest < 0.63)
    assert switching_point(highest[~gap], rose[~gap], 0.61) == 0.61
    # Frames it cannot explain (a late edge read in the next frame) do not move it far.
    rose[:8] = ~rose[:8]
    assert switching_point(highest, rose, 0.45) == pytest.approx(0.6, abs=0.05)
    assert switching_point(np.full(3, np.nan), np.zeros(3, bool), 0.3) == 0.3  # no probe


SHIPPED_MODEL = Path(__file__).parents[1] / "benchmarks" / "models" / "kws_yes_d4_hat"


def test_the_shipped_hardware_model_loads_decides_and_exports():
    # The run every hardware figure of docs/results.md is measured on
    # (benchmarks/models/README.md): retraining gives another model on
    # another CPU, so it ships. It must still read its inputs as it was
    # trained to (90.8 % balanced on the embedded sample when shipped) and
    # export to the circuit the figures count (792 transistors).
    result = evaluate_run(SHIPPED_MODEL, sample_dir(), "all")
    assert result["balanced_accuracy"] >= 0.85
    _, model, _ = load_run(SHIPPED_MODEL)
    assert export_to_circuit(model).transistor_count == 792


def test_a_dense_layer_that_penalizes_its_current_exports_as_dense(tiny_model, tiny_export):
    model = build_kws_model(13, 2, ModelConfig(units=2, layers=1, current_penalty=0.01))
    assert type(model.get_layer("input_dense")).__name__ == "MirrorDense"
    model.set_weights(tiny_model.get_weights())
    circuit = export_to_circuit(model, unit_current=UNIT, vdd=0.9)
    assert circuit.library == tiny_export.library
    assert circuit.transistors == tiny_export.transistors


def test_scripts_name_a_design_point_by_its_options():
    import argparse

    from exporters.design import add_arguments, from_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert from_arguments(parser.parse_args([])) == Design()
    args = ["--unit-device", "2", "4", "--vdd", "1.1", "--output-capacitance", "2e-12"]
    design = from_arguments(parser.parse_args(args))
    assert design.unit_device_um == (2.0, 4.0) and design.vdd == 1.1
    assert design.output_capacitance == 2e-12
    assert design.unit_current == Design.unit_current
    assert design.switch_device == (1e-6, 16e-6) and design.power_on_reset
    unit = from_arguments(parser.parse_args(["--switch-device", "4", "8", "--no-power-on-reset"]))
    assert unit.switch_device is None and unit.switch_device_um is None  # the unit device's size
    assert not unit.power_on_reset
    assert Design(switch_width=None, switch_length=None).switch_device is None


def test_the_cell_switches_are_sized_on_their_own(tiny_model, tiny_export):
    narrow = tiny_export  # 1 um x 16 um by default
    cell = narrow.library.split(".subckt fqbmru_cell ")[1].split(".ends")[0]
    switches = re.findall(r"^(M\d+) .* w=(\S+) l=(\S+)", cell, flags=re.M)
    sized = {name: (w, length) for name, w, length in switches if w != "{w}"}
    size = ("1e-06", "1.6e-05")
    assert sized == {"M3": size, "M6": size, "M10": size}  # M10: the reset
    unit = export_to_circuit(
        tiny_model, unit_current=UNIT, vdd=0.9, switch_width=None, switch_length=None
    )
    unit_cell = unit.library.split(".subckt fqbmru_cell ")[1].split(".ends")[0]
    assert not re.search(r"^M\d+ .* w=1e-06", unit_cell, flags=re.M)
    assert narrow.transistors == unit.transistors
    assert narrow.fingerprint() != unit.fingerprint()
    # Switches given the unit device's size are the unit device: the same netlist.
    sized_as_unit = export_to_circuit(
        tiny_model, unit_current=UNIT, vdd=0.9, switch_width=4e-6, switch_length=8e-6
    )
    assert sized_as_unit.fingerprint() == unit.fingerprint()
    with pytest.raises(ExportError, match="transistor level"):
        export_to_circuit(tiny_model, level="behavioral", switch_width=1e-6, switch_length=1e-5)


def test_a_power_on_reset_starts_every_cell_off_as_its_software_unit(tiny_model, tiny_export):
    reset = tiny_export  # the reset is on by default
    plain = export_to_circuit(tiny_model, unit_current=UNIT, vdd=0.9, power_on_reset=False)
    cell = reset.library.split(".subckt fqbmru_cell ")[1].split(".ends")[0]
    assert cell.split("\n")[0].split()[:8] == [
        "in_p",
        "v0",
        "th_n",
        "wd_n",
        "gn_n",
        "out",
        "rst",
        "vdd",
    ]
    assert re.search(r"^M10 v0 rst gnd gnd ", cell, flags=re.M)
    assert re.search(r"^VRST rst 0 PWL\(0s 0.9V 0.0001s 0.9V 0.00011s 0V\)", reset.netlist, re.M)
    assert reset.transistor_count == plain.transistor_count + 2  # one per cell
    assert "rst" not in plain.library and "VRST" not in plain.netlist
    # Both cells' first input lies between their thresholds (0.41 in 0.3-0.7,
    # 0.66 in 0.5-0.8): the software holds them off; without the reset the
    # operating point finds them on.
    x = np.random.default_rng(1).uniform(0, 1, (1, 3, 13)).astype("float32")
    candidate = realized_sums(tiny_model, x, ["memory_0"])["memory_0"][0, 0]
    layer = tiny_model.get_layer("memory_0")
    assert np.all((candidate > layer.beta_low) & (candidate < layer.beta_high))
    assert not realized_states(tiny_model, x, ["memory_0"])["memory_0"][0, 0].any()
    assert simulate_clip(plain, x[0]).states["memory_0"][0].any()
    assert not simulate_clip(reset, x[0]).states["memory_0"][0].any()
    with pytest.raises(ExportError, match="transistor level"):
        export_to_circuit(tiny_model, level="behavioral", power_on_reset=False)


def test_a_layer_that_starts_late_is_held_by_its_own_reset(tiny_model, tmp_path):
    config = tiny_model.get_config()
    (memory,) = (c["config"] for c in config["layers"] if c["config"]["name"] == "memory_0")
    memory["start_delay"] = 2
    late = keras.Model.from_config(config)
    late.set_weights(tiny_model.get_weights())
    # Inputs high for two frames, then lower: unit 1 switches on at once and
    # holds; held in reset for those two frames it stays off all along.
    x = np.random.default_rng(25).uniform(0, 1, (1, 6, 13)).astype("float32")
    x[0, :2] = np.maximum(x[0, :2], 0.7)
    export = export_to_circuit(late, unit_current=UNIT, vdd=0.9)
    # The layer's cells are on rst2, which each clip's stimulus drives.
    assert re.search(r"^Xmemory_memory_0 .* rst2 ", export.netlist, re.M)
    assert not re.search(r"^V\S* rst2 ", export.netlist, re.M)
    assert re.search(
        r"^V_rst2 rst2 0 PWL\(0 0.9 0.0201 0.9 0.02011 0\)$", export.clip_deck(x[0], 0.01), re.M
    )
    for model, circuit in ((tiny_model, None), (late, export)):
        software = realized_states(model, x, ["memory_0"])["memory_0"][0]
        circuit = circuit or export_to_circuit(model, unit_current=UNIT, vdd=0.9)
        np.testing.assert_array_equal(simulate_clip(circuit, x[0]).states["memory_0"], software)
        assert software[:, 1].any() == (model is tiny_model)
    bench = export.write(tmp_path, [Stimulus("late", x[0], {})])
    assert "V_rst2 rst2 0 PWL" in (bench / "tb_late.spice").read_text()
    assert "`rst2`" in (bench / "README.md").read_text()
    with pytest.raises(ExportError, match="power_on_reset=True"):
        export_to_circuit(late, unit_current=UNIT, vdd=0.9, power_on_reset=False)
    # The behavioral level holds the same frames with its ideal cells' reset port.
    ideal = export_to_circuit(late, level="behavioral", unit_current=UNIT, vdd=0.9)
    assert ideal.held_resets == {"rst2": 2}
    software = realized_states(late, x, ["memory_0"])["memory_0"][0]
    np.testing.assert_array_equal(simulate_clip(ideal, x[0]).states["memory_0"], software)
