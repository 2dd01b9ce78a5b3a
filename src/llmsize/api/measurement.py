"""Measure a real endpoint (`bench`) and read a saved run back (`show`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from llmsize.bench.results import ShownLevel

if TYPE_CHECKING:
    from llmsize.bench.results import BenchResult


def bench(
    url: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    *,
    rate: str | None = None,
    concurrency: str | None = None,
    requests: int | None = 200,
    duration_s: float | None = None,
    warmup: int | None = None,
    api: str = "chat",
    tokenizer: Path | str | None = None,
    seed: int | None = None,
    api_key: str | None = None,
    timeout_s: float = 120.0,
    progress: Callable[..., None] | None = None,
    transport: object | None = None,
    shared_prefix: int = 0,
    sink: Callable[..., None] | None = None,
    workers: int | None = None,
    ray: str | None = None,
) -> BenchResult:
    """Measure an OpenAI-compatible endpoint at each load level; see llmsize.bench. Without a
    `seed` one is drawn (and kept in the result), so no two runs send the same prompts;
    `shared_prefix` tokens open every prompt alike, to measure prefix caching on purpose.
    `sink(level, level_start, record)` sees each request as it completes (bench's JSONL).
    `workers` client processes share each level (bench/workers.py), for loads one cannot send
    on time (default: one, or one per core when a level needs more: `auto_workers`); with `ray`
    (a Ray address: local, auto, HOST:PORT) they are actors of that cluster, one per CPU by
    default (bench/ray_workers.py)."""
    import asyncio
    import secrets

    from llmsize.bench.client import Endpoint
    from llmsize.bench.prompts import PromptMaker
    from llmsize.bench.results import BenchResult, measure
    from llmsize.bench.runner import BenchPlan, LevelRun, Stop, parse_levels, run_plan
    from llmsize.errors import InputError

    if (rate is None) == (concurrency is None):
        raise InputError("--rate", "give exactly one of --rate or --concurrency")
    try:
        levels = parse_levels(rate, concurrency)
    except ValueError as exc:
        raise InputError("--rate" if rate is not None else "--concurrency", str(exc)) from None
    if not url.startswith(("http://", "https://")):
        raise InputError("--url", f"{url!r} is not an http(s) URL such as http://127.0.0.1:8000/v1")
    if api not in ("chat", "completions"):
        raise InputError("--api", f"{api!r} is not one of chat, completions")
    if not 0 <= shared_prefix < input_tokens:
        raise InputError(
            "--shared-prefix", f"must be from 0 to fewer than --input-tokens ({input_tokens})"
        )
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise InputError("--workers", f"must be from 1 to {MAX_WORKERS}")
    if workers is None and ray is None and transport is None:
        from llmsize.bench.workers import auto_workers

        workers = auto_workers(levels, output_tokens)
    split_up = ray is not None or (workers or 1) > 1
    if split_up and transport is not None:
        raise InputError("--workers", "worker processes open their own connections")
    if seed is None:
        seed = secrets.randbelow(2**31)
    plan = BenchPlan(
        Endpoint(url, model, api, api_key, timeout_s),
        input_tokens,
        output_tokens,
        levels,
        None if duration_s is not None else requests,
        duration_s,
        warmup,
        seed,
    )
    prompts = PromptMaker(
        input_tokens, seed, Path(tokenizer) if tokenizer else None, shared_prefix=shared_prefix
    )
    if split_up:
        from llmsize.bench.workers import run_split

        split = run_split(plan, prompts, workers, sink, progress, ray)
        return BenchResult(
            plan,
            split.runs,
            [measure(r) for r in split.runs],
            split.prompt_calibration,
            shared_prefix,
            split.stop_reason,
            split.server,
            split.workers,
            max((abs(o) for o in split.clock_offsets_ms), default=0.0),
            "ray" if ray is not None else "processes",
            sorted({h for h in split.hosts if h}),
        )
    stop = Stop()
    server: list[str] = []

    async def measured() -> list[LevelRun]:
        return await run_plan(plan, prompts, progress, stop, transport, sink, server.append)  # type: ignore[arg-type]

    runs = asyncio.run(measured())
    return BenchResult(
        plan,
        runs,
        [measure(r) for r in runs],
        prompts.calibrated_from,
        shared_prefix,
        stop.reason,
        server[0] if server else None,
    )


MAX_WORKERS = 256
"""Client processes one run may start."""


def show(path: Path, level: str | None = None) -> list[ShownLevel]:
    """Recompute a saved `bench` run from its per-request JSONL (every level, or one)."""
    from llmsize.bench.records_file import read_runs, select
    from llmsize.bench.results import latency_samples, measure

    shown = []
    for run in select(read_runs(path), level):
        ttft, e2e = latency_samples(run)
        shown.append(ShownLevel(measure(run), ttft, e2e))
    return shown
