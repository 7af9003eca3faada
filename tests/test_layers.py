"""FQ-BMRU, BMRU and CMRU against NumPy references; scan against loop;
streaming, gradients, serialization and argument validation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bmru_keras import BMRU, CMRU, FQBMRU, FQBMRUCell
from bmru_keras.layers import MirrorDense
from tests import reference

LAYERS = [FQBMRU, BMRU, CMRU]


def set_fq_params(layer, kernel, bias, beta_low, beta_high, alpha):
    cell = layer.cell
    cell.kernel.assign(kernel)
    cell.bias.assign(bias)
    cell.raw_beta_low.assign(beta_low)
    cell.raw_beta_width.assign(np.asarray(beta_high) - np.asarray(beta_low))
    cell.raw_alpha.assign(alpha)


def random_inputs(batch=3, steps=40, features=4, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (batch, steps, features)).astype("float32")


def quantile_band(x, kernel, bias, low=0.35, high=0.65):
    """Thresholds at quantiles of each unit's candidate relu(x W + b), so that
    every unit rises, falls and holds; `low` and `high` may differ per unit."""
    candidate = np.maximum(np.asarray(x) @ np.asarray(kernel) + np.asarray(bias), 0)
    candidate = candidate.reshape(-1, candidate.shape[-1])
    return tuple(
        np.diag(np.quantile(candidate, np.broadcast_to(level, candidate.shape[1]), axis=0))
        for level in (low, high)
    )


@pytest.mark.parametrize("implementation", ["scan", "loop"])
def test_hysteresis_truth_table(implementation):
    # One unit reading its input directly: rises above 0.7, falls below 0.3.
    layer = FQBMRU(1, implementation=implementation, return_sequences=True)
    drive = np.array([0.5, 0.8, 0.5, 0.31, 0.29, 0.5, 0.71, 0.0, 0.69, 1.0, 0.3])
    layer.build((1, len(drive), 1))
    set_fq_params(layer, [[1.0]], [0.0], [0.3], [0.7], [2.0])
    out = np.asarray(layer(drive.reshape(1, -1, 1).astype("float32")))[0, :, 0]
    expected = [0, 2, 2, 2, 0, 0, 2, 0, 0, 2, 2]
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(
        out,
        reference.fq_bmru(drive.reshape(1, -1, 1), [[1.0]], 0, 0.3, 0.7, 2.0)[0, :, 0],
    )


@pytest.mark.parametrize("implementation", ["scan", "loop"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fq_bmru_matches_reference_with_random_parameters(implementation, seed):
    rng = np.random.default_rng(seed)
    units, features = 6, 4
    x = random_inputs(4, 60, features, seed)
    kernel = rng.uniform(-0.5, 1.0, (features, units))
    bias = rng.uniform(0.0, 0.5, units)
    beta_low, beta_high = quantile_band(
        x, kernel, bias, rng.uniform(0.2, 0.45, units), rng.uniform(0.55, 0.8, units)
    )
    alpha = rng.uniform(0.2, 3, units)
    layer = FQBMRU(units, implementation=implementation, return_sequences=True)
    layer.build(x.shape)
    set_fq_params(layer, kernel, bias, beta_low, beta_high, alpha)
    out = np.asarray(layer(x))
    expected = reference.fq_bmru(x, kernel, bias, beta_low, beta_high, alpha)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert np.all((out == 0) | np.isclose(out, alpha))
    assert np.all(out.max(axis=(0, 1)) > 0) and np.all(out.min(axis=(0, 1)) == 0)


@pytest.mark.parametrize("implementation", ["scan", "loop"])
@pytest.mark.parametrize("epsilon", [0.25, 0.5, 0.9, 1.0])
def test_relaxed_fq_bmru_matches_the_bipolar_family(implementation, epsilon):
    # Independent of the layer's own formula: the relaxation is the BMRU/CMRU
    # family in bipolar coordinates, mapped to the first quadrant.
    rng = np.random.default_rng(7)
    x = random_inputs(3, 50, 4, seed=7)
    kernel = rng.uniform(-0.5, 1.0, (4, 5))
    bias = rng.uniform(0.0, 0.3, 5)
    beta_low, beta_high = quantile_band(x, kernel, bias)
    alpha = rng.uniform(0.5, 2, 5)
    layer = FQBMRU(
        5, epsilon=epsilon, relaxation="ladder", implementation=implementation,
        return_sequences=True,
    )  # fmt: skip
    layer.build(x.shape)
    set_fq_params(layer, kernel, bias, beta_low, beta_high, alpha)
    expected = reference.fq_bmru_relaxed(x, kernel, bias, beta_low, beta_high, alpha, epsilon)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("implementation", ["scan", "loop"])
@pytest.mark.parametrize("epsilon", [0.25, 0.5, 0.9, 1.0])
def test_leaky_relaxation_moves_part_way_to_the_target(implementation, epsilon):
    # A switching step keeps epsilon of the state and moves the rest of the
    # way to alpha (above the band) or 0 (below); the state stays in [0, alpha].
    drive = np.array([0.8, 0.8, 0.5, 0.1, 0.9, 0.2], "float32").reshape(1, -1, 1)
    layer = FQBMRU(
        1, epsilon=epsilon, relaxation="leaky", implementation=implementation,
        return_sequences=True,
    )  # fmt: skip
    layer.build(drive.shape)
    set_fq_params(layer, [[1.0]], [0.0], [0.3], [0.7], [2.0])
    expected, h = [], 0.0
    for value in drive[0, :, 0]:
        if value > 0.7 or value < 0.3:
            h = epsilon * h + (1 - epsilon) * (2.0 if value > 0.7 else 0.0)
        expected.append(h)
    np.testing.assert_allclose(np.asarray(layer(drive))[0, :, 0], expected, rtol=1e-6)


@pytest.mark.parametrize("implementation", ["scan", "loop"])
@pytest.mark.parametrize("epsilon", [0.25, 1.0])
def test_noise_relaxation_is_the_exact_unit_outside_training(implementation, epsilon):
    x = random_inputs(3, 50, 4, seed=5)
    rng = np.random.default_rng(5)
    kernel, bias = rng.uniform(-0.5, 1.0, (4, 5)), rng.uniform(0.0, 0.3, 5)
    beta_low, beta_high = quantile_band(x, kernel, bias)
    layer = FQBMRU(5, epsilon=epsilon, implementation=implementation, return_sequences=True)
    assert layer.cell.relaxation == "noise"  # the default
    layer.build(x.shape)
    set_fq_params(layer, kernel, bias, beta_low, beta_high, np.ones(5))
    expected = reference.fq_bmru(x, kernel, bias, beta_low, beta_high, 1.0)
    np.testing.assert_array_equal(np.asarray(layer(x)), expected)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), expected)
    # In training the unit is still binary, but no longer the exact one.
    noisy = np.asarray(layer(x, training=True))
    assert set(np.unique(noisy)) <= {0.0, 1.0} and np.any(noisy != expected)
    layer.epsilon.assign(0.0)
    np.testing.assert_array_equal(np.asarray(layer(x, training=True)), expected)


@pytest.mark.parametrize("implementation", ["scan", "loop"])
def test_noise_relaxation_switches_with_the_stated_probabilities(implementation):
    # A constant candidate of 0.8 in a band [0.3, 0.7] at epsilon = 0.5:
    # tau = 0.2, so the unit switches up with probability sigmoid(0.1 / 0.2)
    # and down with sigmoid(-0.5 / 0.2) (the module docstring), whatever it
    # held; the states form a two-state Markov chain with those rates.
    keras.utils.set_random_seed(0)
    drive = np.full((64, 400, 1), 0.8, "float32")
    layer = FQBMRU(1, epsilon=0.5, implementation=implementation, return_sequences=True)
    layer.build(drive.shape)
    set_fq_params(layer, [[1.0]], [0.0], [0.3], [0.7], [1.0])
    states = np.asarray(layer(drive, training=True))[..., 0]
    previous, current = states[:, :-1].ravel(), states[:, 1:].ravel()
    up = np.mean(current[previous == 0])
    down = 1 - np.mean(current[previous == 1])
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    assert up == pytest.approx(sigmoid(0.5), abs=0.03)
    assert down == pytest.approx(sigmoid(-2.5), abs=0.01)


def test_noise_relaxation_trains_the_thresholds_through_the_surrogate():
    x = random_inputs(2, 30, 3, seed=1)
    layer = FQBMRU(4, epsilon=0.5, return_sequences=True)
    layer.build(x.shape)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) * np.arange(30.0)[None, :, None])
    grads = tape.gradient(loss, [layer.cell.raw_beta_low, layer.cell.raw_beta_width])
    assert all(np.any(np.asarray(g) != 0) for g in grads)


@pytest.mark.parametrize("layer_cls", [BMRU, CMRU])
@pytest.mark.parametrize("implementation", ["scan", "loop"])
def test_bipolar_units_match_reference(layer_cls, implementation):
    rng = np.random.default_rng(3)
    units, features = 5, 4
    x = random_inputs(3, 50, features) - 0.5
    kernel = rng.normal(0, 1, (features, units))
    bias = rng.normal(0, 0.2, units)
    beta = rng.uniform(0.1, 0.6, units)
    alpha = rng.uniform(0.5, 2, units)
    layer = layer_cls(units, implementation=implementation, return_sequences=True)
    layer.build(x.shape)
    layer.cell.kernel.assign(kernel)
    layer.cell.bias.assign(bias)
    layer.cell.raw_beta.assign(beta)
    layer.cell.raw_alpha.assign(alpha)
    out = np.asarray(layer(x))
    expected = reference.bmru(x, kernel, bias, beta, alpha, cumulative=layer_cls is CMRU)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_effective_parameters_are_constrained():
    layer = FQBMRU(5)
    layer.build((2, 3, 4))
    layer.cell.raw_beta_low.assign([-1.0, 0.5, -0.2, 0.0, 2.0])
    layer.cell.raw_beta_width.assign([-0.5, -0.1, 0.3, 0.0, -3.0])
    layer.cell.raw_alpha.assign([-2.0, 1.0, 0.0, -0.1, 3.0])
    low, high, alpha = (np.asarray(v) for v in (layer.beta_low, layer.beta_high, layer.alpha))
    assert low.shape == high.shape == alpha.shape == (5,)
    assert np.all(low >= 0) and np.all(high >= low) and np.all(alpha >= 0)
    np.testing.assert_allclose(high - low, [0.5, 0.1, 0.3, 0.0, 3.0], rtol=1e-6)


def build_pair(layer_cls, seed=0, **kwargs):
    """The same layer twice, with the same weights, as scan and as loop."""
    keras.utils.set_random_seed(seed)
    scan = layer_cls(6, implementation="scan", **kwargs)
    loop = layer_cls(6, implementation="loop", **kwargs)
    return scan, loop


@pytest.mark.parametrize("layer_cls", LAYERS)
@pytest.mark.parametrize(
    "options",
    [{}, {"go_backwards": True}, {"zero_output_for_mask": True}, {"epsilon": 0.5}],
    ids=["plain", "backwards", "zero-mask", "relaxed"],
)
def test_scan_equals_loop(layer_cls, options):
    if layer_cls is CMRU and "epsilon" in options:
        pytest.skip("the CMRU has no epsilon")
    x = random_inputs(3, 37, 4) - (0.0 if layer_cls is FQBMRU else 0.5)
    scan, loop = build_pair(layer_cls, return_sequences=True, return_state=True, **options)
    scan.build(x.shape)
    loop.build(x.shape)
    loop.set_weights(scan.get_weights())
    mask = np.ones(x.shape[:2], bool)
    mask[0, 20:] = False
    mask[1, 5:9] = False
    initial = np.random.default_rng(1).choice([0.0, 1.0], (3, 6)).astype("float32")
    for kwargs in ({}, {"mask": mask, "initial_state": initial}):
        out_s, state_s = scan(x, **kwargs)
        out_l, state_l = loop(x, **kwargs)
        np.testing.assert_allclose(out_s, out_l, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(state_s, state_l, rtol=1e-6, atol=1e-6)


def test_scan_handles_time_length_unknown_until_run_time():
    x = random_inputs(2, 33, 4)
    layer = FQBMRU(6, return_sequences=True)
    eager = np.asarray(layer(x))
    dynamic = tf.function(layer, input_signature=[tf.TensorSpec((None, None, 4))])
    np.testing.assert_array_equal(dynamic(x).numpy(), eager)
    assert dynamic.get_concrete_function().structured_outputs.shape.as_list() == [
        None,
        None,
        6,
    ]


@pytest.mark.parametrize("implementation", ["scan", "loop"])
def test_stateful_chunks_equal_one_shot(implementation):
    x = random_inputs(2, 60, 4, seed=5)
    keras.utils.set_random_seed(0)
    whole = FQBMRU(6, return_sequences=True)
    expected = np.asarray(whole(x))
    stream = FQBMRU(6, implementation=implementation, return_sequences=True, stateful=True)
    inputs = keras.Input(batch_shape=(2, None, 4))
    model = keras.Model(inputs, stream(inputs))
    stream.set_weights(whole.get_weights())
    chunks = [model.predict_on_batch(x[:, i : i + 13]) for i in range(0, 60, 13)]
    np.testing.assert_array_equal(np.concatenate(chunks, axis=1), expected)
    stream.reset_state()
    np.testing.assert_array_equal(model.predict_on_batch(x[:, :13]), expected[:, :13])


@pytest.mark.parametrize("layer_cls", LAYERS)
@pytest.mark.parametrize("gradient", ["ste", "surrogate"])
@pytest.mark.parametrize("implementation", ["scan", "loop"])
def test_every_weight_gets_finite_nonzero_gradient(layer_cls, gradient, implementation):
    x = random_inputs(8, 30, 4, seed=2) - (0.0 if layer_cls is FQBMRU else 0.5)
    keras.utils.set_random_seed(0)
    layer = layer_cls(6, gradient=gradient, implementation=implementation)
    layer.build(x.shape)
    weights = np.random.default_rng(0).normal(size=(6,)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) * weights)
    grads = tape.gradient(loss, layer.trainable_variables)
    assert len(grads) == len(layer.trainable_variables) == 4 + (layer_cls is FQBMRU)
    for var, grad in zip(layer.trainable_variables, grads, strict=True):
        assert grad is not None, var.path
        grad = np.asarray(grad)
        assert np.all(np.isfinite(grad)), var.path
        assert np.any(grad != 0), var.path


@pytest.mark.parametrize("layer_cls", LAYERS)
@pytest.mark.parametrize("epsilon", [0.0, 0.4])
def test_scan_gradients_equal_loop_gradients(layer_cls, epsilon):
    # The scan's backward pass is written by hand (the reverse recurrence); the
    # loop's is TensorFlow's autodiff through every step.
    x = random_inputs(4, 45, 4, seed=7) - (0.0 if layer_cls is FQBMRU else 0.5)
    options = {} if layer_cls is CMRU else {"epsilon": epsilon}
    scan, loop = build_pair(layer_cls, gradient="surrogate", return_sequences=True, **options)
    scan.build(x.shape)
    loop.build(x.shape)
    loop.set_weights(scan.get_weights())
    initial = tf.constant(np.random.default_rng(2).uniform(0, 1, (4, 6)), tf.float32)
    weights = np.random.default_rng(0).normal(size=(45, 6)).astype("float32")
    grads = []
    for layer in (scan, loop):
        with tf.GradientTape() as tape:
            tape.watch(initial)
            out = layer(x, initial_state=initial)
            loss = tf.reduce_sum(out * weights)
        grads.append(tape.gradient(loss, [*layer.trainable_variables, initial]))
    for g_scan, g_loop in zip(*grads, strict=True):
        np.testing.assert_allclose(g_scan, g_loop, rtol=1e-4, atol=1e-5)
        assert np.any(np.asarray(g_scan) != 0)


def test_epsilon_one_is_a_cumulative_ladder():
    # Above the band the state climbs alpha / 2, below it descends alpha / 2.
    layer = FQBMRU(1, epsilon=1.0, relaxation="ladder", return_sequences=True)
    drive = np.array([0.8, 0.5, 0.9, 0.1, 0.9], "float32").reshape(1, -1, 1)
    layer.build(drive.shape)
    set_fq_params(layer, [[1.0]], [0.0], [0.3], [0.7], [1.0])
    np.testing.assert_array_equal(np.asarray(layer(drive))[0, :, 0], [0.5, 0.5, 1, 0.5, 1])
    layer.epsilon.assign(0.0)
    np.testing.assert_array_equal(np.asarray(layer(drive))[0, :, 0], [1, 1, 1, 0, 1])


@pytest.mark.parametrize("layer_cls", LAYERS)
@pytest.mark.parametrize("implementation", ["scan", "loop"])
def test_a_start_delay_holds_the_first_steps_in_reset(layer_cls, implementation):
    # Held steps put out 0; from then on the layer runs as on the sequence's
    # tail from the reset state, with and without a mask.
    x = random_inputs(3, 30, 4, seed=3) - (0.0 if layer_cls is FQBMRU else 0.5)
    keras.utils.set_random_seed(0)
    plain = layer_cls(6, implementation=implementation, return_sequences=True)
    late = layer_cls(6, implementation=implementation, return_sequences=True, start_delay=7)
    plain.build(x.shape)
    late.build(x.shape)
    if layer_cls is FQBMRU:  # a band inside every unit's range, so that the hold matters
        cell = plain.cell
        low, high = quantile_band(x, cell.kernel, cell.bias, 0.3, 0.7)
        set_fq_params(plain, cell.kernel, cell.bias, low, high, np.ones(6))
    late.set_weights(plain.get_weights())
    out = np.asarray(late(x))
    assert out.shape == (3, 30, 6) and not out[:, :7].any()
    np.testing.assert_array_equal(out[:, 7:], np.asarray(plain(x[:, 7:])))
    assert (out[:, 7:] != np.asarray(plain(x))[:, 7:]).any()  # the hold matters
    mask = np.ones(x.shape[:2], bool)
    mask[1, 12:16] = False
    np.testing.assert_array_equal(
        np.asarray(late(x, mask=mask))[:, 7:], np.asarray(plain(x[:, 7:], mask=mask[:, 7:]))
    )
    last = layer_cls(6, implementation=implementation, start_delay=7)
    last.build(x.shape)
    last.set_weights(plain.get_weights())
    np.testing.assert_array_equal(np.asarray(last(x)), out[:, -1])
    with pytest.raises(ValueError, match="initial_state"):
        late(x, initial_state=np.zeros((3, 6), "float32"))
    with pytest.raises(ValueError, match="longer"):
        layer_cls(6, start_delay=30)(x)


def test_a_start_delay_trains_and_is_kept_in_the_keras_file(tmp_path):
    x = random_inputs(8, 20, 4, seed=4)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, 4))
    hidden = FQBMRU(5, return_sequences=True, gradient="surrogate", start_delay=3)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    layer = model.layers[1]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x) ** 2)
    grads = tape.gradient(loss, layer.trainable_variables)
    assert all(np.any(np.asarray(g) != 0) for g in grads)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.layers[1].start_delay == 3
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("layer_cls", LAYERS)
def test_keras_file_round_trip(layer_cls, tmp_path):
    x = random_inputs(3, 25, 4) - (0.0 if layer_cls is FQBMRU else 0.5)
    inputs = keras.Input((None, 4))
    hidden = layer_cls(5, return_sequences=True, gradient="surrogate", sharpness=2.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    model.layers[1].cell.raw_alpha.assign(np.linspace(0.5, 2.0, 5))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[1].get_config() == model.layers[1].get_config()


def test_cell_works_in_plain_keras_rnn():
    x = random_inputs(2, 20, 4)
    keras.utils.set_random_seed(0)
    layer = FQBMRU(3, implementation="loop", return_sequences=True)
    expected = np.asarray(layer(x))
    rnn = keras.layers.RNN(FQBMRUCell(3), return_sequences=True)
    rnn.build(x.shape)
    rnn.set_weights(layer.get_weights())
    np.testing.assert_array_equal(np.asarray(rnn(x)), expected)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"units": 0}, "units"),
        ({"units": -2}, "units"),
        ({"units": "4"}, "units"),
        ({"units": 4, "gradient": "identity"}, "gradient"),
        ({"units": 4, "implementation": "cudnn"}, "implementation"),
        ({"units": 4, "sharpness": 0.0}, "sharpness"),
        ({"units": 4, "epsilon": 1.5}, "epsilon"),
        ({"units": 4, "unroll": True}, "unroll"),
        ({"units": 4, "input_noise": -0.1}, "input_noise"),
        ({"units": 4, "start_delay": -1}, "start_delay"),
        ({"units": 4, "start_delay": 1.5}, "start_delay"),
        ({"units": 4, "start_delay": 2, "stateful": True}, "stateful"),
        ({"units": 4, "start_delay": 2, "go_backwards": True}, "go_backwards"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FQBMRU(**kwargs)


@pytest.mark.parametrize("layer_cls", LAYERS)
def test_input_noise_is_added_to_the_projection_in_training_only(layer_cls):
    x = random_inputs(8, 50, 4)
    keras.utils.set_random_seed(0)
    layer = layer_cls(6, return_sequences=True, input_noise=0.05)
    clean = np.asarray(layer(x))
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), clean)
    cell = layer.cell
    noise = np.asarray(cell.project(x, training=True)) - np.asarray(cell.project(x))
    assert abs(noise.mean()) < 0.005 and abs(noise.std() - 0.05) < 0.005
    assert not np.array_equal(np.asarray(layer(x, training=True)), clean)
    for implementation in ("scan", "loop"):
        keras.utils.set_random_seed(0)
        noisy = layer_cls(6, return_sequences=True, implementation=implementation, input_noise=0.05)
        noisy(x)
        noisy.set_weights(layer.get_weights())
        assert not np.array_equal(np.asarray(noisy(x, training=True)), clean)
    assert layer_cls.from_config(layer.get_config()).cell.input_noise == 0.05


def test_wrong_input_rank_raises():
    with pytest.raises(ValueError, match="ndim=3"):
        FQBMRU(4)(np.zeros((2, 4), "float32"))


def test_stateful_without_fixed_batch_size_raises():
    with pytest.raises(ValueError, match="stateful"):
        FQBMRU(4, stateful=True)(keras.Input((10, 3)))


def test_mirror_dense_adds_its_mirror_current_to_the_loss_in_training(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (3, 5, 4)).astype("float32")
    layer = MirrorDense(2, current_penalty=0.1)
    out = layer(x, training=True)  # built with a zero bias
    kernel = np.asarray(layer.kernel)
    bias = rng.normal(0, 1, 2).astype("float32")
    layer.bias.assign(bias)
    layer(x, training=True)
    current = (np.abs(x) @ np.abs(kernel)).sum(-1).mean() + np.abs(bias).sum()
    np.testing.assert_allclose(float(layer.losses[-1]), 0.1 * current, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(out), x @ kernel, rtol=1e-5, atol=1e-6)
    layer(x)
    assert not layer.losses  # inference adds nothing
    model = keras.Sequential([keras.Input((5, 4)), layer])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras").layers[0]
    assert isinstance(loaded, MirrorDense) and loaded.current_penalty == 0.1
    with pytest.raises(ValueError, match="current_penalty"):
        MirrorDense(2, current_penalty=-1.0)


def test_the_current_penalty_trains_smaller_currents():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (64, 8)).astype("float32")
    y = x @ rng.normal(0, 1, (8, 3)).astype("float32")

    def current(penalty):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((8,)), MirrorDense(3, current_penalty=penalty)])
        model.compile(keras.optimizers.SGD(0.05), "mse")
        model.fit(x, y, epochs=60, batch_size=64, verbose=0)
        return np.abs(np.asarray(model.layers[0].kernel)).sum()

    assert current(0.5) < 0.8 * current(0.0)
