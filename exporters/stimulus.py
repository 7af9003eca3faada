"""Input stimulus: a clip's features as piecewise-linear input currents."""

import numpy as np


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


def transient(frames: int, frame: float, temperature: float) -> list[str]:
    """The analysis lines of a clip: temperature and a transient to its end,
    sampled at least 10 times a frame."""
    return [
        f".options temp={temperature}",
        f".tran {frame / 20:.6g} {frames * frame:.6g} 0 {frame / 10:.6g}",
    ]
