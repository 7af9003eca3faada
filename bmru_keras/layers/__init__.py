"""Recurrent layers with bistable (hysteretic) units."""

from bmru_keras.layers.bmru import BMRU, CMRU, BMRUCell, CMRUCell
from bmru_keras.layers.fq_bmru import FQBMRU, FQBMRUCell
from bmru_keras.layers.inputs import SignedPair

__all__ = ["BMRU", "CMRU", "FQBMRU", "BMRUCell", "CMRUCell", "FQBMRUCell", "SignedPair"]
