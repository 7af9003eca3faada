"""YAML experiment configs: validation, errors naming key and file, overrides."""

from pathlib import Path

import pytest

from bmru_keras.config import ConfigError, load_config

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path, tmp_path, monkeypatch):
    monkeypatch.setenv("SPEECH_COMMANDS_DIR", str(tmp_path))
    config = load_config(path)
    assert config.name == path.stem


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("model: {unitz: 4}", r"exp.yaml: unknown key `model.unitz`"),
        ("modle: {units: 4}", r"exp.yaml: unknown key `modle`"),
        ("model: {units: four}", r"`model.units` must be of type int"),
        ("model: {units: true}", r"`model.units` must be an integer"),
        ("model: {recurrent: lstm}", r"`model.recurrent` must be one of"),
        ("data: {balance_training: oversample}", r"`data.balance_training` must be one of"),
        ("data: {train_fraction: 0}", r"`data.train_fraction` must be in \(0, 1\]"),
        ("train: {epsilon: {start: 1, hold: 3}}", r"unknown key `train.epsilon.hold`"),
        ("data: {dir: /no/such/folder}", r"`data.dir` is '/no/such/folder'"),
        ("augment: {snr_db: 5}", r"`augment.snr_db` must be a list"),
        ("model: {units: 0}", r"`model.units` must be in \(0, inf\), got 0"),
        ("model: {layers: -1}", r"`model.layers` must be in \(0, inf\)"),
        ("train: {batch_size: 0}", r"`train.batch_size` must be in \(0, inf\)"),
        ("train: {epochs: 0}", r"`train.epochs` must be in \(0, inf\)"),
        ("seed: -1", r"`seed` must be in \[0, inf\)"),
        ("features: {hop_ms: 0}", r"`features.hop_ms` must be in \(0, inf\)"),
        ("features: {n_mfcc: 0}", r"`features.n_mfcc` must be in \(0, inf\)"),
        ("model: {sharpness: 0}", r"`model.sharpness` must be in \(0, inf\)"),
        ("name: ../../x", r"`name` must be a plain name"),
        ("name: a/b", r"`name` must be a plain name"),
        ("model: {relaxation: clipped}", r"`model.relaxation` must be one of"),
        ("train: {threshold_quantiles: [0.5, 0.8, 0.6]}", r"`train.threshold_quantiles` must be"),
        ("train: {threshold_quantiles: [0.5, 0.6]}", r"`train.threshold_quantiles` must be"),
        ("train: {loss: frame}", r"`train.loss` must be one of \('frames', 'clip'\)"),
        ("train: {loss: clip}", r"`train.loss` is 'clip'.*`model.decision` is 'majority'; set"),
        ("- just a list", r"top level must be a mapping"),
    ],
)
def test_bad_configs_name_the_key_and_file(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        load_config(write(tmp_path, text))


def test_overrides_from_the_command_line(tmp_path):
    path = write(tmp_path, "model: {units: 4}\ntrain: {epochs: 3}")
    config = load_config(path, ["model.units=8", "train.epsilon=null", "data.task=kws12"])
    assert config.model.units == 8 and config.train.epsilon is None
    assert config.data.task == "kws12" and config.train.epochs == 3
    with pytest.raises(ConfigError, match=r"--set.*unknown key `model.width`"):
        load_config(path, ["model.width=8"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(path, ["model.units"])


def test_data_dir_expands_environment_variables(tmp_path, monkeypatch):
    path = write(tmp_path, "data:\n  dir: ${SC_DIR}")
    with pytest.raises(ConfigError, match="environment variable is not set"):
        load_config(path)
    monkeypatch.setenv("SC_DIR", str(tmp_path))
    assert load_config(path).data.dir == str(tmp_path)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="not found"):
        load_config("/no/such/config.yaml")


def test_yes_no_on_off_stay_words(tmp_path):
    # YAML 1.1 reads them as booleans; Speech Commands has all four as keywords.
    path = write(tmp_path, "data: {task: {keywords: [yes, no, on, off]}}\nmodel: {skip: false}")
    config = load_config(path)
    assert config.data.task == {"keywords": ["yes", "no", "on", "off"]}
    assert config.model.skip is False


def test_an_invalid_set_value_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"--set model.units=\[1,`: not a valid YAML value"):
        load_config(write(tmp_path, "name: x"), ["model.units=[1,"])
