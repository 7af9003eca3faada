"""Training callbacks."""

import keras
import numpy as np

from bmru_keras.layers.bistable import BistableCell
from bmru_keras.parameter_noise import perturb


def relaxable_cells(model: keras.Model) -> list[BistableCell]:
    """Every bistable cell in ``model`` (nested models included) whose
    ``epsilon`` is a weight."""
    return [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, BistableCell) and layer.relaxable
    ]


def epsilon_schedule(step: int, hold_steps: int, decay_steps: int, start: float):
    """``start`` for ``hold_steps`` steps, then linear to 0 over ``decay_steps``."""
    if step < hold_steps:
        return start
    if decay_steps <= 0:
        return 0.0
    return start * max(0.0, 1.0 - (step - hold_steps) / decay_steps)


class EpsilonAnnealing(keras.callbacks.Callback):
    """Anneal the relaxation ``epsilon`` of every bistable layer during ``fit``.

    ``epsilon = start`` for the first ``hold_steps`` optimizer steps, then it
    decays linearly to 0 over ``decay_steps`` steps and stays there. The step
    count is the optimizer's, so a resumed ``fit`` continues the schedule.
    The current value is logged as ``epsilon`` at the end of each epoch.

    Args:
        hold_steps: steps at ``start`` (the paper's recipe: about 1000).
        decay_steps: steps of the linear decay (the paper's: about 5000).
        start: initial value, in ``[0, 1]``.
    """

    def __init__(self, hold_steps: int = 1000, decay_steps: int = 5000, start=1.0):
        super().__init__()
        if hold_steps < 0 or decay_steps < 0:
            raise ValueError(
                "`hold_steps` and `decay_steps` must be >= 0. Received: "
                f"hold_steps={hold_steps}, decay_steps={decay_steps}"
            )
        if not 0.0 <= start <= 1.0:
            raise ValueError(f"`start` must lie in [0, 1]. Received: start={start}")
        self.hold_steps = hold_steps
        self.decay_steps = decay_steps
        self.start = start
        self.value = start

    def on_train_begin(self, logs=None):
        self._cells = relaxable_cells(self.model)
        if not self._cells:
            raise ValueError(
                "EpsilonAnnealing found no bistable layer with a relaxable "
                "`epsilon` in the model (FQBMRU or BMRU)."
            )

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        value = epsilon_schedule(step, self.hold_steps, self.decay_steps, self.start)
        if value != self.value or batch == 0:
            self.value = value
            for cell in self._cells:
                cell.epsilon.assign(value)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epsilon"] = self.value


class ParameterNoise(keras.callbacks.Callback):
    """Hardware-aware training: each batch's gradient is taken at parameters
    scaled by ``1 + N(0, fraction / 3)`` (device mismatch, as in
    :mod:`bmru_keras.parameter_noise`), and the optimizer's step is applied to the
    clean parameters:

        w_noisy = w * (1 + eps),  w <- w + (step(w_noisy) - w_noisy).

    Evaluation and the saved model use the clean parameters.
    """

    def __init__(self, fraction: float, seed: int = 0):
        super().__init__()
        if not 0 < fraction < 1:
            raise ValueError(f"`fraction` must be in (0, 1); got {fraction}")
        self.fraction = fraction
        self.rng = np.random.default_rng(seed)
        self._clean = self._noisy = None

    def on_train_batch_begin(self, batch, logs=None):
        variables = self.model.trainable_weights
        self._clean = [np.asarray(v) for v in variables]
        self._noisy = perturb(self._clean, self.fraction, self.rng)
        for variable, value in zip(variables, self._noisy, strict=True):
            variable.assign(value)

    def on_train_batch_end(self, batch, logs=None):
        for variable, clean, noisy in zip(
            self.model.trainable_weights, self._clean, self._noisy, strict=True
        ):
            variable.assign(clean + (np.asarray(variable) - noisy))
