"""Data sets: the synthetic memory task and Google Speech Commands."""

from bmru_keras.data.flipflop import flipflop_task

__all__ = ["flipflop_task"]
