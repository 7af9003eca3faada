"""SKiDL plumbing of the transistor writer: SKiDL builds the top level of
each circuit (instances of the subcircuits in a generated library file, and
the sources) as an InSpice circuit whose text is the netlist."""

import logging
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from bmru_keras.dependencies import require


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
        module = require("skidl.pyspice", "circuit", "writing a netlist")
        require("skidl.logger", "circuit", "writing a netlist").stop_log_file_output()
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
