"""Independent jobs (clip simulations, sweep trainings) on local worker
processes or a Dask distributed cluster, results yielded as they finish, and
the JSON-lines logs their results are appended to (so that an interrupted
study resumes).

Local workers are ``spawn``-ed processes (TensorFlow and the ngspice shared
library hold process-global state and do not survive ``fork``). With
``scheduler`` (an address such as ``tcp://host:8786``, or a
``distributed.Client``) the jobs go to that Dask cluster instead; ``fn`` and
the jobs must then be importable and picklable on the workers.
"""

import json
import multiprocessing
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from bmru_keras.dependencies import require


class ResultLogError(ValueError):
    """A result log that was written with other settings."""


def open_log(
    path: str | Path, settings: dict, restart: bool = False, keys: tuple[str, ...] = ()
) -> list[dict]:
    """The rows of the JSON-lines log ``path`` whose first line records
    ``settings``; a new log (an empty list) when there is none or ``restart``.
    Rows that are not objects with every one of ``keys`` are skipped.

    Append one ``json.dumps(row)`` line per result as it arrives; a line cut
    by an interruption is ignored on the next read.
    """
    path = Path(path)
    header = {"settings": json.loads(json.dumps(settings))}  # tuples read back as lists
    if restart or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(header) + "\n")
        return []
    text = path.read_text()
    if text and not text.endswith("\n"):
        # An interrupted write left a partial last line: drop it, so that
        # the next row starts on a line of its own.
        text = text[: text.rfind("\n") + 1]
        path.write_text(text)
    lines = text.splitlines()
    try:
        first = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        first = None
    if first != header:
        raise ResultLogError(
            f"{path} holds results of other settings (or its first line is not a "
            "settings record): pass --restart to discard them, or choose another "
            "output folder"
        )
    rows = []
    for line in lines[1:]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and all(key in row for key in keys):
            rows.append(row)
    return rows


class SchedulerError(ValueError):
    """A Dask scheduler address that is malformed or does not answer."""


def check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Connect to the Dask scheduler at ``address`` once, before any work."""
    if not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://[^\s/:]+(:\d+)?", address):
        raise SchedulerError(
            f"--scheduler {address!r} is not a Dask address; expected e.g. tcp://HOST:8786"
        )
    Client = require("distributed", "dask", "--scheduler").Client

    try:
        Client(address, timeout=timeout).close()
    except (OSError, TimeoutError) as error:
        raise SchedulerError(
            f"no Dask scheduler answers at {address} within {timeout:g} s ({error}); "
            "start one (`dask scheduler`, then `dask worker ADDRESS`) or drop --scheduler"
        ) from None


def map_unordered(
    fn: Callable[[Any], Any],
    jobs: Iterable[Any],
    workers: int = 1,
    scheduler: Any = None,
    label: str | None = None,
) -> Iterator[Any]:
    """Yield ``fn(job)`` for every job, in the order the jobs finish.

    ``workers <= 1`` without a scheduler runs in this process, in order.
    With ``label``, progress goes to stderr (:func:`progress`).
    """
    jobs = list(jobs)
    results = _map(fn, jobs, workers, scheduler)
    yield from progress(results, len(jobs), label) if label else results


def progress(items: Iterable[Any], total: int, label: str, stream=None) -> Iterator[Any]:
    """Yield ``items``, writing ``label: k/total, elapsed, about T left`` to
    ``stream`` (stderr): rewritten in place on a terminal, else a line at
    every tenth of the way."""
    stream = stream or sys.stderr
    start = time.monotonic()
    terminal = stream.isatty()
    step = max(1, total // 10)
    for done, item in enumerate(items, 1):
        yield item
        if terminal or done % step == 0 or done == total:
            elapsed = time.monotonic() - start
            left = elapsed / done * (total - done)
            text = f"{label}: {done}/{total}, {elapsed:.0f} s, about {left:.0f} s left"
            stream.write(
                ("\r" + text + ("\n" if done == total else "")) if terminal else text + "\n"
            )
            stream.flush()


def _map(fn, jobs: list, workers: int, scheduler) -> Iterator[Any]:
    if scheduler is not None:
        yield from _dask(fn, jobs, scheduler)
    elif workers <= 1:
        yield from map(fn, jobs)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [pool.submit(fn, job) for job in jobs]
            for future in as_completed(futures):
                yield future.result()


def _dask(fn, jobs, scheduler) -> Iterator[Any]:
    distributed = require("distributed", "dask", "a Dask scheduler")
    Client, dask_completed = distributed.Client, distributed.as_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = client.map(fn, jobs, pure=False)
        for future in dask_completed(futures):
            yield future.result()
    finally:
        if client is not scheduler:
            client.close()
