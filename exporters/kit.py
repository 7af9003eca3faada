"""The designer's kit: an export with testbenches of real clips and the
software's expected outputs beside them (:meth:`exporters.deck.CircuitExport.write`)."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np

from exporters.deck import Stimulus
from exporters.stimulus import FRAME_SECONDS


def clip_stimuli(
    model: keras.Model,
    x: np.ndarray,
    clip_names: list[str],
    labels: list[int] | None = None,
    class_names: list[str] | None = None,
    rule: str = "majority",
    frame: float = FRAME_SECONDS,
) -> list[Stimulus]:
    """One testbench stimulus per clip of network inputs ``x``, with the
    model's logits per frame and its decision."""
    from bmru_keras.evaluation import clip_decisions
    from bmru_keras.models import direct_outputs

    logits = direct_outputs(model, x)[0]
    decisions = clip_decisions(logits, rule)
    stimuli = []
    for i, clip in enumerate(clip_names):
        expected = {
            "clip": clip,
            "label": None if labels is None else int(labels[i]),
            "class_names": class_names,
            "decision_rule": rule,
            "sw_decision": int(decisions[i]),
            "frame_s": frame,
            "sw_logits": logits[i].tolist(),
        }
        stimuli.append(Stimulus(testbench_name(clip, i), np.asarray(x[i]), expected, frame))
    return stimuli


def testbench_name(clip: str, index: int) -> str:
    """A file-name-safe name for a clip: ``yes/0a7c2a8d_nohash_0.wav`` ->
    ``00_yes_0a7c2a8d_nohash_0``."""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", Path(clip).with_suffix("").as_posix()).strip("_")
    return f"{index:02d}_{stem}"
