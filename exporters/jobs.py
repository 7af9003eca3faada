"""Jobs the worker processes run: each simulates one clip of one circuit
and returns what the study logs, or ``{"error": ...}`` so that one failed
job does not stop the others. Simulation side: a worker that imports this
module loads no TensorFlow."""

import numpy as np

from bmru_keras.evaluation import clip_decisions
from exporters.noise import cell_noise
from exporters.simulate import simulate_job


def decide_job(job: tuple) -> tuple:
    """``(key, export, features, frame, temperature, rule)`` -> ``(key,
    {"decision", "power_w"})``."""
    key, export, features, frame, temperature, rule = job
    _, sim = simulate_job((export, key, features, frame, temperature))
    if "error" in sim:  # reported per job, the others go on
        return key, sim
    power = sum(v for k, v in sim["power"].items() if k != "bias")
    return key, {"decision": int(clip_decisions(sim["logits"][None], rule)[0]), "power_w": power}


def noise_job(job: tuple) -> tuple:
    """``(key, export, features, frames, frame, input_noise, seed)`` ->
    ``(key, the cells' noise)`` (:func:`exporters.noise.cell_noise`)."""
    key, export, features, frames, frame, input_noise, seed = job

    try:
        result = cell_noise(export, features, frames, frame, input_noise=input_noise, seed=seed)
    except Exception as error:  # reported per clip, the others go on
        return key, {"error": f"{type(error).__name__}: {error}"}
    trace = result.pop("trace")
    if key == "0" and trace is not None:  # the report plots the first clip's
        result["trace"] = {
            k: v if k == "cell" else np.asarray(v).tolist() for k, v in trace.items()
        }
    return key, result
