"""Step functions with straight-through gradients.

Each function returns the exact step in the forward pass and the derivative of
a smooth stand-in in the backward pass (``keras.ops.custom_gradient``, so it
works on every Keras backend, and graph rewrites cannot perturb the exact
forward values the way ``s(x) + stop_gradient(step(x) - s(x))`` lets them).
"""

import math

from keras import ops

GRADIENTS = ("ste", "surrogate")


def _check_gradient(gradient: str) -> None:
    if gradient not in GRADIENTS:
        raise ValueError(f"Unknown `gradient`: {gradient!r}. Expected one of {GRADIENTS}.")


def step_derivative(x, gradient: str = "ste", sharpness: float = 1.0):
    """The surrogate ``dH/dx`` used in the backward pass of :func:`heaviside`."""
    _check_gradient(gradient)
    if gradient == "ste":
        return ops.cast(ops.abs(x) <= 1.0, x.dtype) * 0.5
    return sharpness / (1.0 + ops.square(math.pi * sharpness * x))


def heaviside(x, gradient: str = "ste", sharpness: float = 1.0):
    """Heaviside step ``H(x) = 1 if x > 0 else 0`` with a surrogate gradient.

    Backward pass, by ``gradient``:

    - ``"ste"``: clipped straight-through, ``dH/dx = 1/2 * 1[|x| <= 1]``
      (the slope of a hard sigmoid spanning ``[-1, 1]``).
    - ``"surrogate"``: derivative of the arctan sigmoid
      ``1/2 + arctan(pi k x) / pi``, that is ``dH/dx = k / (1 + (pi k x)^2)``
      with ``k = sharpness``.
    """
    _check_gradient(gradient)

    @ops.custom_gradient
    def _heaviside(x):
        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return upstream * step_derivative(x, gradient, sharpness)

        return ops.cast(ops.greater(x, 0), x.dtype), grad

    return _heaviside(x)


def sign(x, gradient: str = "ste", sharpness: float = 1.0):
    """Sign ``2 H(x) - 1`` in ``{-1, +1}``; its surrogate slope is twice that of
    :func:`heaviside` (``1[|x| <= 1]`` for ``"ste"``)."""
    return 2.0 * heaviside(x, gradient, sharpness) - 1.0
