"""Recurrent layers with bistable (hysteretic) units."""

from bmru_keras.layers.bmru import BMRU, CMRU, BMRUCell, CMRUCell
from bmru_keras.layers.fq_bmru import FQBMRU, FQBMRUCell
from bmru_keras.layers.inputs import SignedPair
from bmru_keras.layers.mirror_dense import MirrorDense

__all__ = [
    "BMRU",
    "CMRU",
    "FQBMRU",
    "BMRUCell",
    "CMRUCell",
    "FQBMRUCell",
    "MirrorDense",
    "SignedPair",
]
