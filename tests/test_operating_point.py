"""`benchmarks/operating_point.py`: one design point of the sweep, shrunk to
a clip and a short noise run of the tiny run."""

import json
import sys
from pathlib import Path

from bmru_keras.data.speech_commands import sample_dir
from tests.scripts import run_as_user, tensorflow_start_up_lines

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "operating_point.py"


def test_operating_point_measures_each_point_quietly(tiny_run, tmp_path):
    command = [sys.executable, str(SCRIPT), str(tiny_run), "--data-dir", str(sample_dir())]
    command += ["--unit-currents", "3.5e-10", "--supplies", "1.0", "--cell-ratios", "2"]
    command += ["--output-capacitances", "5e-12", "--clips", "1"]
    command += ["--noise-clips", "1", "--noise-frames", "6", "--workers", "1"]
    command += ["--out", str(tmp_path)]
    done = run_as_user(command)
    assert done.returncode == 0, done.stderr
    assert not tensorflow_start_up_lines(done.stderr), done.stderr
    (row,) = json.loads((tmp_path / "operating_point.json").read_text())
    assert (row["unit_current_a"], row["vdd_v"], row["cell_ratio"]) == (3.5e-10, 1.0, 2)
    assert 0 < row["avg_power_w"] < 1e-6 and 0 <= row["clip_agreement"] <= 1
    assert row["area_m2"]["gate"] > 0
    assert "| 350 pA | x2 | 1 V | 5 pF |" in done.stdout
