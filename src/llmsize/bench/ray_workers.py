"""bench's client workers as Ray actors (`bench --ray ADDRESS`).

One actor per worker, a CPU each, spread over the cluster's nodes; each runs the same
`worker_main` as a local worker process. They reach the coordinator through a hub actor placed
on the coordinator's own node: it holds the start barrier, the halt flag and the messages the
workers send (batched, flushed every POLL_S / 2 and at every barrier). Each worker measures its
wall clock against the hub's at start (half a round trip is the bound), so the level starts at
one instant on every host and the records come back in the coordinator's frame.

An actor or node that dies ends its run future with an error: the run names it, stops the
others and counts what the dead worker had told the hub it had in flight as lost. Requests it
sent after its last flush (at most POLL_S / 2 before it died) never reached the hub and are
not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import Any

from llmsize.bench.prompts import PromptMaker
from llmsize.bench.runner import BenchPlan
from llmsize.bench.workers import LEAD_S, worker_main

ACTOR_PREFIX = "llmsize-bench-worker"
"""Each worker actor's name is this, the run's id and its number (as `ray list actors` shows)."""


class Hub:
    """The coordinator's end: barrier, halt flag and the workers' messages (an async actor)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.messages: list[tuple[Any, ...]] = []
        self.stopped = False
        self.waiting = 0
        self.arrived = asyncio.Event()
        self.start = 0.0

    async def now(self) -> float:
        return time.time()

    async def put(self, batch: list[tuple[Any, ...]]) -> bool:
        self.messages.extend(batch)
        return self.stopped

    async def drain(self) -> list[tuple[Any, ...]]:
        out, self.messages = self.messages, []
        return out

    async def halt(self) -> None:
        self.stopped = True
        self.arrived.set()

    async def meet(self) -> float | None:
        if self.stopped:
            return None
        arrived = self.arrived
        self.waiting += 1
        if self.waiting == self.workers:
            self.start = time.time() + LEAD_S
            self.waiting = 0
            self.arrived = asyncio.Event()
            arrived.set()
        else:
            await arrived.wait()
        return None if self.stopped else self.start


class _HubLink:
    """A Ray worker's link: messages buffered and sent to the hub in batches."""

    def __init__(self, ray: Any, hub: Any, offset_s: float) -> None:
        self.ray, self.hub, self.offset_s = ray, hub, offset_s
        self.buffer: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self.lock:
            self.buffer.append(message)

    def flush(self) -> bool:
        with self.lock:
            batch, self.buffer = self.buffer, []
        return bool(self.ray.get(self.hub.put.remote(batch)))

    def meet(self) -> float | None:
        self.flush()
        at = self.ray.get(self.hub.meet.remote())
        return None if at is None else float(at) - self.offset_s

    def halted(self) -> bool:
        return self.flush()

    def close(self) -> None:
        self.flush()


class BenchWorker:
    """One client worker (an actor)."""

    def run(
        self, plan: BenchPlan, prompts: PromptMaker, worker: int, workers: int, hub: Any
    ) -> None:
        import ray

        offset = _clock_offset(ray, hub)
        worker_main(
            plan, prompts, worker, workers, _HubLink(ray, hub, offset), offset, socket.gethostname()
        )


def _clock_offset(ray: Any, hub: Any, tries: int = 5) -> float:
    """The hub's wall clock less this one's, from the quickest of a few round trips."""
    best = (float("inf"), 0.0)
    for _ in range(tries):
        before = time.time()
        theirs = float(ray.get(hub.now.remote()))
        after = time.time()
        best = min(best, (after - before, theirs - (before + after) / 2))
    return best[1]


class RayPool:
    """Workers as Ray actors of the cluster at `address` (bench/workers.WorkerPool)."""

    def __init__(
        self, plan: BenchPlan, prompts: PromptMaker, workers: int | None, address: str
    ) -> None:
        from llmsize.cluster import ray_session

        self.exit = contextlib.ExitStack()
        ray = self.exit.enter_context(ray_session(address, workers or 1))
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if workers is None:  # one per CPU of the cluster
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.workers = workers

        self.ray = ray
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        self.hub = ray.remote(Hub).options(num_cpus=0, scheduling_strategy=here).remote(workers)
        run_id = f"{socket.gethostname()}-{time.time_ns()}"
        actor = ray.remote(BenchWorker)
        self.actors = [
            actor.options(
                num_cpus=1, scheduling_strategy="SPREAD", name=f"{ACTOR_PREFIX}-{run_id}-{w}"
            ).remote()
            for w in range(workers)
        ]
        self.runs = {
            a.run.remote(plan, prompts, w, workers, self.hub): w for w, a in enumerate(self.actors)
        }

    def poll(self, timeout_s: float) -> tuple[list[tuple[Any, ...]], list[tuple[int, str]]]:
        from llmsize.cluster import first_line

        ready, _ = self.ray.wait(list(self.runs), num_returns=len(self.runs), timeout=timeout_s)
        messages: list[tuple[Any, ...]] = self.ray.get(self.hub.drain.remote())
        ended: list[tuple[int, str]] = []
        for ref in ready:
            w = self.runs.pop(ref)
            try:
                self.ray.get(ref)
            except Exception as exc:  # the actor, its node or its task failed
                ended.append((w, f"worker {w} (Ray actor) died: {first_line(exc)}"))
            else:
                ended.append((w, f"worker {w} (Ray actor) ended without its results"))
        return messages, ended

    def running(self) -> bool:
        return bool(self.runs)

    def halt(self) -> None:
        self.hub.halt.remote()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            for a in [*self.actors, self.hub]:
                self.ray.kill(a)
        self.exit.close()
