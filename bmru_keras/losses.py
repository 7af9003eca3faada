"""Training losses of a keyword spotter: per-frame labels ``(clips, frames)``,
logits ``(clips, frames, classes)``."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bmru_keras")
class ClipMeanCrossEntropy(keras.losses.Loss):
    """Cross-entropy of each clip's mean frame logits against its label.

    ``L = -log softmax(mean_t z_t)[y]``: the loss of the decision that
    ``evaluation.clip_decisions(..., "mean")`` takes, with no target on any
    single frame (a keyword clip's frames before the word are not asked to
    name it). The clip's label is read from its first frame; the loss is
    returned on every frame, so per-frame sample weights (class weights)
    weigh the clip as they weigh its frames in the frame loss.
    """

    def __init__(self, name: str = "clip_mean_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        labels = ops.cast(y_true[:, 0], "int32")
        clip = keras.losses.sparse_categorical_crossentropy(
            labels, ops.mean(y_pred, axis=1), from_logits=True
        )
        return ops.broadcast_to(clip[:, None], ops.shape(y_true))


def training_loss(name: str) -> keras.losses.Loss:
    """The loss ``train.loss`` names: ``"frames"``, each frame's cross-entropy
    against the clip's label (the paper's); ``"clip"``, :class:`ClipMeanCrossEntropy`."""
    if name == "frames":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if name == "clip":
        return ClipMeanCrossEntropy()
    raise ValueError(f"unknown training loss {name!r}; use 'frames' or 'clip'")
