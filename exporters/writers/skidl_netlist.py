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
    happens in a private temporary folder and stops file output there.
    SKiDL's source traces are then read by :func:`source_trace`."""
    if "skidl.pyspice" not in sys.modules:
        logging.disable(logging.WARNING)
        cwd = os.getcwd()
        os.chdir(tempfile.mkdtemp(prefix="bmru-skidl-"))
        try:
            require("skidl.pyspice", "circuit", "writing a netlist")
            require("skidl.logger", "circuit", "writing a netlist").stop_log_file_output()
        finally:
            os.chdir(cwd)
            logging.disable(logging.NOTSET)
    for name in ("skidl.circuit", "skidl.node"):  # where SKiDL 3.0.0 records them
        sys.modules[name].get_skidl_trace = source_trace
    return sys.modules["skidl.pyspice"]


def source_trace() -> list[tuple[str, str]]:
    """SKiDL's ``get_skidl_trace``, read from the frames alone: the
    ``(file, line)`` of each caller outside the SKiDL package, outermost
    first, recorded for every part, net and node SKiDL makes.

    SKiDL's own calls ``inspect.stack()``, which reads every caller's source
    line and looks up its module: under pytest that took 16.7 ms a trace, a
    fifth of a circuit test's time (docs/circuits.md, "Export time")."""
    skidl_dir = os.path.dirname(sys.modules["skidl.scriptinfo"].__file__)
    trace = []
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(skidl_dir):
            trace.append((os.path.abspath(name), str(frame.f_lineno)))
        frame = frame.f_back
    trace.reverse()
    return trace


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
