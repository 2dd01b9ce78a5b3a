"""One bench run over several clients (`bench --workers N`, `bench --ray ADDRESS`), for loads one
process cannot send on time.

Each worker runs the same asyncio client on its share of every level: an open loop's seeded
schedule is drawn whole in every worker and each sends every N-th request at its absolute time
(so the schedule is exactly the one a single client would send); a closed loop's streams are
divided, each worker taking every N-th request index. Before each level the workers meet and
start at one instant on the coordinator's wall clock, which each turns into its own performance
counter through its measured clock offset (reported). Each worker tells the coordinator of every
request as it sends it and as it completes, tagged with the worker; the coordinator merges the
records into the one result, CSV and JSONL. A worker that dies stops the others; what it had in
flight is recorded as `lost`, with the reason.

Workers are local processes (a pipe each, here) or Ray actors (bench/ray_workers.py); both run
`worker_main` over a `WorkerLink`, and the coordinator merges through one `Merge`.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, cast

from llmsize.bench.client import RequestRecord
from llmsize.bench.prompts import PromptMaker
from llmsize.bench.runner import BenchPlan, Level, LevelRun, Progress, RecordSink

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

STREAMS_PER_PROCESS = 1024
"""Closed-loop streams one client process keeps on time (benchmarks/client_scaling.py: 1,024
against serve-mock, 200 ms TTFT, 20 tokens at 10 ms, on the 2-core machine, 2026-12-06)."""
CHUNKS_PER_PROCESS = 50_000
"""Streamed tokens a second one client process reads on time: the same run's 1,024 streams,
each 20 tokens in 390 ms (52,500 a second), rounded down."""


def auto_workers(levels: Sequence[Level], output_tokens: int, cpus: int | None = None) -> int:
    """bench's default: one process, or one per core when the heaviest level needs more than
    one by the figures above (a closed loop by its streams, an open loop by the tokens a second
    it streams back)."""
    need = 1.0
    for level in levels:
        if level.kind == "concurrency":
            need = max(need, level.value / STREAMS_PER_PROCESS)
        else:
            need = max(need, level.value * output_tokens / CHUNKS_PER_PROCESS)
    if need <= 1:
        return 1
    return max(1, os.cpu_count() or 1) if cpus is None else cpus


LEAD_S = 0.2
"""How far ahead of the last worker's arrival a level starts: time for every worker to see it."""
POLL_S = 0.25
PEER_STOPPED = "another worker stopped"
"""Why a worker stopped when the cause was elsewhere: the run reports the cause, not this."""


class WorkerLink(Protocol):
    """A worker's line to the coordinator."""

    def send(self, message: tuple[Any, ...]) -> None: ...

    def meet(self) -> float | None:
        """Block until every worker is here; the instant the level starts, on this process's
        wall clock (None: the run was stopped meanwhile)."""

    def halted(self) -> bool:
        """Whether the coordinator asked the workers to stop."""

    def close(self) -> None: ...


def worker_main(
    plan: BenchPlan,
    prompts: PromptMaker,
    worker: int,
    workers: int,
    link: WorkerLink,
    clock_offset_s: float | None = None,
    host: str = "",
) -> None:
    """A worker: the plan's levels, its share of each, each request told to the coordinator when
    sent and when done. `clock_offset_s`: the coordinator's wall clock less this one's, where
    they may differ (another host); None on the coordinator's own machine."""
    import asyncio

    from llmsize.bench.runner import Stop, run_plan

    link.send(("clock", worker, time.time() - time.perf_counter(), clock_offset_s, host))
    stop = Stop()
    server: list[str] = []

    def sink(level: Level, started: float, record: RequestRecord) -> None:
        record.worker = worker
        link.send(("record", level, started, record))

    def issued(level: Level, started: float, record: RequestRecord) -> None:
        link.send(("issued", worker, level, started, record.index, record.scheduled, record.warmup))

    async def gate() -> float:
        """Wait for every worker; start together at one wall-clock instant (a closed loop's
        streams begin the moment this returns)."""
        at = await asyncio.to_thread(link.meet)
        if at is None:
            stop.trip(PEER_STOPPED)
            return time.perf_counter()
        instant = at - (time.time() - time.perf_counter())
        await asyncio.sleep(max(0.0, instant - time.perf_counter()))
        return instant

    async def watch() -> None:
        while not stop.set:
            if await asyncio.to_thread(link.halted):
                stop.trip(PEER_STOPPED)
                return
            await asyncio.sleep(POLL_S / 2)

    async def measured() -> list[LevelRun]:
        watcher = asyncio.create_task(watch())
        split = replace(plan, worker=worker, workers=workers)
        try:
            return await run_plan(
                split, prompts, None, stop, None, sink, server.append, gate, issued
            )
        finally:
            watcher.cancel()

    runs = asyncio.run(measured())
    levels = [(r.level, r.started, r.stopped_early, r.loop_lag_ms) for r in runs]
    link.send(("done", worker, levels, stop.reason, prompts.calibrated_from, server[:1]))
    link.close()


@dataclass(slots=True)
class SplitRun:
    runs: list[LevelRun]
    prompt_calibration: str
    stop_reason: str | None
    server: str | None
    workers: int
    clock_offsets_ms: list[float] = field(default_factory=list)  # each worker's, vs this one's
    hosts: list[str] = field(default_factory=list)  # each worker's, where Ray reported it


@dataclass(slots=True)
class _InFlight:
    level: Level
    started: float
    scheduled: float
    warmup: bool


def shifted(record: RequestRecord, by: float) -> RequestRecord:
    """The record with its times moved into another clock's frame."""
    if by == 0.0:
        return record
    return replace(
        record,
        scheduled=record.scheduled + by,
        sent=record.sent + by if record.sent else 0.0,
        first_token=None if record.first_token is None else record.first_token + by,
        end=record.end + by if record.end else 0.0,
        token_times=[t + by for t in record.token_times],
    )


@dataclass(slots=True)
class Merge:
    """What the workers sent back, merged, in this process's performance-counter frame."""

    workers: int
    sink: RecordSink | None
    records: dict[Level, list[RequestRecord]] = field(default_factory=dict)
    levels: dict[Level, tuple[float, bool]] = field(default_factory=dict)
    loop_lags: dict[Level, dict[int, tuple[float, float]]] = field(default_factory=dict)
    offsets: list[float] = field(default_factory=list)  # ms: each worker's clock less ours
    shifts: list[float] = field(default_factory=list)  # s: added to a worker's times
    hosts: list[str] = field(default_factory=list)
    in_flight: list[dict[tuple[Level, int], _InFlight]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    calibration: str = ""
    server: str | None = None
    finished: set[int] = field(default_factory=set)
    own_offset: float = field(default_factory=lambda: time.time() - time.perf_counter())

    def __post_init__(self) -> None:
        self.offsets = [0.0] * self.workers
        self.shifts = [0.0] * self.workers
        self.hosts = [""] * self.workers
        self.in_flight = [{} for _ in range(self.workers)]

    def take(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "record":
            _, level, started, record = message
            w = record.worker
            self.in_flight[w].pop((level, record.index), None)
            self._keep(level, started + self.shifts[w], shifted(record, self.shifts[w]))
        elif kind == "issued":
            _, w, level, started, index, scheduled, warmup = message
            self.in_flight[w][(level, index)] = _InFlight(level, started, scheduled, warmup)
        elif kind == "clock":
            _, w, wall_minus_perf, offset_s, host = message
            self.hosts[w] = host
            if offset_s is None:  # this machine's own counter: nothing to move
                self.offsets[w] = (self.own_offset - wall_minus_perf) * 1e3
            else:  # its counter + its wall-minus-counter + offset = our wall
                self.shifts[w] = wall_minus_perf + offset_s - self.own_offset
                self.offsets[w] = -offset_s * 1e3
        else:
            _, w, done_levels, reason, calibrated, said = message
            self.finished.add(w)
            for level, started, stopped, loop_lag in done_levels:
                first, early = self.levels.get(level, (started, False))
                self.levels[level] = (min(first, started + self.shifts[w]), early or stopped)
                self.loop_lags.setdefault(level, {}).update(loop_lag)
            if reason is not None and reason != PEER_STOPPED:
                self.reasons.append(reason)
            self.calibration = self.calibration or calibrated
            self.server = self.server or (said[0] if said else None)

    def _keep(self, level: Level, started: float, record: RequestRecord) -> None:
        self.records.setdefault(level, []).append(record)
        if self.sink is not None:
            self.sink(level, started, record)

    def lost(self, worker: int, reason: str) -> None:
        """A worker ended without saying it was done: what it had in flight is lost."""
        self.finished.add(worker)
        self.reasons.append(reason)
        now = time.perf_counter()
        for (level, index), sent in sorted(
            self.in_flight[worker].items(), key=lambda item: item[1].scheduled
        ):
            at = sent.scheduled + self.shifts[worker]
            record = RequestRecord(
                index, at, at, end=now, error="lost", detail=reason, warmup=sent.warmup
            )
            record.worker = worker
            self._keep(level, sent.started + self.shifts[worker], record)
            first, _ = self.levels.get(level, (sent.started + self.shifts[worker], True))
            self.levels[level] = (first, True)
        self.in_flight[worker].clear()

    def result(self, plan: BenchPlan) -> SplitRun:
        runs = [
            LevelRun(
                level,
                sorted((r for r in self.records.get(level, []) if r.end), key=lambda r: r.index),
                self.levels[level][0],
                self.levels[level][1],
                dict(sorted(self.loop_lags.get(level, {}).items())),
            )
            for level in plan.levels
            if level in self.levels
        ]
        reason = self.reasons[0] if self.reasons else None
        return SplitRun(
            runs, self.calibration, reason, self.server, self.workers, self.offsets, self.hosts
        )


class WorkerPool(Protocol):
    """Where the workers run: local processes or Ray actors."""

    workers: int

    def poll(self, timeout_s: float) -> tuple[list[tuple[Any, ...]], list[tuple[int, str]]]:
        """Messages from the workers, and the workers that ended (with why, when it was not a
        normal end: None)."""

    def running(self) -> bool: ...

    def halt(self) -> None: ...

    def close(self) -> None: ...


def coordinate(
    pool: WorkerPool, plan: BenchPlan, sink: RecordSink | None, progress: Progress | None
) -> SplitRun:
    """Merge what the workers send until every one has ended. A worker that dies stops the rest
    (what they measured is kept, and the run says which worker died, and why)."""
    merge = Merge(pool.workers, sink)
    ticker = _Ticker(plan, merge.records, progress)
    try:
        while pool.running():
            try:
                messages, ended = pool.poll(POLL_S)
            except KeyboardInterrupt:  # local workers got the same Ctrl-C: collect what they send
                merge.reasons.append("stopped by SIGINT")
                pool.halt()
                continue
            for message in messages:
                merge.take(message)
            for w, why in ended:
                if w not in merge.finished:
                    merge.lost(w, why)
                    pool.halt()
            ticker.tick()
    finally:
        pool.close()
    return merge.result(plan)


class _PipeLink:
    """A local worker process's link: its own pipe (a worker killed mid-write can then block no
    other), a barrier, a shared start instant and a halt event."""

    def __init__(self, out: Any, barrier: Any, start_at: Any, halt: Any, worker: int) -> None:
        self.out, self.barrier, self.start_at, self.halt = out, barrier, start_at, halt
        self.worker = worker

    def send(self, message: tuple[Any, ...]) -> None:
        self.out.send(message)

    def meet(self) -> float | None:
        try:
            self.barrier.wait()
            if self.worker == 0:
                self.start_at.value = time.time() + LEAD_S
            self.barrier.wait()
        except threading.BrokenBarrierError:
            return None
        return float(self.start_at.value)

    def halted(self) -> bool:
        return bool(self.halt.is_set())

    def close(self) -> None:
        self.out.close()


def _process_main(
    plan: BenchPlan,
    prompts: PromptMaker,
    worker: int,
    workers: int,
    out: Any,
    barrier: Any,
    start_at: Any,
    halt: Any,
) -> None:
    worker_main(plan, prompts, worker, workers, _PipeLink(out, barrier, start_at, halt, worker))


class ProcessPool:
    """Workers as local processes (multiprocessing, spawn)."""

    def __init__(self, plan: BenchPlan, prompts: PromptMaker, workers: int) -> None:
        self.workers = workers
        context = multiprocessing.get_context("spawn")
        self.barrier = context.Barrier(workers)
        self.halt_event = context.Event()
        self.start_at = context.Value("d", 0.0)  # held here until the workers have theirs
        pipes = [context.Pipe(duplex=False) for _ in range(workers)]
        shared = (self.barrier, self.start_at, self.halt_event)
        self.processes = [
            context.Process(
                target=_process_main,
                args=(plan, prompts, w, workers, pipes[w][1], *shared),
                daemon=True,
            )
            for w in range(workers)
        ]
        for process in self.processes:
            process.start()
        for _, writer in pipes:
            writer.close()  # the workers hold theirs: a worker's end closes its pipe
        self.readers: dict[Connection, int] = {pipes[w][0]: w for w in range(workers)}

    def poll(self, timeout_s: float) -> tuple[list[tuple[Any, ...]], list[tuple[int, str]]]:
        from multiprocessing.connection import wait

        messages: list[tuple[Any, ...]] = []
        ended: list[tuple[int, str]] = []
        for obj in wait(list(self.readers), timeout=timeout_s):
            conn = cast("Connection", obj)
            w = self.readers[conn]
            try:
                while True:  # what is waiting on this pipe, without blocking on it
                    messages.append(conn.recv())
                    if not conn.poll():
                        break
            except EOFError:
                del self.readers[conn]
                self.processes[w].join(5)
                ended.append((w, f"worker {w} exited with code {self.processes[w].exitcode}"))
        return messages, ended

    def running(self) -> bool:
        return bool(self.readers)

    def halt(self) -> None:
        self.halt_event.set()
        self.barrier.abort()

    def close(self) -> None:
        for process in self.processes:
            process.join(10)


def run_split(
    plan: BenchPlan,
    prompts: PromptMaker,
    workers: int | None,
    sink: RecordSink | None = None,
    progress: Progress | None = None,
    ray_address: str | None = None,
) -> SplitRun:
    """Run the plan over `workers` local processes, or Ray actors of the cluster at
    `ray_address` (None: one per CPU of the cluster), and merge what they measured; each gets its
    own copy of `prompts` (the same prompts in every worker)."""
    pool: WorkerPool
    if ray_address is not None:
        from llmsize.bench.ray_workers import RayPool

        pool = RayPool(plan, prompts, workers, ray_address)
    else:
        pool = ProcessPool(plan, prompts, workers or 1)
    return coordinate(pool, plan, sink, progress)


@dataclass(slots=True)
class _Ticker:
    """Progress of the level under way, from the records the workers sent back."""

    plan: BenchPlan
    records: dict[Level, list[RequestRecord]]
    progress: Progress | None
    last: float = 0.0

    def tick(self) -> None:
        now = time.monotonic()
        if self.progress is None or not self.records or now - self.last < POLL_S:
            return
        self.last = now
        level = next(reversed(self.records))
        done = [r for r in self.records[level] if r.end]
        ttfts = [(r.first_token - r.sent) * 1e3 for r in done if r.first_token is not None]
        errors = sum(1 for r in done if r.error)
        total = (self.plan.requests or 0) + self.plan.warmup_for(level)
        self.progress(level, len(done), total, errors, statistics.median(ttfts) if ttfts else None)
