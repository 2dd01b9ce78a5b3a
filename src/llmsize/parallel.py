"""One function over many jobs, in order: here, on local worker processes, or as tasks of a Ray
cluster. The twin's sweeps use it (`plan --method simulate --workers N | --ray ADDRESS`); each
job is seeded on its own, so where it runs never changes its answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

Job = TypeVar("Job")
Answer = TypeVar("Answer")


def map_jobs(
    fn: Callable[[Job], Answer],
    jobs: Sequence[Job],
    workers: int = 1,
    ray_address: str | None = None,
) -> Iterator[Answer]:
    """`fn` over `jobs`, the answers in the jobs' order as each is ready. `fn` must be a module's
    top-level function (it is pickled); with `ray_address` each job is a Ray task of one CPU,
    otherwise `workers` > 1 local processes (spawn) share them."""
    if ray_address is not None:
        from llmsize.cluster import ray_session

        with ray_session(ray_address) as ray:
            task = ray.remote(num_cpus=1)(fn)
            refs = [task.remote(job) for job in jobs]
            for ref in refs:
                yield ray.get(ref)
        return
    if workers > 1 and len(jobs) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=spawn) as pool:
            yield from pool.map(fn, jobs)
        return
    for job in jobs:
        yield fn(job)
