"""Training with model.fit: the memory task and the epsilon curriculum."""

import keras
import numpy as np
import pytest

from bmru_keras import FQBMRU, EpsilonAnnealing
from bmru_keras.callbacks import epsilon_schedule
from bmru_keras.data import flipflop_task
from bmru_keras.demo import train_flipflop


def test_flipflop_targets_follow_last_event():
    x, y = flipflop_task(4, steps=300, seed=3)
    for xs, ys in zip(x, y, strict=True):
        state = 0
        for t in range(300):
            if xs[t, 0] == 1.0:
                state = 1
            elif xs[t, 1] == 1.0:
                state = 0
            assert ys[t] == state
    assert x.min() >= 0 and x.max() <= 1


def test_memoryless_model_cannot_solve_the_task():
    keras.utils.set_random_seed(0)
    x, y = flipflop_task(256, steps=256, seed=0)
    model = keras.Sequential(
        [
            keras.Input((None, x.shape[-1])),
            keras.layers.Dense(16, "relu"),
            keras.layers.Dense(2),
        ]
    )
    model.compile(
        "adam",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=5, verbose=0)
    assert model.evaluate(*flipflop_task(64, seed=9), verbose=0)[1] < 0.7


def test_fq_bmru_learns_the_memory_task():
    model, accuracy = train_flipflop(units=8, epochs=30, steps=256, verbose=0)
    assert accuracy >= 0.95
    outputs = model.layers[0](flipflop_task(2, seed=5)[0])
    alpha = np.asarray(model.layers[0].alpha)
    assert np.all((np.asarray(outputs) == 0) | (np.asarray(outputs) == alpha))


def test_epsilon_schedule_holds_then_decays_linearly():
    values = [epsilon_schedule(s, hold_steps=3, decay_steps=4, start=1.0) for s in range(9)]
    assert values == [1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]


def test_annealing_callback_drives_epsilon_to_zero_during_fit():
    x, y = flipflop_task(64, steps=40, seed=0)
    model = keras.Sequential(
        [
            keras.Input((None, 5)),
            FQBMRU(4, epsilon=1.0, return_sequences=True),
            keras.layers.Dense(2),
        ]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(float(model.layers[0].epsilon))
    )
    history = model.fit(
        x, y, batch_size=16, epochs=3,
        callbacks=[EpsilonAnnealing(hold_steps=4, decay_steps=4), record], verbose=0,
    )  # fmt: skip
    np.testing.assert_allclose(seen, [1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0, 0, 0])
    assert history.history["epsilon"] == [1.0, 0.25, 0.0]


def test_annealing_callback_needs_a_bistable_layer():
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.GRU(2)])
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="no bistable layer"):
        model.fit(
            np.zeros((4, 3, 2)),
            np.zeros((4, 2)),
            callbacks=[EpsilonAnnealing()],
            verbose=0,
        )
