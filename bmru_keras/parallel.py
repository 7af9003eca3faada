"""Independent jobs (clip simulations, sweep trainings) on local worker
processes or a Dask distributed cluster, results yielded as they finish.

Local workers are ``spawn``-ed processes (TensorFlow and the ngspice shared
library hold process-global state and do not survive ``fork``). With
``scheduler`` (an address such as ``tcp://host:8786``, or a
``distributed.Client``) the jobs go to that Dask cluster instead; ``fn`` and
the jobs must then be importable and picklable on the workers.
"""

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any


def map_unordered(
    fn: Callable[[Any], Any],
    jobs: Iterable[Any],
    workers: int = 1,
    scheduler: Any = None,
) -> Iterator[Any]:
    """Yield ``fn(job)`` for every job, in the order the jobs finish.

    ``workers <= 1`` without a scheduler runs in this process, in order.
    """
    jobs = list(jobs)
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
    from distributed import Client
    from distributed import as_completed as dask_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = client.map(fn, jobs, pure=False)
        for future in dask_completed(futures):
            yield future.result()
    finally:
        if client is not scheduler:
            client.close()
