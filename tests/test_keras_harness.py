"""Keras's own layer harness: config round trip, symbolic and eager calls,
a training step, serialization, mixed precision."""

import pytest
from keras.src import testing

from bmru_keras import BMRU, CMRU, FQBMRU


class KerasLayerHarness(testing.TestCase):
    pass


@pytest.mark.parametrize("implementation", ["scan", "loop"])
@pytest.mark.parametrize("gradient", ["ste", "surrogate"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_fq_bmru_passes_keras_layer_test(implementation, gradient, return_sequences):
    KerasLayerHarness().run_layer_test(
        FQBMRU,
        init_kwargs={
            "units": 3,
            "implementation": implementation,
            "gradient": gradient,
            "return_sequences": return_sequences,
        },
        input_shape=(2, 5, 4),
        expected_output_shape=(2, 5, 3) if return_sequences else (2, 3),
        expected_num_trainable_weights=5,
        expected_num_non_trainable_weights=1,
        supports_masking=True,
    )


@pytest.mark.parametrize("layer_cls", [BMRU, CMRU])
def test_baselines_pass_keras_layer_test(layer_cls):
    KerasLayerHarness().run_layer_test(
        layer_cls,
        init_kwargs={"units": 3, "return_sequences": True},
        input_shape=(2, 5, 4),
        expected_output_shape=(2, 5, 3),
        expected_num_trainable_weights=4,
        expected_num_non_trainable_weights=0 if layer_cls is CMRU else 1,
        supports_masking=True,
    )
