"""`benchmarks/signoff.py`: every part at one design point, shrunk to a few
simulations of the tiny run, printed as the one JSON object the sign-off
promises."""

import json
import sys
from pathlib import Path

from bmru_keras.data.speech_commands import sample_dir
from tests.scripts import run_as_user, tensorflow_start_up_lines

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "signoff.py"


def test_signoff_prints_every_figure_at_one_point_and_resumes(tiny_run, tmp_path):
    command = [sys.executable, str(SCRIPT), str(tiny_run), "--data-dir", str(sample_dir())]
    command += ["--clips", "2", "--calibrate", "2", "--calibration-passes", "1"]
    command += ["--noise-clips", "1", "--noise-frames", "6", "--corner-clips", "1"]
    command += ["--process-corners", "ss", "--temperatures", "85", "--supply-scales", "1"]
    command += ["--corner-trims", "nominal"]  # the default trims ss on its own: a calibration more
    command += ["--mc-chips", "1", "--mc-clips", "1", "--workers", "2"]
    command += ["--out", str(tmp_path), "--json"]
    done = run_as_user(command)
    assert done.returncode == 0, done.stderr
    # Neither the script nor its spawned simulation workers print TensorFlow's start-up lines.
    assert not tensorflow_start_up_lines(done.stderr), done.stderr
    result = json.loads(done.stdout)
    for key in (
        "clip_agreement", "clip_agreement_balanced", "avg_power_w", "noise_suppression_min",
        "corner_kept_fraction", "mc_chips", "mc_mean_accuracy", "mc_worst_accuracy",
        "mc_mean_agreement", "mc_avg_power_w", "sw_accuracy", "transistors",
    ):  # fmt: skip
        assert key in result, key
    assert result["n_clips"] == 2 and 0 <= result["clip_agreement"] <= 1
    assert 0 < result["avg_power_w"] < 1e-6 and result["transistors"] > 0
    assert result["corners"] == 1 and result["corner_clips"] == 1 and result["mc_chips"] == 1
    assert result["corner_trims"] == "nominal"  # the nominal chip's trims at every corner
    assert json.loads((tmp_path / "signoff.json").read_text()) == result
    # Resumed: every simulation is read back from the parts' logs, the same figures.
    again = run_as_user(command)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == result
    assert "simulated clips" not in again.stderr and "simulations:" not in again.stderr
