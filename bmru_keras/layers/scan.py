"""Parallel scan of the first-order linear recurrence ``h_t = a_t h_{t-1} + b_t``.

Every bistable unit in this package reduces to that recurrence once its gates
``(a_t, b_t)`` are known, and the pairs compose associatively::

    (a1, b1) then (a2, b2) = (a1 * a2, a2 * b1 + b2)

so the whole sequence is computed in O(log T) parallel steps.
"""

from keras import ops


def _compose(earlier, later):
    a1, b1 = earlier
    a2, b2 = later
    return a1 * a2, a2 * b1 + b2


def _doubling_scan(a, b):
    """Hillis-Steele scan along axis 1 for a time length known only at run
    time (``keras.ops.associative_scan`` needs it static in graph mode)."""
    length = ops.shape(a)[1]
    steps = ops.reshape(ops.arange(length), (1, -1, 1))

    def body(shift, a, b):
        valid = steps >= shift
        a_prev = ops.where(valid, ops.roll(a, shift, axis=1), ops.ones_like(a))
        b_prev = ops.where(valid, ops.roll(b, shift, axis=1), ops.zeros_like(b))
        a_new, b_new = _compose((a_prev, b_prev), (a, b))
        return shift * 2, a_new, b_new

    _, a, b = ops.while_loop(
        lambda shift, a, b: shift < length,
        body,
        (ops.convert_to_tensor(1, dtype=length.dtype), a, b),
    )
    return a, b


def linear_recurrence(a, b, initial):
    """All states of ``h_t = a_t * h_{t-1} + b_t`` with ``h_{-1} = initial``.

    Args:
        a, b: tensors of shape ``(batch, time, units)``.
        initial: tensor of shape ``(batch, units)``.

    Returns:
        ``h`` of shape ``(batch, time, units)``.
    """
    if a.shape[1] is None:
        cum_a, cum_b = _doubling_scan(a, b)
    else:
        cum_a, cum_b = ops.associative_scan(_compose, (a, b), axis=1)
    states = cum_a * ops.expand_dims(initial, 1) + cum_b
    # The TensorFlow scan loses the static shape in graph mode; restore it.
    return ops.reshape(states, ops.shape(a))
