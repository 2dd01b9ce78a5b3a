"""A measured level as the shared result model, as curve rows, and as per-request JSONL."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from llmsize import __version__
from llmsize.bench.client import RequestRecord
from llmsize.bench.runner import BenchPlan, LevelRun
from llmsize.benchdb.schema import CurvePoint, write_curves
from llmsize.metrics import STATS, Distribution, RunResult, percentile

SOURCE_ID = "llmsize-bench"


@dataclass(frozen=True, slots=True)
class Measured:
    """One level: the result model plus what the client itself cost."""

    run: RunResult
    errors_by_kind: dict[str, int]
    dispatch_lag_ms: dict[str, float]  # scheduled send -> request handed to the connection
    mean_prompt_tokens: float
    mean_output_tokens: float
    unreliable: str | None = None  # why the client's own delay spoils the figures, if it does
    loop_lag_ms: dict[int, tuple[float, float]] = field(default_factory=dict)  # worker: p50, p99

    @property
    def reliable(self) -> bool:
        return self.unreliable is None


LAG_SHARE = 0.05
"""The client's own delay (scheduled send, or a closed loop's previous answer, to the request
written) may be this share of the median TTFT it measures before the level is marked unreliable:
a late send shifts an open loop's arrivals and splits a closed loop's waves, so the engine was
not asked for the load the row names."""
LAG_FLOOR_MS = 1.0
"""Below this the client's delay is noise whatever the TTFT."""


def lag_verdict(lags_ms: Sequence[float], ttft_p50_ms: float, workers: int = 1) -> str | None:
    """None when the client kept its schedule, else the reason the level is unreliable, with
    the client processes that would carry the load on time if each one's delay shrank with its
    share of it (a first estimate: measure again with them)."""
    if not lags_ms or ttft_p50_ms <= 0:
        return None
    p50, p99 = percentile(lags_ms, 50), percentile(lags_ms, 99)
    allowed = max(LAG_FLOOR_MS, LAG_SHARE * ttft_p50_ms)
    if p50 > allowed:
        wanted = max(workers + 1, math.ceil(workers * p50 / allowed))
        return (
            f"the client sent late: median {p50:,.1f} ms after schedule, over "
            f"{LAG_SHARE:.0%} of the median TTFT ({ttft_p50_ms:,.1f} ms); the load was not the "
            f"one named (a lighter load, or about --workers {wanted} client processes)"
        )
    if p99 > 4 * allowed:
        return (
            f"the client sent late at times: p99 {p99:,.1f} ms after schedule against a median "
            f"TTFT of {ttft_p50_ms:,.1f} ms"
        )
    return None


@dataclass(frozen=True, slots=True)
class BenchResult:
    plan: BenchPlan
    runs: list[LevelRun]
    levels: list[Measured]
    prompt_calibration: str
    shared_prefix: int = 0  # tokens every prompt opened with alike
    stop_reason: str | None = None  # why the run ended before its plan ("stopped by SIGTERM")
    server: str | None = None  # the engine and version, as the server told ("vllm 0.32.0")
    workers: int = 1  # client processes that shared each level
    clock_offset_ms: float = 0.0  # the largest offset between their clocks and this one's
    clients: str = "process"  # where the clients ran: process (one), processes, or ray (actors)
    hosts: list[str] = field(default_factory=list)  # the Ray actors' hosts

    @property
    def outcomes(self) -> dict[str, int]:
        """Every measured request counted once: 'ok' or its error kind."""
        counts: Counter[str] = Counter()
        for run in self.runs:
            for r in run.records:
                if not r.warmup:
                    counts[r.error or "ok"] += 1
        return dict(counts)


def _answered(records: Sequence[RequestRecord]) -> list[RequestRecord]:
    return [r for r in records if not r.warmup and r.ok and r.first_token is not None]


def latency_samples(level_run: LevelRun) -> tuple[list[float], list[float]]:
    """Per-request TTFT and E2E (ms, to the last token) of the measured, answered requests:
    what gets drawn."""
    ok = _answered(level_run.records)
    ttft = [(r.first_token - r.sent) * 1e3 for r in ok if r.first_token is not None]
    return ttft, [(r.last_token - r.sent) * 1e3 for r in ok]


def measure(level_run: LevelRun) -> Measured:
    records = [r for r in level_run.records if not r.warmup]
    ok = _answered(records)
    ttft, e2e = latency_samples(level_run)
    itl = []
    tokens = 0
    prompts = []
    outputs = []
    for r in ok:
        out = r.output_tokens or len(r.token_times)
        tokens += out
        outputs.append(out)
        if r.prompt_tokens:
            prompts.append(r.prompt_tokens)
        if out > 1 and r.first_token is not None:
            itl.append((r.last_token - r.first_token) * 1e3 / (out - 1))
    span = (max(r.end for r in ok) - min(r.sent for r in ok)) if ok else 0.0
    lags = sorted(max(0.0, (r.sent - r.scheduled) * 1e3) for r in records)
    level = level_run.level
    run = RunResult(
        source="measured",
        load=level.kind,
        load_value=level.value,
        requests=len(ok),
        errors=len(records) - len(ok),
        duration_s=span,
        ttft_ms=Distribution.of(ttft),
        itl_ms=Distribution.of(itl),
        e2e_ms=Distribution.of(e2e),
        achieved_rps=len(ok) / span if span > 0 else 0.0,
        output_tokens_per_s=tokens / span if span > 0 else 0.0,
    )
    return Measured(
        run=run,
        errors_by_kind=dict(Counter(r.error for r in records if r.error)),
        dispatch_lag_ms={
            "p50": round(percentile(lags, 50), 3) if lags else math.nan,
            "p99": round(percentile(lags, 99), 3) if lags else math.nan,
        },
        mean_prompt_tokens=sum(prompts) / len(prompts) if prompts else math.nan,
        mean_output_tokens=sum(outputs) / len(outputs) if outputs else math.nan,
        unreliable=_with_loop_lag(
            lag_verdict(
                lags,
                run.ttft_ms.p50 if ttft else 0.0,
                1 + max((r.worker for r in records), default=0),
            ),
            level_run.loop_lag_ms,
        ),
        loop_lag_ms=level_run.loop_lag_ms,
    )


def _with_loop_lag(verdict: str | None, loop_lag_ms: dict[int, tuple[float, float]]) -> str | None:
    """A late client's verdict names its slowest event loop: the delay behind every send."""
    if verdict is None or not loop_lag_ms:
        return verdict
    worker, (_, p99) = max(loop_lag_ms.items(), key=lambda item: item[1][1])
    where = f" (worker {worker})" if len(loop_lag_ms) > 1 else ""
    return f"{verdict}; the client's event loop woke timers {p99:,.1f} ms late at p99{where}"


def level_document(measured: Measured) -> dict[str, Any]:
    doc = measured.run.as_dict()
    doc.pop("source")
    doc["errors_by_kind"] = measured.errors_by_kind
    doc["client_dispatch_lag_ms"] = measured.dispatch_lag_ms
    doc["client_loop_lag_ms"] = [
        {"worker": w, "p50": p50, "p99": p99} for w, (p50, p99) in measured.loop_lag_ms.items()
    ]
    doc["reliable"] = measured.reliable
    doc["unreliable_reason"] = measured.unreliable
    doc["mean_prompt_tokens"] = measured.mean_prompt_tokens
    doc["mean_output_tokens"] = measured.mean_output_tokens
    return doc


def curve_points(
    measured: Sequence[Measured],
    url: str,
    model: str,
    gpu: str,
    tp: int,
    precision: str,
    today: date | None = None,
    stop_reason: str | None = None,
    server: str | None = None,
) -> list[CurvePoint]:
    """Summary rows in the curve schema, with the run's provenance (never its credentials): one
    per level and statistic (metrics.STATS, the row's latency_stat); a run stopped early says so
    in every row's notes."""
    host = urlparse(url).hostname or url
    port = urlparse(url).port
    if port is not None:
        host = f"{host}:{port}"
    partial = f"PARTIAL run ({stop_reason}); " if stop_reason else ""

    def caveats(m: Measured) -> str:
        return partial + (f"UNRELIABLE: {m.unreliable}; " if m.unreliable else "")

    stamp = (today or date.today()).isoformat()
    rows = []
    for m in measured:
        r = m.run
        if not r.requests or math.isnan(m.mean_prompt_tokens):
            continue
        for stat in STATS:
            rows.append(
                CurvePoint(
                    model=model,
                    gpu=gpu,
                    precision=precision,
                    tp=tp,
                    load_type=r.load,
                    load_value=r.load_value,
                    input_tokens=round(m.mean_prompt_tokens, 2),
                    output_tokens=round(m.mean_output_tokens, 2),
                    ttft_ms=round(getattr(r.ttft_ms, stat), 4),
                    itl_ms=round(getattr(r.itl_ms, stat), 4) if r.itl_ms.count else None,
                    e2e_ms=round(getattr(r.e2e_ms, stat), 4),
                    req_s=round(r.achieved_rps, 6),
                    out_tok_s=round(r.output_tokens_per_s, 4),
                    latency_stat=stat,
                    source_id=SOURCE_ID,
                    source=f"llmsize {__version__} bench of {host}"
                    + (f" ({server})" if server else "")
                    + f" (model {model}) on {stamp}",
                    source_row=f"{r.load} {r.load_value:g} {stat}",
                    raw_model=model,
                    notes=caveats(m)
                    + (
                        f"p50 TTFT {r.ttft_ms.p50:.2f} ms, p95 {r.ttft_ms.p95:.2f}; p50 ITL "
                        f"{r.itl_ms.p50:.3f} ms; {r.requests} requests, {r.errors} errors"
                    ),
                )
            )
    return rows


def records_path(out: Path, jsonl: Path | None) -> Path:
    """Where the per-request JSONL goes: given, or beside the CSV (results.csv -> .jsonl)."""
    return jsonl or out.with_suffix(".jsonl")


def write_curve_rows(out: Path, points: Iterable[CurvePoint], *, force: bool = False) -> None:
    """The curve CSV, whole or not at all (the per-request JSONL is written as the run goes:
    bench/records_file.py)."""
    from llmsize.files import write_output

    write_output(out, "".join(write_curves(points)), force=force, where="--out")


def records_of(runs: Sequence[LevelRun]) -> list[RequestRecord]:
    return [r for run in runs for r in run.records]


@dataclass(frozen=True, slots=True)
class ShownLevel:
    """One level of a saved run: its statistics and the per-request latencies to draw."""

    measured: Measured
    ttft_ms: list[float]
    e2e_ms: list[float]
