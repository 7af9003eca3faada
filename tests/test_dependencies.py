"""Optional dependencies name their extra; TensorFlow starts quietly."""

import json
import subprocess
import sys

import pytest

from bmru_keras.dependencies import MissingDependency, require
from tests.scripts import run_as_user, tensorflow_start_up_lines

EXPORT_WITHOUT_SKIDL = """
import sys
sys.modules["skidl"] = None  # as if the circuit extra were not installed
import keras
from bmru_keras import FQBMRU, export_to_circuit
memory = FQBMRU(2, return_sequences=True)
model = keras.Sequential([keras.Input((None, 3)), memory, keras.layers.Dense(2)])
try:
    export_to_circuit(model)
except ImportError as error:
    print(error)
"""


def test_a_missing_extra_is_named_with_its_install_command():
    with pytest.raises(MissingDependency, match=r"pip install 'bmru-keras\[circuit\]'"):
        require("no_such_module_here", "circuit", "writing a netlist")
    assert require("json", "circuit", "-").dumps([1]) == "[1]"


def test_export_without_the_circuit_extra_says_how_to_install_it():
    done = subprocess.run(
        [sys.executable, "-c", EXPORT_WITHOUT_SKIDL], capture_output=True, text=True, check=True
    )
    assert "writing a netlist needs skidl" in done.stdout
    assert "pip install 'bmru-keras[circuit]'" in done.stdout


def test_tensorflow_starts_without_its_log_lines():
    code = "from bmru_keras.dependencies import import_tensorflow_quietly as q; q(); import keras"
    done = run_as_user([sys.executable, "-c", code], check=True)
    assert not tensorflow_start_up_lines(done.stderr), done.stderr


QUIET_RUN = """
name: quiet
data:
  split: {method: speaker_hash, salt: sample36, validation: 0.2, test: 0.2}
model: {units: 2, layers: 1}
train: {epochs: 3, batch_size: 16, epsilon: {start: 1.0, hold_steps: 2, decay_steps: 3}}
"""


def test_a_run_logs_no_tensorflow_errors_or_retracing_warnings(tmp_path):
    config = tmp_path / "quiet.yaml"
    config.write_text(QUIET_RUN)
    command = [sys.executable, "-m", "bmru_keras.cli", "run", str(config)]
    options = ["--out", str(tmp_path / "run"), "--set", "train.verbose=0"]
    done = run_as_user(command + options)
    assert done.returncode == 0, done.stderr
    assert "retracing" not in done.stderr and "W0000" not in done.stderr, done.stderr
    # TensorFlow's one known line (docs/install.md): once per fit, from the
    # training data under deterministic ops, not once per epoch or evaluation.
    assert done.stderr.count("E0000") <= 1, done.stderr
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    for key in ("val_loss", "val_accuracy", "val_clip_accuracy"):
        assert len(history[key]) == 3, key
