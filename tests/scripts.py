"""Running the project's commands as a user would: a fresh Python, without
``BMRU_VERBOSE``, where TensorFlow's start-up lines show unless hidden."""

import os
import subprocess

#: What TensorFlow's C++ start-up lines contain (absl's "All log messages
#: before absl::InitializeLog()", oneDNN's notice).
TENSORFLOW_START_UP = ("absl", "oneDNN")


def run_as_user(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """``command`` run with its output captured as text, ``BMRU_VERBOSE`` unset."""
    env = {k: v for k, v in os.environ.items() if k != "BMRU_VERBOSE"}
    return subprocess.run(command, capture_output=True, text=True, env=env, **kwargs)


def tensorflow_start_up_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are TensorFlow's start-up lines."""
    return [line for line in stderr.splitlines() if any(m in line for m in TENSORFLOW_START_UP)]
