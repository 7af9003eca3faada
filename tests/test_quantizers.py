import math

import numpy as np
import pytest
import tensorflow as tf

from bmru_keras.layers.quantizers import heaviside, sign

X = np.array([-3.0, -1.0, -0.5, 0.0, 0.25, 1.0, 2.0], "float32")


def value_and_grad(fn, **kwargs):
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x, **kwargs)
    return y.numpy(), tape.gradient(y, x).numpy()


@pytest.mark.parametrize("gradient", ["ste", "surrogate"])
def test_forward_is_exact_step(gradient):
    y, _ = value_and_grad(heaviside, gradient=gradient)
    np.testing.assert_array_equal(y, (X > 0).astype("float32"))
    s, _ = value_and_grad(sign, gradient=gradient)
    np.testing.assert_array_equal(s, np.where(X > 0, 1.0, -1.0))


def test_ste_gradient_is_clipped_identity():
    _, g = value_and_grad(heaviside, gradient="ste")
    np.testing.assert_allclose(g, np.where(np.abs(X) <= 1, 0.5, 0.0))
    _, gs = value_and_grad(sign, gradient="ste")
    np.testing.assert_allclose(gs, 2 * g)


@pytest.mark.parametrize("k", [1.0, 3.0])
def test_surrogate_gradient_is_arctan_derivative(k):
    _, g = value_and_grad(heaviside, gradient="surrogate", sharpness=k)
    np.testing.assert_allclose(g, k / (1 + (math.pi * k * X) ** 2), rtol=1e-5)


def test_unknown_gradient_is_rejected():
    with pytest.raises(ValueError, match="gradient"):
        heaviside(tf.constant(X), gradient="identity")
