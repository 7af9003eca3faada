"""What the circuit studies share: their typed options, one loader of a
run and its clips, and the chip calibrations they keep (verification,
Monte Carlo, corners, noise)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from exporters.calibrate import PASSES, RESET_GUARD, calibrate, calibration_settings
from exporters.design import Design
from exporters.export import export_to_circuit
from exporters.trims import BiasTrims


@dataclass(frozen=True)
class StudyOptions:
    """Options of a circuit study of a trained run.

    ``split``: ``testing``, ``validation``, ``heldout`` or ``all``
    (:func:`bmru_keras.training.run_inputs`); ``clips``: that many of them
    (None: all); ``calibrate``: trim gains and offsets on that many
    training clips, ``calibration_passes`` times, the cells fed by other
    cells set ``reset_guard`` units lower to reset (:mod:`exporters.calibrate`);
    ``frame``: seconds per frame of the simulated inputs (None: the run's
    feature hop, ``features.hop_ms``, the rate the circuit is fed at);
    ``scheduler``: a Dask address or client. The rest belong to one study:
    ``trials``, ``seed`` (Monte Carlo), ``trim_each`` (Monte Carlo and
    corners: each chip or process calibrated on its own), ``process_corners``,
    ``temperatures``, ``supply_scales`` (corners; None: the full grid),
    ``frames``, ``input_noise`` (noise)."""

    run_dir: str | Path
    data_dir: str | Path
    split: str = "testing"
    clips: int | None = None
    design: Design = field(default_factory=Design)
    calibrate: int = 0
    calibration_passes: int = PASSES
    reset_guard: float = RESET_GUARD
    workers: int = 1
    scheduler: object = None
    restart: bool = False
    frame: float | None = None
    trials: int = 50
    seed: int = 0
    trim_each: bool = False
    process_corners: tuple[str, ...] | None = None
    temperatures: tuple[float, ...] | None = None
    supply_scales: tuple[float, ...] | None = None
    frames: int = 30
    input_noise: float = 0.05

    def __post_init__(self):
        if self.split not in ("testing", "validation", "heldout", "all"):
            raise ValueError(f"split={self.split!r}: choose testing, validation, heldout or all")
        for name in ("workers", "trials", "frames", "calibration_passes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: give 1 or more")
        if not self.reset_guard >= 0:
            raise ValueError(f"reset_guard={self.reset_guard}: give 0 units or more")
        if self.clips is not None and self.clips < 1:
            raise ValueError(f"clips={self.clips}: give 1 or more (None: all)")
        if self.frame is not None and not self.frame > 0:
            raise ValueError(f"frame={self.frame}: give seconds > 0 (None: the run's hop)")

    def calibrate_chip(self, model, build, x_cal: np.ndarray, frame: float):
        """The :class:`~exporters.trims.BiasTrims` of the chip ``build(trims)``,
        measured on ``x_cal`` (:func:`exporters.calibrate.calibrate`) with these
        options' passes, reset guard, workers and scheduler."""
        return calibrate(
            model, build, x_cal, self.calibration_passes, frame, self.workers,
            self.scheduler, self.reset_guard,
        )  # fmt: skip


@dataclass
class RunClips:
    """A run's model and the clips a study simulates."""

    config: object  # the run's ExperimentConfig
    model: object  # the trained keras.Model
    data: object  # the clips (keys, labels, features)
    x: np.ndarray  # network inputs (clips, frames, inputs)
    logits: np.ndarray  # the model's per-frame logits (clips, frames, classes)
    software: np.ndarray  # the model's clip decisions
    x_cal: np.ndarray | None  # network inputs of the calibration clips (training split)
    frame: float  # seconds per frame the clips are simulated at


def load_clips(options: StudyOptions) -> RunClips:
    """The run of ``options``, its clips of ``options.split`` and, with
    ``options.calibrate`` N, N training clips to measure trims on; the
    frame time is ``options.frame`` or the run's feature hop."""
    from bmru_keras.evaluation import clip_decisions
    from bmru_keras.models import direct_outputs
    from bmru_keras.training import load_run, run_inputs

    config, model, normalization = load_run(options.run_dir)
    _, data, x = run_inputs(config, normalization, options.data_dir, options.split, options.clips)
    logits = direct_outputs(model, x)[0]
    software = clip_decisions(logits, config.model.decision)
    x_cal = None
    if options.calibrate:
        _, _, x_cal = run_inputs(
            config, normalization, options.data_dir, "training", options.calibrate
        )
    frame = options.frame if options.frame is not None else config.features.hop_ms / 1e3
    return RunClips(config, model, data, x, logits, software, x_cal, frame)


def model_sha256(run_dir: str | Path) -> str:
    """The SHA-256 of a run's ``model.keras``: which model a log holds,
    wherever the run folder lies."""
    return hashlib.sha256((Path(run_dir) / "model.keras").read_bytes()).hexdigest()


def digest(x: np.ndarray) -> str:
    """The SHA-256 of an array's bytes: which clips' inputs a log holds."""
    return hashlib.sha256(np.ascontiguousarray(x)).hexdigest()


def calibration_key(options: StudyOptions, untrimmed, x_cal: np.ndarray, frame: float) -> dict:
    """What names a chip's calibration: the ``untrimmed`` circuit (its deck's
    fingerprint), the calibration clips' inputs, ``options``' passes and reset
    guard, and the frame time."""
    return {
        "netlist_sha256": untrimmed.fingerprint(),
        "calibration_inputs_sha256": digest(x_cal),
        **calibration_settings(options.calibrate, options.calibration_passes, options.reset_guard),
        "frame_s": frame,
    }


def kept_trims(
    path: Path, key: dict, measure: Callable[[], BiasTrims], restart: bool = False
) -> BiasTrims:
    """The trims kept in the JSON file ``path`` if they were measured for
    ``key`` (and not ``restart``); else ``measure()``, then kept there."""
    kept = json.loads(path.read_text()) if path.is_file() and not restart else {}
    if kept.get("key") == key:
        return BiasTrims.from_dict(kept["trims"])
    trims = measure()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "trims": trims.as_dict()}))
    return trims


def nominal_export(model, options: StudyOptions, trims: BiasTrims | None = None):
    """``model`` exported at the study's design, with ``trims`` if any."""
    return export_to_circuit(model, options.design, trims=trims)


def nominal_trims(model, options: StudyOptions, x_cal, frame: float) -> BiasTrims | None:
    """The nominal chip's trims (``options.design``, :func:`exporters.calibrate.calibrate`
    on the calibration clips ``x_cal`` at ``frame`` seconds per frame); none
    without ``x_cal``. They are kept in ``RUN_DIR/calibration/`` under a hash
    of their :func:`calibration_key`, so every study of the same chip (the
    verification, corners, noise, a resumed run) measures them once."""
    if x_cal is None:
        return None

    def build(trims):
        return nominal_export(model, options, trims)

    key = calibration_key(options, build(None), x_cal, frame)
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(options.run_dir) / "calibration" / f"{name}.json"
    return kept_trims(
        path, key, lambda: options.calibrate_chip(model, build, x_cal, frame), options.restart
    )
