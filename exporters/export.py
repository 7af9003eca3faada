"""``export_to_circuit``: a trained Keras model to a SPICE circuit.

The compiler's stages, each its own module: the Keras graph is walked and
every layer dispatched to its handler (:mod:`exporters.graph`,
:mod:`exporters.handlers`), giving a :class:`~exporters.network.Network`;
at transistor level it is lowered to a :class:`~exporters.circuit.Circuit`
(:mod:`exporters.lower`) and written (:mod:`exporters.writers.transistor`),
at behavioral level written with ideal elements
(:mod:`exporters.writers.behavioral`). The mirrors are sized against copy
ratios measured in the process (:mod:`exporters.mirrors`, one ngspice run
per operating point, cached).
"""

from __future__ import annotations

import keras

from exporters.cells import OUTPUT_CAPACITANCE
from exporters.deck import CircuitExport
from exporters.design import Design
from exporters.errors import ExportError
from exporters.graph import to_network
from exporters.lower import lower
from exporters.mirrors import characterize
from exporters.trims import BiasTrims
from exporters.writers.behavioral import write_behavioral
from exporters.writers.transistor import write_transistor


def export_to_circuit(
    model: keras.Model,
    design: Design | None = None,
    *,
    trims: BiasTrims | None = None,
    **settings,
) -> CircuitExport:
    """Export a trained model (Dense, ReLU, FQBMRU, Add; see
    ``docs/circuits.md`` for the mapping) to a circuit.

    Args:
        design: the operating point (:class:`~exporters.design.Design`:
            unit current, supply, level, process, sizing...); its defaults
            when None. ``settings`` override single fields of it
            (``export_to_circuit(model, unit_current=1e-9)``).
        trims: a chip's calibration, its bias currents only
            (:class:`~exporters.trims.BiasTrims`, measured by
            :func:`exporters.calibrate.calibrate`; transistor level).
    """
    design = design or Design()
    unknown = sorted(set(settings) - set(Design.__dataclass_fields__))
    if unknown:
        raise ExportError(
            f"export_to_circuit got unknown setting(s) {unknown}; the settings are "
            f"{', '.join(Design.__dataclass_fields__)}"
        )
    design = design.replace(**settings) if settings else design
    network = to_network(model)
    if design.level == "behavioral":
        if design.models is not None or trims:
            raise ExportError("level='behavioral' has ideal elements: it takes no models or trims")
        if design.output_capacitance != OUTPUT_CAPACITANCE:
            raise ExportError(
                "level='behavioral' has no output capacitors (its cells switch in 1 % of a "
                "frame): output_capacitance applies at transistor level"
            )
        if design.switch_device != Design().switch_device:
            raise ExportError(
                "level='behavioral' has ideal cells: switch_width / switch_length apply "
                "at transistor level"
            )
        if design.power_on_reset != Design.power_on_reset:
            raise ExportError(
                f"level='behavioral' has ideal cells: power_on_reset={design.power_on_reset} "
                "applies at transistor level"
            )
        if design.cell_ratio != Design.cell_ratio:
            raise ExportError(
                "level='behavioral' has ideal cells, computed in units: cell_ratio (the "
                "cells' currents over the unit current) applies at transistor level"
            )
        return write_behavioral(
            network, design.unit_current, design.vdd, design.unit_sizing(), design.bias_dac
        )
    models = design.process()
    sizing = design.unit_sizing()
    if sizing.measured is None:
        sizing = characterize(sizing, models, design.unit_current, design.vdd)
    circuit = lower(
        network,
        (models.width, models.length),
        design.unit_current,
        sizing,
        design.output_capacitance,
        design.bias_dac,
        trims,
        design.cell_ratio,
        design.switch_device,
        design.power_on_reset,
    )
    return write_transistor(circuit, models, design.vdd, design.unit_current)
