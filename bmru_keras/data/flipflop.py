"""A set/reset memory task that no memoryless model can solve.

Channel 0 carries rare "set" pulses, channel 1 rare "reset" pulses, and the
other channels (and a low floor on the first two) carry noise. The target at
every step is 1 if a set pulse has appeared and not yet been cancelled by a
later reset pulse, else 0. All inputs are non-negative (first quadrant).
"""

import numpy as np


def flipflop_task(
    n_sequences: int,
    steps: int = 256,
    n_distractors: int = 3,
    pulse_rate: float = 0.03,
    noise: float = 0.3,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate the task.

    Returns:
        ``x`` of shape ``(n_sequences, steps, 2 + n_distractors)``, float32 in
        ``[0, 1]``, and ``y`` of shape ``(n_sequences, steps)``, int32 in
        ``{0, 1}``.
    """
    if n_sequences <= 0 or steps <= 0 or n_distractors < 0:
        raise ValueError(
            "`n_sequences` and `steps` must be positive and `n_distractors` "
            f">= 0. Received: {n_sequences}, {steps}, {n_distractors}"
        )
    if not 0.0 < pulse_rate < 0.5:
        raise ValueError(f"`pulse_rate` must lie in (0, 0.5). Received: {pulse_rate}")
    rng = np.random.default_rng(seed)
    events = rng.random((n_sequences, steps))
    is_set = events < pulse_rate
    is_reset = (events >= pulse_rate) & (events < 2 * pulse_rate)
    x = rng.uniform(0.0, noise, (n_sequences, steps, 2 + n_distractors))
    x[:, :, 2:] = rng.uniform(0.0, 1.0, (n_sequences, steps, n_distractors))
    x[is_set, 0] = 1.0
    x[is_reset, 1] = 1.0
    # Last event so far: +1 set, -1 reset, 0 none; the target holds the last one.
    last = np.where(is_set, 1, np.where(is_reset, -1, 0))
    index = np.where(last != 0, np.arange(steps), 0)
    np.maximum.accumulate(index, axis=1, out=index)
    y = (np.take_along_axis(last, index, axis=1) == 1).astype("int32")
    return x.astype("float32"), y
