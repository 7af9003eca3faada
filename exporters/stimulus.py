"""Input stimulus: a clip's features as piecewise-linear input currents, and
the reset of the layers that start late."""

import numpy as np

from exporters.cells import RESET_SECONDS, reset_waveform

#: Seconds per frame by default: the feature hop of ``bmru_keras.config.FeatureConfig``
#: (10 ms), the rate a circuit is fed at.
FRAME_SECONDS = 0.01


def input_sources(
    inputs: list[str], unit_current: float, features: np.ndarray, frame: float
) -> list[str]:
    """One PWL current source per input n-node, from ``vdd_bias``: each
    frame's value ``feature * unit_current``, held for the frame, with edges
    of 1 % of a frame."""
    edge = frame / 100
    lines = []
    for f, net in enumerate(inputs):
        points = []
        for k, value in enumerate(features[:, f] * unit_current):
            points += [
                f"{k * frame + (edge if k else 0):.6g}",
                f"{value:.6g}",
                f"{(k + 1) * frame:.6g}",
                f"{value:.6g}",
            ]
        lines.append(f"I_{net} vdd_bias {net} PWL({' '.join(points)})")
    return lines


def reset_sources(resets: dict[str, int], vdd: float, frame: float) -> list[str]:
    """One PWL voltage source per held reset net (``resets``: net -> frames):
    at the supply until ``frames * frame`` after the power-on reset ends,
    then low, with its 10 % edge."""
    lines = []
    for net, frames in resets.items():
        points = reset_waveform(RESET_SECONDS + frames * frame, vdd)
        lines.append(f"V_{net} {net} 0 PWL({' '.join(f'{t:.6g} {v:g}' for t, v in points)})")
    return lines


def transient(frames: int, frame: float, temperature: float) -> list[str]:
    """The analysis lines of a clip: temperature and a transient to its end,
    sampled at least 10 times a frame."""
    return [
        f".options temp={temperature}",
        f".tran {frame / 20:.6g} {frames * frame:.6g} 0 {frame / 10:.6g}",
    ]
