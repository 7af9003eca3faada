"""The one way the exporters run ngspice: a deck in this process's shared
ngspice library, one simulation at a time (the library holds global state;
parallel work uses worker processes)."""

import glob
import os
import threading
from pathlib import Path

import numpy as np

from bmru_keras.dependencies import require
from exporters.errors import SimulationError

NGSPICE_HINT = (
    "install ngspice's shared library (Debian: apt-get install -y ngspice "
    "libngspice0 libngspice0-dev; scripts/setup.sh does) or point "
    "NGSPICE_LIBRARY_PATH at libngspice.so"
)

# One ngspice per process: a Dask worker running several threads must not
# enter it twice.
_NGSPICE = threading.Lock()


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
    shared = require("InSpice.Spice.NgSpice.Shared", "circuit", "simulating a circuit")
    try:
        return shared.NgSpiceShared.new_instance()
    except OSError as error:
        raise SimulationError(f"cannot load ngspice: {error}; {NGSPICE_HINT}") from error


def run_deck(deck: str, stop: float) -> dict[str, np.ndarray]:
    """Run a transient deck to ``stop`` seconds in this process's ngspice;
    every vector by lower-case name."""
    with _NGSPICE:
        return _run(deck, stop)


def _run(deck: str, stop: float) -> dict[str, np.ndarray]:
    ng = ngspice_shared()
    try:
        ng.destroy()
        ng.load_circuit(deck)
        ng.run()
        plot = ng.plot(None, ng.last_plot)
        vectors = {name.lower(): np.asarray(vector._data).real for name, vector in plot.items()}
    except Exception as error:
        output = (ng.stdout + "\n" + ng.stderr).splitlines()
        said = [line for line in output if "rror" in line or "failed" in line or "not " in line]
        raise SimulationError(_diagnosis(error, said)) from error
    if "time" not in vectors or vectors["time"][-1] < stop * 0.999:
        raise SimulationError(
            "the transient did not reach the end of the clip (non-convergence); "
            "try a larger unit current or another supply voltage"
        )
    return vectors


def _diagnosis(error: Exception, said: list[str]) -> str:
    """What went wrong, told apart: a model library ngspice cannot read, a
    corner it does not have, or a transient that does not converge."""
    text = " | ".join(said[-5:])
    lowered = text.lower()
    markers = ("could not find", "unknown model", "no such", "not parsed", "section definition")
    if any(marker in lowered for marker in markers):
        return (
            f"ngspice could not read the circuit's models ({text}): check the model "
            "library file and its corner name (the .lib section)"
        )
    return (
        f"ngspice failed: {error}; ngspice said: {text}. A transient that does not "
        "converge often needs a larger unit current or a different supply voltage."
    )
