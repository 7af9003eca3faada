"""Optional dependencies, and TensorFlow imported without its start-up noise.

The layer needs Keras and a backend only; the circuit tools (SKiDL, InSpice)
are the ``circuit`` extra, Dask's ``distributed`` the ``dask`` extra and
TensorBoard the ``tensorboard`` extra (``scripts/setup.sh`` installs them all).
"""

import importlib
import os
import sys
from types import ModuleType

#: Set (to anything) to keep TensorFlow's start-up lines: ``bmru --verbose``
#: sets it for the command and its worker processes.
VERBOSE_ENV = "BMRU_VERBOSE"


class MissingDependency(ImportError):
    """An optional dependency is not installed; the message says which extra."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingDependency` naming the
    ``extra`` of bmru-keras that installs it and what needs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        package = module.split(".")[0]
        raise MissingDependency(
            f"{purpose} needs {package}, which is not installed ({error}): "
            f"pip install 'bmru-keras[{extra}]'"
        ) from error


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up lines (absl's "All log messages
    before absl::InitializeLog()", oneDNN's notice) sent to /dev/null, unless
    ``BMRU_VERBOSE`` is set; what it logs later still shows
    (``TF_CPP_MIN_LOG_LEVEL``, default 2 here)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules or os.environ.get(VERBOSE_ENV):
        return
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pass  # the command that needs it says so
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
