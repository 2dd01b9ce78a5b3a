"""Load levels against an endpoint: a Poisson open loop with an absolute, seeded send schedule
(a slow response never delays the next request) or a closed loop of C clients; a sweep runs each
level in turn over one connection pool."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import random
import signal
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from llmsize.bench.client import Endpoint, RequestRecord, send
from llmsize.bench.prompts import PromptMaker
from llmsize.bench.server_info import server_identity
from llmsize.bench.stream import StreamClient
from llmsize.workload import poisson_times


@dataclass(frozen=True, slots=True)
class Level:
    kind: str  # "rate" or "concurrency"
    value: float

    @property
    def label(self) -> str:
        return f"{self.kind} {self.value:g}"


@dataclass(frozen=True, slots=True)
class BenchPlan:
    endpoint: Endpoint
    input_tokens: int
    output_tokens: int
    levels: tuple[Level, ...]
    requests: int | None = 200
    duration_s: float | None = None
    warmup: int | None = None  # per level; None: default_warmup(level)
    seed: int = 0
    worker: int = 0  # with several worker processes: which one this is,
    workers: int = 1  # of how many (each sends every workers-th request, bench/workers.py)

    def mine(self, index: int) -> bool:
        """Whether request `index` of a level's schedule is this worker's to send."""
        return index % self.workers == self.worker

    def streams(self, level: Level) -> int:
        """This worker's share of a closed loop's streams (they differ by one at most)."""
        total = int(level.value)
        return total // self.workers + (self.worker < total % self.workers)

    def warmup_for(self, level: Level) -> int:
        return default_warmup(level) if self.warmup is None else self.warmup


def default_warmup(level: Level) -> int:
    """Requests sent first and not measured: one per stream of a closed loop, a second's worth
    of an open one, at least 4, so that the measured requests meet warm connections and a
    running engine (the first wave's TTFT otherwise includes connection set-up)."""
    return max(4, min(1000, math.ceil(level.value)))


@dataclass(slots=True)
class LevelRun:
    level: Level
    records: list[RequestRecord]
    started: float
    stopped_early: bool = False
    loop_lag_ms: dict[int, tuple[float, float]] = field(default_factory=dict)
    """Each client worker's event-loop lag over the level (p50, p99 ms): how late a timer it set
    fired. Not kept in the records file."""


LOOP_PROBE_S = 0.01
"""The event-loop probe's period: a timer this far ahead, its overshoot measured."""


async def _loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late the event loop wakes a timer, every LOOP_PROBE_S: the client's own delay on
    every send and read it schedules (one sample per period, a few hundred bytes a second)."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(LOOP_PROBE_S)
        samples.append(max(0.0, (time.perf_counter() - before - LOOP_PROBE_S) * 1e3))


def lag_summary(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) of the probe's samples, ms (0, 0 when the level was too short for one)."""
    from llmsize.metrics import percentile

    if not samples:
        return (0.0, 0.0)
    ordered = sorted(samples)
    return (round(percentile(ordered, 50), 3), round(percentile(ordered, 99), 3))


Progress = Callable[[Level, int, int, int, float | None], None]
"""(level, done, total, errors, live p50 TTFT ms) -> None."""


class Stop:
    """Set by Ctrl-C, SIGTERM or SIGHUP (or a test): no new requests start, the ones in flight
    are recorded as interrupted, and what was measured is kept."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.reason: str | None = None

    @property
    def set(self) -> bool:
        return self.event.is_set()

    def trip(self, reason: str = "stopped") -> None:
        if self.reason is None:
            self.reason = reason
        self.event.set()


RecordSink = Callable[[Level, float, RequestRecord], None]
"""(level, level start, record) -> None: called once per request as it completes, interrupted
requests included, so a run's file holds every request up to the moment it stopped."""

STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


async def _ticker(
    level: Level, records: list[RequestRecord], total: int, progress: Progress, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        done = [r for r in records if r.end]
        ttfts = [(r.first_token - r.sent) * 1e3 for r in done if r.first_token is not None]
        errors = sum(1 for r in done if r.error)
        progress(level, len(done), total, errors, statistics.median(ttfts) if ttfts else None)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)


async def _open_loop(
    client: StreamClient,
    plan: BenchPlan,
    level: Level,
    level_index: int,
    prompts: PromptMaker,
    records: list[RequestRecord],
    stop: Stop,
    total: int,
    done: Callable[[RequestRecord], None],
    start: float,
    issue: Callable[[RequestRecord], None],
) -> None:
    """Every request of the seeded schedule that is this worker's, at its absolute time from
    the level's `start` (the same instant in every worker)."""
    rng = random.Random(plan.seed)
    if plan.duration_s is None:
        times = poisson_times(level.value, total, rng)
    else:
        times = []
        t = rng.expovariate(level.value)
        while t <= plan.duration_s:
            times.append(t)
            t += rng.expovariate(level.value)
    tasks: set[asyncio.Task[RequestRecord]] = set()
    for i, offset in enumerate(times):
        if stop.set:
            break
        if not plan.mine(i):
            continue
        at = start + offset
        delay = at - time.perf_counter()
        if delay > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.event.wait(), delay)
            if stop.set:
                break
        record = RequestRecord(i, at, warmup=i < plan.warmup_for(level))
        records.append(record)
        issue(record)
        task = asyncio.create_task(
            _sent(
                send(
                    client,
                    plan.endpoint,
                    record,
                    prompts.prompt(i, level_index),
                    plan.output_tokens,
                ),
                record,
                done,
            )
        )
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await _drain(tasks, stop)


async def _closed_loop(
    client: StreamClient,
    plan: BenchPlan,
    level: Level,
    level_index: int,
    prompts: PromptMaker,
    records: list[RequestRecord],
    stop: Stop,
    total: int,
    done: Callable[[RequestRecord], None],
    start: float,
    issue: Callable[[RequestRecord], None],
) -> None:
    """This worker's streams; they take the level's request indices that are its own."""
    last = total if plan.duration_s is None else 10**12
    counter = iter(range(plan.worker, last, plan.workers))

    async def worker() -> None:
        due = time.perf_counter()  # a closed loop re-issues the moment the last answer ended
        for i in counter:
            if stop.set or (
                plan.duration_s is not None and time.perf_counter() - start > plan.duration_s
            ):
                return
            record = RequestRecord(i, due, warmup=i < plan.warmup_for(level))
            records.append(record)
            issue(record)
            prompt = prompts.prompt(i, level_index)
            await _sent(
                send(client, plan.endpoint, record, prompt, plan.output_tokens), record, done
            )
            due = record.end or time.perf_counter()  # the answer's last byte (kernel time)

    tasks = {asyncio.create_task(worker()) for _ in range(plan.streams(level))}
    await _drain(tasks, stop)


async def _sent(
    request: Awaitable[RequestRecord], record: RequestRecord, done: Callable[[RequestRecord], None]
) -> RequestRecord:
    """Await a request; its record is handed on when it completes or is interrupted."""
    try:
        return await request
    finally:
        done(record)


async def _drain(tasks: Iterable[asyncio.Task[Any]], stop: Stop) -> None:
    """Wait for the requests under way; on stop, cancel them (each is recorded as
    interrupted: client.send)."""
    pending = set(tasks)
    while pending:
        stopper = asyncio.ensure_future(stop.event.wait())
        done, pending = await asyncio.wait(pending | {stopper}, return_when=asyncio.FIRST_COMPLETED)
        pending.discard(stopper)
        if stopper in done:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            return
        stopper.cancel()


async def run_plan(
    plan: BenchPlan,
    prompts: PromptMaker,
    progress: Progress | None = None,
    stop: Stop | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sink: RecordSink | None = None,
    on_server: Callable[[str], None] | None = None,
    gate: Callable[[], Awaitable[float]] | None = None,
    issued: RecordSink | None = None,
) -> list[LevelRun]:
    """Run every level in turn; Ctrl-C (SIGINT), SIGTERM and SIGHUP stop cleanly and return what
    was measured, the requests in flight recorded as interrupted. `gate()` (worker processes)
    waits for every worker and gives the instant each level starts at; `issued` (worker
    processes) sees each request as it is sent, so a worker that dies leaves a count of what it
    had in flight."""
    stop = stop or Stop()
    loop = asyncio.get_running_loop()
    handled = []
    for name in STOP_SIGNALS:
        number = getattr(signal, name, None)
        if number is None:
            continue
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(number, stop.trip, f"stopped by {name}")
            handled.append(number)
    timeout = httpx.Timeout(plan.endpoint.timeout_s, connect=min(10.0, plan.endpoint.timeout_s))
    runs: list[LevelRun] = []
    client = StreamClient(plan.endpoint.url, plan.endpoint.timeout_s)
    # What exists before the run (modules, catalogs, a test runner's whole heap) is left out of
    # the collector's full passes: one of them over a large heap stalls the event loop for
    # 100 ms and more, every send and read behind it late (seen at 50 req/s in the test suite).
    gc.collect()
    gc.freeze()
    try:
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as probe:
            await prompts.prepare(probe, plan.endpoint)
            if on_server is not None:
                identity = await server_identity(probe, plan.endpoint)
                if identity:
                    on_server(identity)
            for level_index, level in enumerate(plan.levels):
                if stop.set:
                    break
                records: list[RequestRecord] = []
                total = (plan.requests or 0) + plan.warmup_for(level)
                await client.connect(
                    plan.streams(level)
                    if level.kind == "concurrency"
                    else min(OPEN_LOOP_CONNECTIONS, math.ceil(level.value / plan.workers))
                )
                ticking = asyncio.Event()
                ticker = (
                    asyncio.create_task(_ticker(level, records, total, progress, ticking))
                    if progress is not None
                    else None
                )
                started = await gate() if gate is not None else time.perf_counter()
                lags: list[float] = []
                loop_probe = asyncio.create_task(_loop_lag(lags, ticking))

                def done(record: RequestRecord, level: Level = level, at: float = started) -> None:
                    if sink is not None:
                        sink(level, at, record)

                def issue(record: RequestRecord, level: Level = level, at: float = started) -> None:
                    if issued is not None:
                        issued(level, at, record)

                loop_fn = _open_loop if level.kind == "rate" else _closed_loop
                await loop_fn(
                    client,
                    plan,
                    level,
                    level_index,
                    prompts,
                    records,
                    stop,
                    total,
                    done,
                    started,
                    issue,
                )
                ticking.set()
                if ticker is not None:
                    await ticker
                await loop_probe
                finished = [r for r in records if r.end]
                lag = {plan.worker: lag_summary(lags)}
                runs.append(LevelRun(level, finished, started, stop.set, lag))
    finally:
        gc.unfreeze()
        client.close()
        for number in handled:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(number)
    return runs


OPEN_LOOP_CONNECTIONS = 256
"""Connections opened ahead of an open-loop level (a second's arrivals, up to this many); more
are opened as the load needs them."""

MAX_RATE = 1e6
"""Requests a second one client process can be asked to send (far beyond what it sustains:
the run's client lag then says so)."""
MIN_RATE = 0.01
"""One request in 100 s: a slower schedule is a wait, not a measurement."""
MAX_CONCURRENCY = 65_536
"""Streams one process holds open (a socket each; the descriptor limit comes first)."""


def parse_levels(rate: str | None, concurrency: str | None) -> tuple[Level, ...]:
    """'2,4,8' -> three levels; exactly one of the two flags is given (checked by the caller).
    ValueError names the part and what is allowed."""
    text, kind = (rate, "rate") if rate is not None else (concurrency, "concurrency")
    assert text is not None
    levels = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"{part.strip()!r} is not a number") from None
        if kind == "rate" and not MIN_RATE <= value <= MAX_RATE:  # also refuses nan and inf
            raise ValueError(
                f"{part.strip()} is not a rate from {MIN_RATE:g} to {MAX_RATE:g} req/s"
            )
        if kind == "concurrency" and not (1 <= value <= MAX_CONCURRENCY and value == int(value)):
            raise ValueError(f"{part.strip()} is not a whole number from 1 to {MAX_CONCURRENCY}")
        levels.append(Level(kind, value))
    return tuple(levels)
