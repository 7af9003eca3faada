"""Parallel scan of the first-order linear recurrence ``h_t = a_t h_{t-1} + b_t``.

Every bistable unit in this package reduces to that recurrence once its gates
``(a_t, b_t)`` are known, and the pairs compose associatively::

    (a1, b1) then (a2, b2) = (a1 * a2, a2 * b1 + b2)

:func:`linear_recurrence` is a blocked (two-level) associative scan, the
classic work-efficient layout of parallel scans: the time axis is cut into
``C`` blocks of ``L ~ sqrt(T)`` steps; all blocks are scanned at once, step by
step (``L`` sequential steps over tensors of ``C`` blocks); the ``C`` block
totals are then combined with a Hillis-Steele scan (``log2 C`` parallel
steps); a last elementwise pass applies each block's incoming state. That is
``O(T)`` work in ``O(sqrt T)`` sequential steps.

We do not call ``keras.ops.associative_scan`` here. On the TensorFlow backend
(Keras 3.15) it is 3-4x slower than this scan on CPU, fails inside XLA for odd
lengths and fails in graph mode when the length is known only at run time
(measured; see ``docs/layer.md``).
"""

import math

from keras import ops

#: Block length used when the sequence length is known only at run time.
DYNAMIC_BLOCK = 32


def _compose(earlier, later):
    a1, b1 = earlier
    a2, b2 = later
    return a1 * a2, a2 * b1 + b2


def _shift(x, shift, fill: float):
    """``x`` moved ``shift`` steps later along axis 1, ``fill`` entering."""
    head = ops.full_like(x[:, :shift], fill)
    return ops.concatenate([head, x[:, :-shift]], axis=1)


def _hillis_steele(a, b):
    """Inclusive scan along axis 1 in ``ceil(log2 n)`` parallel steps."""
    length = a.shape[1]
    if length is not None:
        shift = 1
        while shift < length:
            a, b = _compose((_shift(a, shift, 1.0), _shift(b, shift, 0.0)), (a, b))
            shift *= 2
        return a, b
    length = ops.shape(a)[1]
    steps = ops.reshape(ops.arange(length), (1, -1, 1))

    def body(shift, a, b):
        valid = steps >= shift
        a_prev = ops.where(valid, ops.roll(a, shift, axis=1), ops.ones_like(a))
        b_prev = ops.where(valid, ops.roll(b, shift, axis=1), ops.zeros_like(b))
        a, b = _compose((a_prev, b_prev), (a, b))
        return shift * 2, a, b

    one = ops.convert_to_tensor(1, dtype=length.dtype)
    _, a, b = ops.while_loop(lambda shift, a, b: shift < length, body, (one, a, b))
    return a, b


def _blocked_scan(a, b, initial):
    """All states of ``h_t = a_t * h_{t-1} + b_t`` with ``h_{-1} = initial``.

    Args:
        a, b: tensors of shape ``(batch, time, units)``; the time length may
            be unknown until run time.
        initial: tensor of shape ``(batch, units)``.

    Returns:
        ``h`` of shape ``(batch, time, units)``.
    """
    static_length = a.shape[1]
    units = a.shape[2]
    if static_length is not None:
        block = max(1, math.isqrt(static_length - 1) + 1)  # ceil(sqrt(T))
        pad = -static_length % block
    else:
        block = DYNAMIC_BLOCK
        pad = -ops.shape(a)[1] % block
    a = ops.pad(a, [[0, 0], [0, pad], [0, 0]], constant_values=1.0)
    b = ops.pad(b, [[0, 0], [0, pad], [0, 0]])
    # (batch, blocks * block, units) <-> (block, blocks, batch, units): step i
    # of every block is one contiguous slice.
    swap = (2, 1, 0, 3)
    batch = ops.shape(a)[0]
    a_steps, b_steps = (
        ops.unstack(ops.transpose(ops.reshape(x, (batch, -1, block, units)), swap)) for x in (a, b)
    )
    # Scan within every block at once, step by step.
    cum_a, cum_b = [a_steps[0]], [b_steps[0]]
    for a_i, b_i in zip(a_steps[1:], b_steps[1:], strict=True):
        cum_a.append(a_i * cum_a[-1])
        cum_b.append(a_i * cum_b[-1] + b_i)
    cum_a = ops.transpose(ops.stack(cum_a), swap)  # (batch, blocks, block, units)
    cum_b = ops.transpose(ops.stack(cum_b), swap)
    # Scan the block totals, then enter each block with the state before it.
    total_a, total_b = _hillis_steele(cum_a[:, :, -1], cum_b[:, :, -1])
    after = total_a * ops.expand_dims(initial, 1) + total_b
    before = ops.concatenate([ops.expand_dims(initial, 1), after[:, :-1]], axis=1)
    states = cum_a * ops.expand_dims(before, 2) + cum_b
    states = ops.reshape(states, (batch, -1, units))
    return states[:, : ops.shape(states)[1] - pad]


def linear_recurrence(a, b, initial):
    """All states of ``h_t = a_t * h_{t-1} + b_t`` with ``h_{-1} = initial``,
    by the blocked scan, for inputs of shape ``(batch, time, units)`` and
    ``initial`` of shape ``(batch, units)``.

    The backward pass is the reverse recurrence, solved by the same scan: with
    ``e_t = dL/dh_t`` from above, ``g_t = e_t + a_{t+1} g_{t+1}``, then
    ``dL/db_t = g_t``, ``dL/da_t = g_t h_{t-1}`` and ``dL/dh_{-1} = a_0 g_0``.
    """

    @ops.custom_gradient
    def _recurrence(a, b, initial):
        states = _blocked_scan(a, b, initial)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            later_a = _shift(ops.flip(a, axis=1), 1, 0.0)
            g = ops.flip(
                _blocked_scan(later_a, ops.flip(upstream, axis=1), ops.zeros_like(initial)),
                axis=1,
            )
            previous = ops.concatenate([ops.expand_dims(initial, 1), states[:, :-1]], axis=1)
            return g * previous, g, a[:, 0] * g[:, 0]

        return states, grad

    return _recurrence(a, b, initial)
