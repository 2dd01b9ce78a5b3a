"""One bench run over several client processes (`bench --workers N`), for loads one process
cannot send on time.

Each worker runs the same asyncio client on its share of every level: an open loop's seeded
schedule is drawn whole in every worker and each sends every N-th request at its absolute time
(so the schedule is exactly the one a single client would send); a closed loop's streams are
divided, each worker taking every N-th request index. Before each level the workers wait for
one another and start at one instant on the wall clock, which each turns into its own
performance counter (the offset between the two clocks is measured in each process and
reported). Records stream back to this process as they complete, tagged with their worker, and
are merged into the one result, CSV and JSONL.
"""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from llmsize.bench.client import RequestRecord
from llmsize.bench.prompts import PromptMaker
from llmsize.bench.runner import BenchPlan, Level, LevelRun, Progress, RecordSink

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

LEAD_S = 0.2
"""How far ahead of the last worker's arrival a level starts: time for every worker to see it."""
POLL_S = 0.25
PEER_STOPPED = "another worker stopped"
"""Why a worker stopped when the cause was elsewhere: the run reports the cause, not this."""


@dataclass(slots=True)
class SplitRun:
    runs: list[LevelRun]
    prompt_calibration: str
    stop_reason: str | None
    server: str | None
    clock_offsets_ms: list[float] = field(default_factory=list)  # each worker's, vs this one's


def _worker_main(
    plan: BenchPlan,
    prompts: PromptMaker,
    worker: int,
    workers: int,
    out: Any,
    barrier: Any,
    start_at: Any,
    halt: Any,
) -> None:
    """A worker process: the plan's levels, its share of each, every record sent back over its
    own pipe (a worker killed mid-write can then block no other). `halt` set by the coordinator
    stops it as Ctrl-C would."""
    import asyncio

    from llmsize.bench.runner import Stop, run_plan

    out.send(("clock", worker, time.time() - time.perf_counter()))
    stop = Stop()
    server: list[str] = []

    def sink(level: Level, started: float, record: RequestRecord) -> None:
        record.worker = worker
        out.send(("record", level, started, record))

    async def gate() -> float:
        """Wait for every worker; start together at one wall-clock instant."""
        try:
            await asyncio.to_thread(barrier.wait)
            if worker == 0:
                start_at.value = time.time() + LEAD_S
            await asyncio.to_thread(barrier.wait)
        except threading.BrokenBarrierError:
            stop.trip(PEER_STOPPED)
            return time.perf_counter()
        return float(start_at.value) - (time.time() - time.perf_counter())

    async def watch() -> None:
        while not stop.set:
            if halt.is_set():
                stop.trip(PEER_STOPPED)
                return
            await asyncio.sleep(POLL_S / 2)

    async def measured() -> list[LevelRun]:
        watcher = asyncio.create_task(watch())
        split = replace(plan, worker=worker, workers=workers)
        try:
            return await run_plan(split, prompts, None, stop, None, sink, server.append, gate)
        finally:
            watcher.cancel()

    runs = asyncio.run(measured())
    levels = [(r.level, r.started, r.stopped_early) for r in runs]
    out.send(("done", worker, levels, stop.reason, prompts.calibrated_from, server[:1]))
    out.close()


@dataclass(slots=True)
class _Merge:
    """What the workers sent back, merged."""

    workers: int
    sink: RecordSink | None
    records: dict[Level, list[RequestRecord]] = field(default_factory=dict)
    levels: dict[Level, tuple[float, bool]] = field(default_factory=dict)
    offsets: list[float] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    calibration: str = ""
    server: str | None = None
    finished: set[int] = field(default_factory=set)
    own_offset: float = field(default_factory=lambda: time.time() - time.perf_counter())

    def __post_init__(self) -> None:
        self.offsets = [0.0] * self.workers

    def take(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "record":
            _, level, started, record = message
            self.records.setdefault(level, []).append(record)
            if self.sink is not None:
                self.sink(level, started, record)
        elif kind == "clock":
            _, w, wall_minus_perf = message
            self.offsets[w] = (self.own_offset - wall_minus_perf) * 1e3  # its counter - ours
        else:
            _, w, done_levels, reason, calibrated, said = message
            self.finished.add(w)
            for level, started, stopped in done_levels:
                first, early = self.levels.get(level, (started, False))
                self.levels[level] = (min(first, started), early or stopped)
            if reason is not None and reason != PEER_STOPPED:
                self.reasons.append(reason)
            self.calibration = self.calibration or calibrated
            self.server = self.server or (said[0] if said else None)

    def lost(self, worker: int, exitcode: int | None) -> None:
        """A worker ended without saying it was done."""
        self.finished.add(worker)
        self.reasons.append(f"worker {worker} exited with code {exitcode}")


def run_split(
    plan: BenchPlan,
    prompts: PromptMaker,
    workers: int,
    sink: RecordSink | None = None,
    progress: Progress | None = None,
) -> SplitRun:
    """Run the plan over `workers` processes and merge what they measured; each gets its own
    copy of `prompts` (the same prompts in every process). A worker that dies stops the others
    (what they measured is kept, and the run says which worker exited)."""
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    start_at = context.Value("d", 0.0)
    halt = context.Event()
    pipes = [context.Pipe(duplex=False) for _ in range(workers)]
    processes = [
        context.Process(
            target=_worker_main,
            args=(plan, prompts, w, workers, pipes[w][1], barrier, start_at, halt),
            daemon=True,
        )
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for _, writer in pipes:
        writer.close()  # the workers hold theirs: a worker's end closes its pipe
    readers: dict[Connection, int] = {pipes[w][0]: w for w in range(workers)}
    merge = _Merge(workers, sink)
    ticker = _Ticker(plan, merge.records, progress)

    def stop_all() -> None:
        halt.set()
        barrier.abort()

    while readers:
        try:
            ready = wait(list(readers), timeout=POLL_S)
        except KeyboardInterrupt:  # the workers got the same Ctrl-C: collect what they send
            merge.reasons.append("stopped by SIGINT")
            stop_all()
            continue
        for obj in ready:
            conn = cast("Connection", obj)
            w = readers[conn]
            try:
                merge.take(conn.recv())
            except EOFError:
                del readers[conn]
                if w not in merge.finished:
                    processes[w].join(5)
                    merge.lost(w, processes[w].exitcode)
                    stop_all()
        ticker.tick()
    for process in processes:
        process.join(10)
    runs = [
        LevelRun(
            level,
            sorted((r for r in merge.records.get(level, []) if r.end), key=lambda r: r.index),
            merge.levels[level][0],
            merge.levels[level][1],
        )
        for level in plan.levels
        if level in merge.levels
    ]
    reason = merge.reasons[0] if merge.reasons else None
    return SplitRun(runs, merge.calibration, reason, merge.server, merge.offsets)


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
