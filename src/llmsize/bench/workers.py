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

import contextlib
import multiprocessing
import queue
import statistics
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llmsize.bench.client import RequestRecord
from llmsize.bench.runner import BenchPlan, Level, LevelRun, Progress, RecordSink

LEAD_S = 0.2
"""How far ahead of the last worker's arrival a level starts: time for every worker to see it."""
POLL_S = 0.25


@dataclass(frozen=True, slots=True)
class PromptSpec:
    """What each worker builds its PromptMaker from (the same prompts in every process)."""

    input_tokens: int
    seed: int
    tokenizer: str | None
    shared_prefix: int


@dataclass(slots=True)
class SplitRun:
    runs: list[LevelRun]
    prompt_calibration: str
    stop_reason: str | None
    server: str | None
    clock_offsets_ms: list[float] = field(default_factory=list)  # each worker's, vs this one's


def _worker_main(
    plan: BenchPlan,
    spec: PromptSpec,
    worker: int,
    workers: int,
    out: Any,
    barrier: Any,
    start_at: Any,
) -> None:
    """A worker process: the plan's levels, its share of each, every record sent back."""
    import asyncio

    from llmsize.bench.prompts import PromptMaker
    from llmsize.bench.runner import Stop, run_plan

    out.put(("clock", worker, time.time() - time.perf_counter()))
    prompts = PromptMaker(
        spec.input_tokens,
        spec.seed,
        Path(spec.tokenizer) if spec.tokenizer else None,
        shared_prefix=spec.shared_prefix,
    )
    stop = Stop()
    server: list[str] = []

    def sink(level: Level, started: float, record: RequestRecord) -> None:
        record.worker = worker
        out.put(("record", level, started, record))

    async def gate() -> float:
        """Wait for every worker; start together at one wall-clock instant."""
        try:
            await asyncio.to_thread(barrier.wait)
            if worker == 0:
                start_at.value = time.time() + LEAD_S
            await asyncio.to_thread(barrier.wait)
        except threading.BrokenBarrierError:
            stop.trip("another worker stopped")
            return time.perf_counter()
        return float(start_at.value) - (time.time() - time.perf_counter())

    async def measured() -> list[LevelRun]:
        split = replace(plan, worker=worker, workers=workers)
        return await run_plan(split, prompts, None, stop, None, sink, server.append, gate)

    runs = asyncio.run(measured())
    levels = [(r.level, r.started, r.stopped_early) for r in runs]
    out.put(("done", worker, levels, stop.reason, prompts.calibrated_from, server[:1]))


def run_split(
    plan: BenchPlan,
    spec: PromptSpec,
    workers: int,
    sink: RecordSink | None = None,
    progress: Progress | None = None,
) -> SplitRun:
    """Run the plan over `workers` processes and merge what they measured."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    barrier = context.Barrier(workers)
    start_at = context.Value("d", 0.0)
    processes = [
        context.Process(
            target=_worker_main,
            args=(plan, spec, w, workers, out, barrier, start_at),
            daemon=True,
        )
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    own_offset = time.time() - time.perf_counter()
    records: dict[Level, list[RequestRecord]] = {}
    levels: dict[Level, tuple[float, bool]] = {}
    offsets: list[float] = [0.0] * workers
    reasons: list[str] = []
    calibration, server = "", None
    finished: set[int] = set()
    ticker = _Ticker(plan, records, progress)
    try:
        while len(finished) < workers:
            try:
                message = out.get(timeout=POLL_S)
            except queue.Empty:
                ticker.tick()
                for w, process in enumerate(processes):
                    if w not in finished and not process.is_alive():
                        finished.add(w)
                        reasons.append(f"worker {w} exited with code {process.exitcode}")
                        barrier.abort()
                continue
            kind = message[0]
            if kind == "record":
                _, level, started, record = message
                records.setdefault(level, []).append(record)
                if sink is not None:
                    sink(level, started, record)
            elif kind == "clock":
                _, w, wall_minus_perf = message
                offsets[w] = (own_offset - wall_minus_perf) * 1e3  # its counter minus ours
            else:
                _, w, done_levels, reason, calibrated, said = message
                finished.add(w)
                for level, started, stopped in done_levels:
                    first, early = levels.get(level, (started, False))
                    levels[level] = (min(first, started), early or stopped)
                if reason is not None:
                    reasons.append(reason)
                calibration = calibration or calibrated
                server = server or (said[0] if said else None)
            ticker.tick()
    except KeyboardInterrupt:  # the workers got the same Ctrl-C: collect what they send
        reasons.append("stopped by SIGINT")
        barrier.abort()
        _drain_rest(out, processes, finished, records, levels, sink)
    for process in processes:
        process.join(10)
    runs = [
        LevelRun(
            level,
            sorted((r for r in records.get(level, []) if r.end), key=lambda r: r.index),
            levels[level][0],
            levels[level][1],
        )
        for level in plan.levels
        if level in levels
    ]
    reason = reasons[0] if reasons else None
    return SplitRun(runs, calibration, reason, server, offsets)


def _drain_rest(
    out: Any,
    processes: list[Any],
    finished: set[int],
    records: dict[Level, list[RequestRecord]],
    levels: dict[Level, tuple[float, bool]],
    sink: RecordSink | None,
) -> None:
    """After Ctrl-C: every record the workers still send, until each has ended."""
    deadline = time.monotonic() + 30
    while len(finished) < len(processes) and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty, KeyboardInterrupt):
            message = out.get(timeout=POLL_S)
            if message[0] == "record":
                _, level, started, record = message
                records.setdefault(level, []).append(record)
                if sink is not None:
                    sink(level, started, record)
            elif message[0] == "done":
                finished.add(message[1])
                for level, started, _ in message[2]:
                    levels[level] = (started, True)
        for w, process in enumerate(processes):
            if not process.is_alive():
                finished.add(w)


@dataclass(slots=True)
class _Ticker:
    """Progress of the level under way, from the records the workers sent back."""

    plan: BenchPlan
    records: dict[Level, list[RequestRecord]]
    progress: Progress | None
    last: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

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
