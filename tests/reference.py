"""Independent NumPy references of the bistable units, step by step."""

import numpy as np


def fq_bmru(x, kernel, bias, beta_low, beta_high, alpha, h0=None):
    """FQ-BMRU at epsilon = 0: rise above beta_high, fall below beta_low."""
    kernel = np.asarray(kernel, float)
    batch, steps, _ = x.shape
    h = np.zeros((batch, kernel.shape[1])) if h0 is None else np.array(h0, float)
    out = np.empty((batch, steps, kernel.shape[1]))
    for t in range(steps):
        candidate = np.maximum(x[:, t] @ kernel + bias, 0.0)
        h = np.where(candidate > beta_high, alpha, np.where(candidate < beta_low, 0, h))
        out[:, t] = h
    return out


def fq_bmru_relaxed(x, kernel, bias, beta_low, beta_high, alpha, epsilon):
    """FQ-BMRU at any ``epsilon``, written as the bipolar BMRU/CMRU family
    ``s_t = z (sign + epsilon s_{t-1}) + (1 - z) s_{t-1}`` with ``s`` in
    bipolar coordinates (``s_0 = -1``: the cell starts off), the output
    ``alpha (s + 1) / 2``; ``z`` is 1 outside the band, ``sign`` +1 above."""
    kernel = np.asarray(kernel, float)
    batch, steps, _ = x.shape
    s = -np.ones((batch, kernel.shape[1]))
    out = np.empty((batch, steps, kernel.shape[1]))
    for t in range(steps):
        candidate = np.maximum(x[:, t] @ kernel + bias, 0.0)
        above, below = candidate > beta_high, candidate < beta_low
        z = above | below
        s = np.where(z, np.where(above, 1.0, -1.0) + epsilon * s, s)
        out[:, t] = alpha * (s + 1) / 2
    return out


def bmru(x, kernel, bias, beta, alpha, cumulative=False):
    """Bipolar BMRU (or the CMRU with ``cumulative=True``)."""
    kernel = np.asarray(kernel, float)
    batch, steps, _ = x.shape
    h = np.zeros((batch, kernel.shape[1]))
    out = np.empty((batch, steps, kernel.shape[1]))
    for t in range(steps):
        c = x[:, t] @ kernel + bias
        update = np.abs(c) > beta
        jump = alpha * np.where(c > 0, 1.0, -1.0)
        h = np.where(update, h + jump if cumulative else jump, h)
        out[:, t] = h
    return out
