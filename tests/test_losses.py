"""The training losses of a keyword spotter."""

import keras
import numpy as np
import pytest

from bmru_keras.losses import ClipMeanCrossEntropy, training_loss


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_the_clip_loss_is_the_cross_entropy_of_the_mean_frame_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 7, 3)).astype("float32")
    labels = np.array([0, 2, 1, 2])
    frames = np.repeat(labels[:, None], 7, axis=1)
    per_clip = -np.log(_softmax(logits.mean(axis=1))[np.arange(4), labels])
    loss = ClipMeanCrossEntropy()
    assert float(loss(frames, logits)) == pytest.approx(per_clip.mean(), rel=1e-5)
    # Frame weights (class weights) weigh each clip.
    weights = np.repeat(np.array([1.0, 0.5, 2.0, 1.0])[:, None], 7, axis=1)
    expected = (per_clip * weights[:, 0]).mean()
    assert float(loss(frames, logits, sample_weight=weights)) == pytest.approx(expected, rel=1e-5)
    # Only the mean counts: the frames in another order give the same loss,
    # where the frame loss asks each frame for the label.
    shuffled = logits[:, rng.permutation(7)]
    assert float(loss(frames, shuffled)) == pytest.approx(float(loss(frames, logits)), rel=1e-5)
    confident_mean = np.zeros((1, 2, 2), "float32")
    confident_mean[0, :, 0] = [9.0, -1.0]  # one frame wrong, the mean right
    frame_loss = training_loss("frames")
    one = np.zeros((1, 2), int)
    assert float(loss(one, confident_mean)) < 0.02 < float(frame_loss(one, confident_mean))


def test_a_model_compiled_with_the_clip_loss_saves_and_loads(tmp_path):
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.Dense(2)])
    model.compile("adam", training_loss("clip"))
    path = tmp_path / "m.keras"
    model.save(path)
    assert isinstance(keras.saving.load_model(path).loss, ClipMeanCrossEntropy)


def test_an_unknown_loss_is_named():
    with pytest.raises(ValueError, match="unknown training loss 'clips'; use 'frames' or 'clip'"):
        training_loss("clips")
