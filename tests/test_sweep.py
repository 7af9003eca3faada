"""`bmru sweep`: a grid of trainings, resumable, on a real Dask LocalCluster."""

import json

import pytest

from bmru_keras.config import ConfigError
from bmru_keras.sweep import grid_points

CONFIG = """
name: sweep
data:
  split: {method: speaker_hash, salt: sample36, validation: 0.2, test: 0.2}
augment: {enabled: false}
model: {units: 2, layers: 1}
train: {epochs: 1, batch_size: 32, epsilon: null, tensorboard: false, verbose: 0}
"""


def test_grid_is_the_cartesian_product():
    assert grid_points(["model.units=2,4", "seed=1"]) == [
        {"model.units": "2", "seed": "1"},
        {"model.units": "4", "seed": "1"},
    ]
    with pytest.raises(ConfigError, match="key=value1,value2"):
        grid_points(["model.units"])


def test_sweep_on_a_dask_local_cluster_resumes(tmp_path, capsys):
    from distributed import LocalCluster

    from bmru_keras.cli import main

    config = tmp_path / "sweep.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    command = ["sweep", str(config), "--grid", "model.units=1,2", "--out", str(out), "--json"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        assert main([*command, "--scheduler", cluster.scheduler_address]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["point"] for r in rows] == ["model.units=1", "model.units=2"]
    assert all(0 <= r["test_clip_accuracy"] <= 1 for r in rows)
    assert all((out / r["point"] / "seed0" / "model.keras").is_file() for r in rows)
    assert len((out / "results.jsonl").read_text().splitlines()) == 1 + 2
    assert "model.units=2" in (out / "table.md").read_text()
    # Resumed locally: every run is already there, nothing is trained again.
    assert main(command) == 0
    assert json.loads(capsys.readouterr().out) == rows
    assert len((out / "results.jsonl").read_text().splitlines()) == 1 + 2
    # A wrong key fails before any training.
    assert main([*command[:-1], "--grid", "model.unitz=3", "--json"]) == 2
    assert "model.unitz" in capsys.readouterr().err


def test_a_result_log_survives_a_cut_line_and_refuses_a_corrupt_header(tmp_path):
    from bmru_keras.parallel import ResultLogError, open_log

    log = tmp_path / "results.jsonl"
    assert open_log(log, {"a": 1}) == []
    with open(log, "a") as file:
        file.write(json.dumps({"clip": "x", "v": 1}) + "\n" + '{"clip": "y", "v"')  # cut
    assert open_log(log, {"a": 1}, keys=("clip",)) == [{"clip": "x", "v": 1}]
    with open(log, "a") as file:  # the next row starts on its own line
        file.write(json.dumps({"clip": "z"}) + "\n" + json.dumps({"other": 1}) + "\n")
    assert [row["clip"] for row in open_log(log, {"a": 1}, keys=("clip",))] == ["x", "z"]
    with pytest.raises(ResultLogError, match="other settings"):
        open_log(log, {"a": 2})
    log.write_text("not json\n")
    with pytest.raises(ResultLogError, match="not a settings record"):
        open_log(log, {"a": 1})


def test_progress_reports_a_tenth_of_the_way_at_a_time():
    import io

    from bmru_keras.parallel import progress

    stream = io.StringIO()
    assert list(progress(range(20), 20, "clips", stream)) == list(range(20))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and lines[0].startswith("clips: 2/20") and "20/20" in lines[-1]
