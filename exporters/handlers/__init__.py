"""The layer handlers (each module registers its own)."""

from exporters.handlers import add, dense, fqbmru, relu  # noqa: F401
