"""Robustness: the software parameter study, hardware-aware training,
Monte Carlo mismatch and corners in real ngspice."""

import dataclasses
import json
import runpy
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from bmru_keras.callbacks import ParameterNoise
from bmru_keras.config import ConfigError, ModelConfig, load_config
from bmru_keras.currents import mirror_currents
from bmru_keras.data.speech_commands import sample_dir
from bmru_keras.layers import SignedPair
from bmru_keras.models import build_kws_model
from bmru_keras.parameter_noise import input_noise_flips, parameter_noise_study
from exporters import export_to_circuit
from exporters.design import Design
from exporters.mismatch import mismatched
from exporters.simulate import simulate_clip
from exporters.trims import BiasTrims


@pytest.fixture(scope="module")
def model():
    # A seed whose random model leaves some clips near a tie of the vote, so
    # that noise can flip them.
    keras.utils.set_random_seed(11)
    return build_kws_model(13, 2, ModelConfig(units=3, layers=1))


def test_software_study_is_reproducible_and_grows_with_the_spread(model):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (40, 20, 13)).astype("float32")
    logits = model.predict(x, verbose=0)
    labels = (logits.argmax(-1).mean(1) > 0.5).astype(int)  # the nominal decisions
    study = parameter_noise_study(model, x, labels, fractions=(1e-6, 0.5), trials=5, seed=3)
    again = parameter_noise_study(model, x, labels, fractions=(1e-6, 0.5), trials=5, seed=3)
    assert study == again
    assert study["nominal"] == 1.0
    assert study["fractions"]["1e-06"]["flip_rate"] == 0.0
    assert study["fractions"]["0.5"]["flip_rate"] > 0.0
    # The model itself is untouched.
    np.testing.assert_array_equal(model.predict(x, verbose=0), logits)
    with pytest.raises(ValueError, match="fraction"):
        parameter_noise_study(model, x, labels, fractions=(1.5,))


def test_input_noise_flips_grow_with_sigma_and_leave_the_model_as_it_was(model):
    x = np.random.default_rng(0).uniform(0, 1, (40, 20, 13)).astype("float32")
    logits = model.predict(x, verbose=0)
    small = input_noise_flips(model, x, sigma=1e-6, trials=2)
    large = input_noise_flips(model, x, sigma=2.0, trials=2)
    assert small == 0.0 < large
    assert input_noise_flips(model, x, sigma=2.0, trials=2) == large  # seeded
    np.testing.assert_array_equal(model.predict(x, verbose=0), logits)
    # A layer held in reset for its first frames takes noise on the rest.
    late = build_kws_model(13, 2, ModelConfig(units=3, layers=2, start_delay=2))
    assert input_noise_flips(late, x, sigma=1e-6, trials=1) == 0.0
    assert input_noise_flips(late, x, sigma=2.0, trials=1) > 0.0
    loop = build_kws_model(13, 2, ModelConfig(units=3, layers=1))
    loop.get_layer("memory_0").implementation = "loop"
    with pytest.raises(ValueError, match="implementation='scan'"):
        input_noise_flips(loop, x)


def test_parameter_noise_steps_the_clean_weights(model):
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    before = [np.asarray(w) for w in clone.trainable_weights]
    clone.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    x = np.random.default_rng(1).uniform(0, 1, (8, 10, 13)).astype("float32")
    noise = ParameterNoise(0.3, seed=0)
    clone.fit(x, np.zeros((8, 10, 2)), epochs=1, batch_size=4, verbose=0, callbacks=[noise])
    # A zero learning rate: the noisy parameters are gone, the clean ones kept.
    for w, b in zip(clone.trainable_weights, before, strict=True):
        np.testing.assert_allclose(np.asarray(w), b, rtol=1e-6, atol=1e-7)
    assert noise._noisy is not None and not np.allclose(noise._noisy[0], before[0])


def test_parameter_noise_is_a_checked_config_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train: {parameter_noise: 0.1}\n")
    assert load_config(path).train.parameter_noise == 0.1
    with pytest.raises(ConfigError, match="parameter_noise"):
        load_config(path, ["train.parameter_noise=1.5"])


def test_monte_carlo_netlists_differ_by_seed_and_change_the_circuit(model):
    export = export_to_circuit(model, unit_current=3e-10, vdd=0.9)
    first, same, other = (mismatched(export, s) for s in (1, 1, 2))
    assert first.library == same.library != other.library
    chip = first.library.split(".subckt fqbmru_cell_0")[1]  # the cell copies, then the blocks
    devices = [line for line in chip.splitlines() if line.startswith("M")]
    assert devices and all(" delvto=" in d and " mulu0=" in d for d in devices)
    assert first.library.count(".subckt fqbmru_cell_") == 3  # one copy per cell
    # Recalibrated (bias currents only), the chip keeps every device and its draws.
    layer = model.layers[-1].name
    trims = BiasTrims(
        thresholds={"memory_0": (np.full(3, 1.1), np.full(3, 0.05))},
        biases={layer: np.array([0.2, -0.1])},
    )
    trimmed = mismatched(export_to_circuit(model, unit_current=3e-10, vdd=0.9, trims=trims), 1)
    assert trimmed.library == first.library and trimmed.netlist != first.netlist
    x = np.random.default_rng(2).uniform(0, 1, (6, 13)).astype("float32")
    nominal = simulate_clip(export, x).logits
    varied = simulate_clip(first, x).logits
    assert not np.allclose(nominal, varied, atol=1e-4)
    # A mismatch-sized change (an untrained model's cell may flip), not a broken circuit.
    assert np.median(np.abs(nominal - varied)) < 0.2 * np.max(np.abs(nominal))


def test_a_mismatch_budget_draws_one_block_as_the_whole_chip_does(model):
    export = export_to_circuit(model, unit_current=3e-10, vdd=0.9)
    whole = mismatched(export, 4)
    names = [block.name for block in export.circuit.blocks]
    memory = next(n for n in names if n.startswith("memory"))
    alone = mismatched(export, 4, blocks={memory})

    def devices(netlist: str, subcircuit: str) -> list[str]:
        body = netlist.split(f".subckt {subcircuit} ")[1].split(".ends")[0]
        return [line for line in body.splitlines() if line.startswith("M")]

    # The chosen block and its cells carry the whole chip's draws ...
    for sub in (memory, "fqbmru_cell_0"):
        assert devices(alone.library, sub) == devices(whole.library, sub)
        assert all(" delvto=" in d for d in devices(alone.library, sub))
    # ... the others none.
    other = next(n for n in names if n.startswith("dense"))
    assert not any(" delvto=" in d for d in devices(alone.library, other))
    with pytest.raises(ValueError, match="no blocks.*its blocks: "):
        mismatched(export, 4, blocks={"dense_nothing"})


def test_montecarlo_and_corners_commands_log_and_resume(tiny_run, tmp_path, capsys):
    from bmru_keras.cli import main

    common = [str(tiny_run), "--data-dir", str(sample_dir()), "--clips", "1", "--json"]
    out = ["--out", str(tmp_path)]
    assert main(["robustness", "montecarlo", *common, *out, "--trials", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_clips"] == 1 and result["n_failed"] == 0
    assert 0 <= result["flip_rate"] <= 1 and (tmp_path / "montecarlo.md").is_file()
    log = (tmp_path / "montecarlo.jsonl").read_text().splitlines()
    assert len(log) == 1 + 2
    # Resumed: nothing left to simulate, the same answer.
    assert main(["robustness", "montecarlo", *common, *out, "--trials", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["flip_rate"] == result["flip_rate"]
    assert len((tmp_path / "montecarlo.jsonl").read_text().splitlines()) == 3
    # The same run in another folder (another checkout) resumes the same log.
    copy = shutil.copytree(tiny_run, tmp_path / "copy")
    moved = [str(copy), *common[1:], *out, "--trials", "2"]
    assert main(["robustness", "montecarlo", *moved]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["flip_rate"] == result["flip_rate"]
    assert len((tmp_path / "montecarlo.jsonl").read_text().splitlines()) == 3
    # Other clips under the same options (a changed subset rule) are not read
    # as these: the log's results are keyed by clip index.
    from exporters import robustness

    load = robustness.load_clips
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            robustness,
            "load_clips",
            lambda options: dataclasses.replace(run := load(options), x=run.x[:, ::-1].copy()),
        )
        assert main(["robustness", "montecarlo", *common, *out, "--trials", "2"]) == 2
    assert "holds results of other settings" in capsys.readouterr().err
    corners = ["--process-corners", "ss", "ff", "--temperatures", "85", "--supply-scales", "0.9"]
    assert main(["robustness", "corners", *common, *out, *corners]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [(r["corner"], r["temperature_c"]) for r in result["corners"]] == [
        ("ss", 85.0),
        ("ff", 85.0),
    ]
    assert all(r["n_failed"] == 0 and r["power_w"] > 0 for r in result["corners"])
    assert abs(result["corners"][0]["vdd_v"] - 0.9 * Design.vdd) < 1e-9  # -10 %
    assert result["corner_kept_fraction"] is None or 0 <= result["corner_kept_fraction"] <= 1
    # The grid holds no nominal circuit (typical, 27 C, the default supply): none is named.
    assert result["nominal"] is None and result["nominal_correct"] is None
    assert 0 <= result["sw_correct_at_all_corners"] <= result["sw_correct"] <= 1
    assert "software decides correctly" in (tmp_path / "corners.md").read_text()
    assert len((tmp_path / "corners.jsonl").read_text().splitlines()) == 1 + 2
    # A call over part of the grid reads the same log: nothing simulated again.
    ff_only = ["--process-corners", "ff", *corners[3:]]
    assert main(["robustness", "corners", *common, *out, *ff_only]) == 0
    assert json.loads(capsys.readouterr().out)["corners"] == result["corners"][1:]
    assert len((tmp_path / "corners.jsonl").read_text().splitlines()) == 1 + 2
    # Trimmed on two training clips at the nominal circuit (bias currents; on this
    # well-matched circuit the trims may round to the nominal DAC codes).
    trimmed = ["--out", str(tmp_path / "trimmed"), "--calibrate", "2", "--calibration-passes", "2"]
    assert main(["robustness", "corners", *common, *trimmed, *corners]) == 0
    calibrated = json.loads(capsys.readouterr().out)
    assert calibrated["calibration_clips"] == 2 and result["calibration_clips"] == 0
    assert calibrated["calibration_passes"] == 2 and result["calibration_passes"] == 0
    assert all(r["n_failed"] == 0 for r in calibrated["corners"])


def test_montecarlo_trims_each_sample_on_request(tiny_run, tmp_path, capsys, monkeypatch):
    from bmru_keras.cli import main

    command = ["robustness", "montecarlo", str(tiny_run), "--data-dir", str(sample_dir())]
    command += ["--clips", "1", "--trials", "2", "--out", str(tmp_path), "--trim-each"]
    assert main(command) == 2
    assert "--trim-each trims every sample on --calibrate N clips" in capsys.readouterr().err
    trim = ["--calibrate", "2", "--calibration-passes", "1"]
    assert main([*command, "--restart", *trim, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["trim_each"] and result["calibration_clips"] == 2 and result["n_failed"] == 0
    # Per chip: accuracy, agreement with the software and power, one entry a chip.
    assert len(result["clip_agreement_per_sample"]) == len(result["avg_power_w_per_sample"]) == 2
    assert result["clip_agreement_per_sample"][0] in (0.0, 1.0)  # one clip a chip
    assert result["clip_agreement_mean"] == pytest.approx(1 - result["flip_rate"])  # 1 clip a chip
    assert all(p > 0 for p in result["avg_power_w_per_sample"])
    assert result["avg_power_w"] == pytest.approx(np.mean(result["avg_power_w_per_sample"]))
    assert "| 1 (1) |" in (tmp_path / "montecarlo.md").read_text()
    # Each chip is simulated once trimmed, into one log (the restart wipes it once).
    assert len((tmp_path / "montecarlo.jsonl").read_text().splitlines()) == 1 + 2
    # Each chip's trims are kept: a resumed study reads them instead of recalibrating.
    assert len(list((tmp_path / "trims").glob("chip_*.json"))) == 2

    def no_calibration(*args, **kwargs):
        raise AssertionError("recalibrated a chip whose trims were kept")

    monkeypatch.setattr("exporters.study.calibrate", no_calibration)
    assert main([*command, *trim, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["flip_rate"] == result["flip_rate"]
    # Sample k is the same chip in a study of any size: a smaller one reads the log.
    assert main([*command, *trim, "--trials", "1", "--json"]) == 0
    smaller = json.loads(capsys.readouterr().out)
    assert smaller["trials"] == 1
    assert smaller["hw_clip_accuracy_per_sample"] == result["hw_clip_accuracy_per_sample"][:1]
    assert len((tmp_path / "montecarlo.jsonl").read_text().splitlines()) == 1 + 2
    # Another calibration is another chip: its trims are not reused.
    with pytest.raises(AssertionError, match="recalibrated"):
        main([*command, "--calibrate", "2", "--calibration-passes", "2", "--json"])


def test_corners_trim_each_process_on_request(tiny_run, tmp_path, capsys):
    from bmru_keras.cli import main

    run = shutil.copytree(tiny_run, tmp_path / "run")
    shutil.rmtree(run / "calibration", ignore_errors=True)  # other tests' chips: counted below
    command = ["robustness", "corners", str(run), "--data-dir", str(sample_dir()), "--clips", "1"]
    command += ["--process-corners", "ff", "--temperatures", "27"]
    command += ["--supply-scales", "1", "--json"]
    # Unit-size switches, which leak at ff: this tiny model's ff chip needs
    # other bias codes than the nominal one (with the default 1 um x 16 um
    # switches its ff trims round to the nominal's codes).
    command += ["--switch-device", "4", "8", "--no-power-on-reset"]
    assert main([*command, "--out", str(tmp_path / "each"), "--trim-each"]) == 2
    assert "--trim-each trims every process corner on --calibrate N" in capsys.readouterr().err
    trim = ["--calibrate", "1", "--calibration-passes", "1"]
    assert main([*command, "--out", str(tmp_path / "nominal"), *trim]) == 0
    nominal = json.loads(capsys.readouterr().out)
    assert not nominal["trim_each"]
    assert len(list((run / "calibration").glob("*.json"))) == 1  # the nominal chip's
    assert main([*command, "--out", str(tmp_path / "each"), *trim, "--trim-each"]) == 0
    each = json.loads(capsys.readouterr().out)
    assert each["trim_each"] and all(r["n_failed"] == 0 for r in each["corners"])
    # The ff chip was measured on its own, beside the nominal one, and its
    # circuit is programmed with its own trims.
    assert len(list((run / "calibration").glob("*.json"))) == 2
    assert each["netlist_sha256"] != nominal["netlist_sha256"]


def test_noise_command_writes_into_a_new_folder_and_resumes(tiny_run, tmp_path, capsys):
    from bmru_keras.cli import main

    out = tmp_path / "new" / "noise"  # the study must create it (it once failed at the plot)
    command = ["robustness", "noise", str(tiny_run), "--data-dir", str(sample_dir())]
    command += ["--clips", "1", "--frames", "6", "--out", str(out), "--json"]
    assert main(command) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_clips"] == 1 and not result["failed"]
    assert (out / "noise.md").is_file() and (out / "noise.png").is_file()
    assert len((out / "noise.jsonl").read_text().splitlines()) == 2
    assert main(command) == 0  # resumed: nothing simulated again, the same figures
    assert json.loads(capsys.readouterr().out)["cells"] == result["cells"]
    assert len((out / "noise.jsonl").read_text().splitlines()) == 2


def test_software_command(tiny_run, tmp_path, capsys):
    from bmru_keras.cli import main

    command = ["robustness", "software", str(tiny_run), "--data-dir", str(sample_dir())]
    assert main([*command, "--trials", "3", "--out", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["fractions"]) == {"0.05", "0.1", "0.15"}
    assert (tmp_path / "software.md").read_text().startswith("# Parameter variation")
    assert main([*command, "--calibrate", "2"]) == 2
    assert "the software study has none" in capsys.readouterr().err


def test_transient_noise_is_suppressed_at_a_cell():
    from exporters.noise import cell_noise

    keras.utils.set_random_seed(4)
    model = build_kws_model(13, 2, ModelConfig(units=1, layers=1))
    dense = model.get_layer("input_dense")
    dense.kernel.assign(np.abs(np.asarray(dense.kernel)) * 0.2 + 0.05)
    memory = model.get_layer("memory_0")
    memory.cell.kernel.assign([[1.0]])  # candidate = 13 * 0.7 * ~0.15: about 1.4
    memory.cell.raw_beta_low.assign([0.3])
    memory.cell.raw_beta_width.assign([0.4])
    export = export_to_circuit(model, unit_current=3e-10, vdd=0.9)
    assert "TRNOISE" not in export.spice()
    x = np.full((10, 13), 0.7, "float32")
    probe = keras.Model(model.inputs, memory.output)
    assert np.all(probe.predict(x[None], verbose=0) > 0)  # on, in software, every frame
    quiet = cell_noise(export, x, frames=10, input_noise=0.01, seed=1)
    loud = cell_noise(export, x, frames=10, input_noise=0.10, seed=1)
    (cell,) = loud["cells"]
    assert cell["frames_on"] >= 8 and cell["frames_in"] == 10
    assert cell["input_relative_noise"] > 3 * quiet["cells"][0]["input_relative_noise"]
    # The state current is much quieter than the analog current it is made from.
    assert cell["output_relative_noise"] < cell["input_relative_noise"] / 5
    assert loud["noise_suppression_min"] == cell["suppression"] > 5
    # The output capacitor (5 pF by default) low-passes the state current: without it,
    # the same cell puts out a noisier current.
    bare = export_to_circuit(model, unit_current=3e-10, vdd=0.9, output_capacitance=0)
    assert "C1 out vdd" in export.library and "C1 out vdd" not in bare.library
    unfiltered = cell_noise(bare, x, frames=10, input_noise=0.10, seed=1)["cells"][0]
    assert cell["output_relative_noise"] < 0.7 * unfiltered["output_relative_noise"]
    with pytest.raises(ValueError, match="output_capacitance"):
        export_to_circuit(model, unit_current=3e-10, vdd=0.9, output_capacitance=-1e-12)


def test_hardware_bounds_hold_after_training_and_survive_saving(tmp_path):
    from bmru_keras.constraints import MagnitudeRange, MirrorRatio

    w = np.array([-3.0, -0.012, -0.005, 0.0, 0.004, 0.015, 0.5, 20.0], "float32")
    np.testing.assert_allclose(
        np.asarray(MirrorRatio(0.02, 8.0)(w)), [-3, -0.02, 0, 0, 0, 0.02, 0.5, 8], rtol=1e-6
    )
    np.testing.assert_allclose(np.asarray(MagnitudeRange(0.1, 2)(w))[[0, 3, 7]], [-2, 0.1, 2])
    config = ModelConfig(units=3, layers=1, weight_range=[0.05, 1.0], current_range=[0.1, 1.5])
    bounded = build_kws_model(13, 2, config)
    bounded.compile(optimizer=keras.optimizers.Adam(0.5), loss="mse")
    x = np.random.default_rng(0).uniform(0, 1, (8, 10, 13)).astype("float32")
    bounded.fit(x, np.ones((8, 10, 2)), epochs=2, verbose=0)
    for layer in ("input_dense", "classifier"):
        kernel = np.abs(np.asarray(bounded.get_layer(layer).kernel))
        assert np.all((kernel == 0) | ((kernel >= 0.05 - 1e-6) & (kernel <= 1 + 1e-6)))
    cell = bounded.get_layer("memory_0").cell
    for raw in (cell.raw_alpha, cell.raw_beta_width):
        assert np.all((np.abs(raw) >= 0.1 - 1e-6) & (np.abs(raw) <= 1.5 + 1e-6))
    bounded.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert again.get_layer("memory_0").cell.unit_constraint.get_config() == {
        "low": 0.1,
        "high": 1.5,
    }
    with pytest.raises(ConfigError, match="weight_range"):
        path = tmp_path / "c.yaml"
        path.write_text("model: {weight_range: [1.0, 0.5]}\n")
        load_config(path)


def test_hardware_screen_ranks_runs_by_their_estimated_flips(tiny_run, capsys, monkeypatch):
    script = Path(__file__).parents[1] / "benchmarks" / "hardware_screen.py"
    argv = [str(script), str(tiny_run), "--data-dir", str(sample_dir()), "--json"]
    monkeypatch.setattr("sys.argv", [*argv, "--sigma", "1.0", "--trials", "2"])
    runpy.run_path(str(script), run_name="__main__")
    (row,) = json.loads(capsys.readouterr().out)["runs"]
    assert row["clips"] > 0 and 0 < row["noise_flips"] <= 1
    assert row["edge_changes"] is None  # one memory layer: no frame-edge replay
    assert row["score"] == row["noise_flips"]
    assert row["mirror_current"] > 0


def test_mirror_currents_sum_each_weights_current_and_follow_the_circuits_inputs():
    inputs = keras.Input((None, 2))
    hidden = keras.layers.Dense(2, name="a")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, name="b")(hidden))
    model.get_layer("a").set_weights([np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([0.1, -0.3])])
    model.get_layer("b").set_weights([np.array([[2.0], [-1.0]]), np.array([0.0])])
    x = np.array([[[1.0, 2.0], [0.0, 4.0]]], "float32")  # one clip, two frames
    # a: frame 1 |1|+|-2| + 2*0.5 = 4, frame 2 4*0.5 = 2; mean 3, biases 0.4
    # b reads a's outputs (2.1, -2.3) and (2.1, -0.3): 2*2.1 + 2.3 = 6.5, 2*2.1 + 0.3 = 4.5
    assert mirror_currents(model, x) == pytest.approx({"a": 3.4, "b": 5.5})
    single = keras.Model(inputs, model.get_layer("a")(inputs))
    assert mirror_currents(single, x) == pytest.approx({"a": 3.4})
    # Through the input scaling the first layer reads the input currents
    # (pairs of non-negative currents for z = scale (x+ - x-)): |z| W.
    centred = build_kws_model(8, 2, ModelConfig(units=2, layers=1), 0.0, SignedPair(3.0))
    pairs = np.random.default_rng(0).uniform(0, 1, (2, 5, 8)).astype("float32")
    z = 3.0 * (pairs[..., :4] - pairs[..., 4:])
    kernel = np.abs(np.asarray(centred.get_layer("input_dense").kernel))
    expected = (3.0 * (pairs[..., :4] + pairs[..., 4:]) @ kernel).sum(-1).mean()
    got = mirror_currents(centred, pairs)["input_dense"]
    assert got == pytest.approx(expected, rel=1e-4)
    assert got > (np.abs(z) @ kernel).sum(-1).mean()  # each of x+ and x- draws its own current
