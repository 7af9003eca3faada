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
