"""Machinery shared by the bistable recurrent units (FQ-BMRU, BMRU, CMRU).

A bistable cell turns its input into two gates per unit and step, and its
state follows the linear recurrence ``h_t = a_t * h_{t-1} + b_t``. The cell
(:class:`BistableCell`) computes the gates and steps once; the layer
(:class:`BistableRNN`) runs the cell step by step (``implementation="loop"``)
or solves the recurrence over the whole sequence with a parallel scan
(``implementation="scan"``). Both give the same outputs.
"""

import inspect

from keras import constraints, initializers, ops, random, regularizers
from keras.layers import RNN, InputSpec, Layer

from bmru_keras.layers.quantizers import GRADIENTS, heaviside, sign
from bmru_keras.layers.scan import linear_recurrence

IMPLEMENTATIONS = ("scan", "loop")


class BistableCell(Layer):
    """Base cell: an input projection, a per-unit amplitude, and gates.

    Subclasses define :meth:`build_unit_weights` (their own per-unit weights)
    and :meth:`gates`, which maps inputs of shape ``(..., input_dim)`` to
    ``(a, b)`` of shape ``(..., units)``.

    Args:
        units: positive integer, number of units.
        gradient: ``"ste"`` (clipped straight-through) or ``"surrogate"``
            (arctan derivative) for the backward pass of each step function.
        sharpness: slope factor ``k`` of the ``"surrogate"`` gradient.
        epsilon: initial value of the relaxation ``epsilon`` (0 is the exact
            bistable unit, 1 the most relaxed: for the BMRU the cumulative
            one); a non-trainable weight that
            :class:`bmru_keras.EpsilonAnnealing` changes during training.
        input_noise: standard deviation ``sigma >= 0`` of a Gaussian noise
            added, in training only, to the input projection:
            ``inputs @ kernel + bias + N(0, sigma)``, independent per
            sample, step and unit (a circuit's error at the cell's input,
            in its units). 0: none.
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint: as in
            :class:`keras.layers.Dense`, for the input projection.
        alpha_initializer: initializer of the raw amplitude ``p_alpha``
            (``alpha = |p_alpha|``).
        unit_constraint: constraint on every per-unit raw parameter
            (``p_alpha`` and the thresholds' raw weights), e.g.
            :class:`bmru_keras.constraints.MagnitudeRange` to keep the bias
            currents of a circuit in range.
    """

    #: Whether ``epsilon`` is a weight that training may anneal.
    relaxable = True

    def __init__(
        self,
        units: int,
        gradient: str = "ste",
        sharpness: float = 1.0,
        epsilon: float = 0.0,
        input_noise: float = 0.0,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        alpha_initializer="ones",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        unit_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
        if gradient not in GRADIENTS:
            raise ValueError(f"Unknown `gradient`: {gradient!r}. Expected one of {GRADIENTS}.")
        if not sharpness > 0:
            raise ValueError(f"`sharpness` must be positive. Received: sharpness={sharpness!r}")
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"`epsilon` must lie in [0, 1]. Received: epsilon={epsilon!r}")
        if not input_noise >= 0:
            raise ValueError(f"`input_noise` must be >= 0. Received: input_noise={input_noise!r}")
        self.units = units
        self.gradient = gradient
        self.sharpness = float(sharpness)
        self.initial_epsilon = float(epsilon)
        self.input_noise = float(input_noise)
        self.seed_generator = random.SeedGenerator() if input_noise else None
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.unit_constraint = constraints.get(unit_constraint)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape "
                f"(batch, features) per step. Received: input_shape={input_shape}"
            )
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.raw_alpha = self.unit_weight("raw_alpha", self.alpha_initializer)
        self.build_unit_weights()
        if self.relaxable:
            self._epsilon = self.add_weight(
                shape=(),
                name="epsilon",
                initializer=initializers.Constant(self.initial_epsilon),
                trainable=False,
            )

    @staticmethod
    def threshold_initializer(initializer, low: float, high: float):
        """``initializer``, or ``RandomUniform(low, high)`` when it is None."""
        if initializer is None:
            return initializers.RandomUniform(low, high)
        return initializers.get(initializer)

    def unit_weight(self, name: str, initializer):
        """A per-unit raw parameter, under :attr:`unit_constraint`."""
        return self.add_weight(
            shape=(self.units,),
            name=name,
            initializer=initializer,
            constraint=self.unit_constraint,
        )

    def build_unit_weights(self) -> None:
        """Create the per-unit weights of the subclass (:meth:`unit_weight`)."""
        raise NotImplementedError

    def gates(self, inputs, training=False):
        """Return ``(a, b)`` with ``h_t = a * h_{t-1} + b``."""
        raise NotImplementedError

    @property
    def alpha(self):
        """Output amplitude per unit, ``alpha = |p_alpha| >= 0``."""
        return ops.abs(self.raw_alpha)

    @property
    def epsilon(self):
        """Current relaxation value (a scalar tensor or float)."""
        return self._epsilon if self.relaxable else 1.0

    def project(self, inputs, training=False):
        """Input projection ``inputs @ kernel + bias``, plus the
        ``input_noise`` in training."""
        out = ops.matmul(inputs, self.kernel)
        if self.use_bias:
            out = out + self.bias
        if training and self.input_noise:
            out = out + random.normal(
                ops.shape(out), stddev=self.input_noise, dtype=out.dtype, seed=self.seed_generator
            )
        return out

    def step(self, x):
        """``H(x)`` with this cell's surrogate gradient."""
        return heaviside(x, self.gradient, self.sharpness)

    def sign(self, x):
        """``sign(x)`` in ``{-1, +1}`` with this cell's surrogate gradient."""
        return sign(x, self.gradient, self.sharpness)

    def relax(self, hold):
        """Hold gate ``a`` under the relaxation: ``hold + epsilon * (1 - hold)``."""
        if not self.relaxable:
            return ops.ones_like(hold)
        return hold + ops.cast(self.epsilon, hold.dtype) * (1.0 - hold)

    def call(self, inputs, states, training=False):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        a, b = self.gates(inputs, training)
        h = a * h_prev + b
        return h, [h]

    def get_config(self):
        config = {
            "units": self.units,
            "gradient": self.gradient,
            "sharpness": self.sharpness,
            "epsilon": self.initial_epsilon,
            "input_noise": self.input_noise,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "unit_constraint": constraints.serialize(self.unit_constraint),
        }
        if not self.relaxable:
            del config["epsilon"]
        return {**super().get_config(), **config}


class BistableRNN(RNN):
    """Base layer running a :class:`BistableCell` over a sequence.

    Subclasses set :attr:`cell_class`; keyword arguments that the cell takes
    go to the cell, the others to :class:`keras.layers.RNN`.

    Args:
        units: positive integer, number of units.
        implementation: ``"scan"`` (parallel associative scan over the whole
            sequence; for training and offline inference) or ``"loop"`` (one
            cell step per time step; for streaming). Same outputs.
        return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask: as in :class:`keras.layers.RNN`; ``unroll``
            applies to ``implementation="loop"`` only.
        start_delay: steps held in reset at the start of every sequence
            (integer >= 0): for ``t < start_delay`` the state and output are
            0, and the recurrence starts from ``h = 0`` at ``t = start_delay``.
            A layer fed by another bistable layer can wait for that layer's
            outputs to settle, as a circuit whose cells leave their reset in
            turn (:mod:`exporters.cells`). 0: none.
    """

    #: The cell class a subclass runs.
    cell_class: type[BistableCell]

    def __init__(self, units: int, implementation: str = "scan", start_delay: int = 0, **kwargs):
        cell_arguments = set(inspect.signature(self.cell_class).parameters) | set(
            inspect.signature(BistableCell).parameters
        )
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in cell_arguments}
        cell = self.cell_class(
            units,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=f"{type(self).__name__.lower()}_cell",
            **cell_kwargs,
        )
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"Unknown `implementation`: {implementation!r}. Expected one of {IMPLEMENTATIONS}."
            )
        if implementation == "scan" and kwargs.get("unroll"):
            raise ValueError(
                "`unroll=True` applies to implementation='loop' only; the scan "
                "is already parallel over time."
            )
        if not isinstance(start_delay, int) or isinstance(start_delay, bool) or start_delay < 0:
            raise ValueError(
                f"`start_delay` must be an integer >= 0. Received: start_delay={start_delay!r}"
            )
        for flag, why in (
            ("stateful", "a stateful layer carries its state into the next batch"),
            ("go_backwards", "the reset holds the first steps in time order"),
        ):
            if start_delay and kwargs.get(flag):
                raise ValueError(
                    f"`start_delay` resets the state at the start of every sequence, and "
                    f"{why}: use one of `start_delay` and `{flag}=True`."
                )
        super().__init__(cell, **kwargs)
        self.implementation = implementation
        self.start_delay = start_delay
        self.input_spec = InputSpec(ndim=3)

    def build(self, sequences_shape, initial_state_shape=None):
        if self.stateful and sequences_shape[0] is None:
            raise ValueError(
                f"Layer {self.name!r} is `stateful=True` but its batch size is "
                "not fixed. Give the input a static batch size, e.g. "
                "`keras.Input(batch_shape=(batch, time, features))`."
            )
        steps = sequences_shape[1]
        if steps is not None and steps <= self.start_delay:
            raise ValueError(
                f"Layer {self.name!r} holds its first {self.start_delay} steps in reset "
                f"(`start_delay`) but its sequences have {steps}: give longer "
                "sequences or a shorter delay."
            )
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if self.start_delay and initial_state is not None:
            raise ValueError(
                f"Layer {self.name!r} starts every sequence from the reset state "
                "(`start_delay`); it takes no `initial_state`."
            )
        return super().call(sequences, initial_state, mask, training)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        delay = self.start_delay
        if not delay:
            return self.recur(sequences, initial_state, mask, training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        # The held steps: state and output 0; the rest starts from h = 0.
        initial = [ops.zeros_like(s) for s in initial_state]
        held = None if mask is None else mask[:, delay:]
        last, outputs, states = self.recur(sequences[:, delay:], initial, held, training)
        if self.return_sequences:
            zeros = ops.repeat(ops.zeros_like(outputs[:, :1]), delay, axis=1)
            outputs = ops.concatenate([zeros, outputs], axis=1)
        return last, outputs, states

    def recur(self, sequences, initial_state, mask, training=False):
        """The recurrence over ``sequences`` from ``initial_state``: the
        returns of :meth:`keras.layers.RNN.inner_loop`."""
        if self.implementation == "loop":
            return super().inner_loop(sequences, initial_state, mask, training)
        initial = initial_state[0] if isinstance(initial_state, list) else initial_state
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=1)
        a, b = self.cell.gates(sequences, training)
        if mask is not None:
            # A masked step holds the state: (a, b) = (1, 0).
            keep = ops.expand_dims(ops.cast(mask, a.dtype), -1)
            a = keep * a + (1.0 - keep)
            b = keep * b
        states = linear_recurrence(a, b, ops.cast(initial, a.dtype))
        outputs = states
        if mask is not None:
            # As keras.layers.RNN: a masked step outputs zeros
            # (zero_output_for_mask) or the last output, zeros before any.
            seen = ops.cast(ops.cumsum(keep, axis=1) > 0, a.dtype)
            outputs = states * (keep if self.zero_output_for_mask else seen)
        return outputs[:, -1], outputs, [states[:, -1]]

    @property
    def units(self) -> int:
        return self.cell.units

    @property
    def gradient(self) -> str:
        return self.cell.gradient

    @property
    def sharpness(self) -> float:
        return self.cell.sharpness

    @property
    def epsilon(self):
        return self.cell.epsilon

    @property
    def kernel(self):
        return self.cell.kernel

    @property
    def bias(self):
        return self.cell.bias

    @property
    def alpha(self):
        return self.cell.alpha

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            del cell_config[key]
        return {
            **config,
            **cell_config,
            "implementation": self.implementation,
            "start_delay": self.start_delay,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
