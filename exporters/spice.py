"""SKiDL and InSpice/ngspice plumbing shared by every exporter.

SKiDL builds the top level of each circuit (instances of the subcircuits in
a generated library file, and the sources); InSpice runs it in ngspice's
shared library. That library holds global state: one simulation at a time
per process (parallel work uses worker processes).
"""

import glob
import logging
import os
import shutil
import sys
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
    """The ``skidl.pyspice`` module, imported without its KiCad warnings.

    On import SKiDL opens ``<script>.log`` and ``<script>.erc.log`` in the
    working folder and deletes them when file output stops: two processes
    of one script in one folder (two ``bmru`` commands) raced on the same
    files, the second failing with FileNotFoundError. The first import
    happens in a private temporary folder and stops file output there."""
    if "skidl.pyspice" in sys.modules:
        return sys.modules["skidl.pyspice"]
    logging.disable(logging.WARNING)
    cwd = os.getcwd()
    os.chdir(tempfile.mkdtemp(prefix="bmru-skidl-"))
    try:
        import skidl.pyspice as module
        from skidl.logger import stop_log_file_output

        stop_log_file_output()
    finally:
        os.chdir(cwd)
        logging.disable(logging.NOTSET)
    return module


@contextmanager
def top_level(library_text: str):
    """A fresh SKiDL circuit whose parts can be the subcircuits of
    ``library_text``; yields ``(skidl module, circuit, library path)``.

    The library lies two folders deep in a private temporary folder, removed
    on exit: for every part SKiDL searches the folder *above* the library's
    for symbol files, recursively, and with the library directly in a fresh
    folder under /tmp it walked all of /tmp (a 2-unit model's export took
    4.4 s instead of 0.6 s on a machine whose /tmp held 1,200 folders)."""
    sk = skidl()
    folder = Path(tempfile.mkdtemp(prefix="bmru-spice-"))
    library = folder / "lib" / "cells.lib"
    library.parent.mkdir()
    library.write_text(library_text)
    circuit = sk.Circuit()
    circuit.no_files = True
    sk.lib_search_paths[sk.SPICE] = [str(library.parent)]
    try:
        yield sk, circuit, library
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def netlist(sk, circuit, library: Path):
    """The InSpice circuit SKiDL generates (``str()`` is the netlist)."""
    logging.disable(logging.WARNING)
    try:
        return circuit.generate_netlist(libs=str(library))
    finally:
        logging.disable(logging.NOTSET)


def use_debian_ngspice() -> None:
    """Point InSpice at Debian's ``libngspice.so.0`` when the unversioned
    ``libngspice.so`` link (from ``libngspice0-dev``) is missing."""
    if "NGSPICE_LIBRARY_PATH" in os.environ:
        return
    for folder in glob.glob("/usr/lib/*-linux-gnu"):
        if not Path(folder, "libngspice.so").exists() and Path(folder, "libngspice.so.0").exists():
            os.environ["NGSPICE_LIBRARY_PATH"] = str(Path(folder, "libngspice.so.0"))


def ngspice_shared():
    """The process's ngspice shared-library instance (InSpice)."""
    use_debian_ngspice()
    # Debian's ngspice evaluates devices with OpenMP threads whose default
    # busy-waiting made two simulating workers on 2 cores 15x slower (35 s
    # instead of 2.5 s a clip); libgomp reads this when ngspice loads it.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    try:
        from InSpice.Spice.NgSpice.Shared import NgSpiceShared

        return NgSpiceShared.new_instance()
    except OSError as error:
        raise SimulationError(f"cannot load ngspice: {error}; {NGSPICE_HINT}") from error


def simulator(spice_circuit, model_lines: list[str], temperature: float = 27.0):
    """An ngspice-shared simulator of ``spice_circuit`` with the model lines."""
    for line in model_lines:
        spice_circuit.raw_spice += line + "\n"
    use_debian_ngspice()
    try:
        return spice_circuit.simulator(
            simulator="ngspice-shared", temperature=temperature, nominal_temperature=27
        )
    except OSError as error:
        raise SimulationError(f"cannot load ngspice: {error}; {NGSPICE_HINT}") from error
