"""SKiDL and InSpice/ngspice plumbing shared by every exporter.

SKiDL builds the top level of each circuit (instances of the subcircuits in
a generated library file, and the sources); InSpice runs it in ngspice's
shared library. That library holds global state: one simulation at a time
per process (parallel work uses worker processes).
"""

import logging
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from exporters.errors import SimulationError

NGSPICE_HINT = (
    "install ngspice's shared library (Debian: apt-get install -y ngspice "
    "libngspice0 libngspice0-dev; scripts/setup.sh does) or point "
    "NGSPICE_LIBRARY_PATH at libngspice.so"
)


def skidl():
    """The ``skidl.pyspice`` module, imported without its KiCad warnings."""
    logging.disable(logging.WARNING)
    try:
        import skidl.pyspice as module
    finally:
        logging.disable(logging.NOTSET)
    return module


@contextmanager
def top_level(library_text: str):
    """A fresh SKiDL circuit whose parts can be the subcircuits of
    ``library_text``; yields ``(skidl module, circuit, library path)``."""
    sk = skidl()
    folder = Path(tempfile.mkdtemp(prefix="bmru-spice-"))
    library = folder / "cells.lib"
    library.write_text(library_text)
    circuit = sk.Circuit()
    circuit.no_files = True
    sk.lib_search_paths[sk.SPICE] = [str(folder)]
    yield sk, circuit, library


def netlist(sk, circuit, library: Path):
    """The InSpice circuit SKiDL generates (``str()`` is the netlist)."""
    logging.disable(logging.WARNING)
    try:
        return circuit.generate_netlist(libs=str(library))
    finally:
        logging.disable(logging.NOTSET)


def simulator(spice_circuit, model_lines: list[str], temperature: float = 27.0):
    """An ngspice-shared simulator of ``spice_circuit`` with the model lines."""
    for line in model_lines:
        spice_circuit.raw_spice += line + "\n"
    os.environ.setdefault("NGSPICE_LIBRARY_PATH", "/usr/lib/x86_64-linux-gnu/libngspice.so.0")
    try:
        return spice_circuit.simulator(
            simulator="ngspice-shared", temperature=temperature, nominal_temperature=27
        )
    except OSError as error:
        raise SimulationError(f"cannot load ngspice: {error}; {NGSPICE_HINT}") from error
