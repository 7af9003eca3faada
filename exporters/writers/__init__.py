"""Writers: circuit models to SPICE decks (:class:`exporters.deck.CircuitExport`).

:mod:`~exporters.writers.transistor` writes a lowered
:class:`~exporters.circuit.Circuit` (devices of a process);
:mod:`~exporters.writers.behavioral` writes a
:class:`~exporters.network.Network` with ideal current-mode elements.
"""
