"""One JSON document builder per result type, and the one schema version they all carry.

Commands print these documents as JSON, CSV or Markdown (report/formats.py); the plan's and the
configs' builders live beside their tables (plan_json.py, configs_table.py) and use the same
constant. A quantity has one key in every document (`rps_per_server`, `cost_per_month_usd`), and a
whole number is written as one (`"batch": 16`, not `16.0`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsize.bench.results import BenchResult, ShownLevel
    from llmsize.economics import CapacityResult
    from llmsize.files import FileCheck
    from llmsize.perf.accuracy import AccuracyReport
    from llmsize.perf.estimate import Estimate
    from llmsize.perf.results import CalibrateResult, EstimateResult
    from llmsize.search.simulated import SimulationResult

SCHEMA_VERSION = 1
"""Bumped on any breaking change to any document."""


def whole_numbers(value: Any) -> Any:
    """The document with every float that holds a whole number written as an integer."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, Mapping):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [whole_numbers(v) for v in value]
    return value


def versioned(body: Mapping[str, Any]) -> dict[str, Any]:
    """A document: the schema version first, whole numbers as integers."""
    doc: dict[str, Any] = whole_numbers({"schema_version": SCHEMA_VERSION, **body})
    return doc


def estimate_document(result: EstimateResult) -> dict[str, Any]:
    return versioned(asdict(result))


def capacity_range(best: Estimate | None, queued: bool = False) -> dict[str, Any]:
    """The peak capacity's 90 % range from the model's cross-validated error, and the averages
    those sustain (a queued batch job's: the same rates); nulls for a measured answer, and where
    the error was never measured (the note then says "unvalidated")."""
    from llmsize.perf.estimate import INTERVAL
    from llmsize.workload import sustainable_average

    low = best.rps_low if best is not None else None
    high = best.rps_high if best is not None else None
    if low is None or high is None:
        low = high = None
    return {
        "rps_low": low,
        "rps_high": high,
        "avg_rps_low": None if low is None else (low if queued else sustainable_average(low)),
        "avg_rps_high": (None if high is None else (high if queued else sustainable_average(high))),
        "interval": None if low is None else INTERVAL,
        "range_note": (best.range_note or None) if best is not None else None,
    }


def capacity_document(r: CapacityResult) -> dict[str, Any]:
    best = r.configs.throughput_optimal
    d = r.daily
    config = None
    if best is not None:
        config = {
            "precision": best.precision,
            "tp": best.tp,
            "batch": best.batch,
            "ttft_ms": best.ttft_ms,
            "itl_ms": best.itl_ms,
            "e2e_ms": best.e2e_ms,
            "provenance": best.provenance,
            "source": best.source,
        }
    api = None
    if r.api is not None:
        api = {
            "price": r.api.price.id,
            "price_source": r.api.price.source,
            "input_per_day_usd": r.api.input_per_day_usd,
            "output_per_day_usd": r.api.output_per_day_usd,
            "per_month_usd": r.api.per_month_usd,
            "tier_note": r.api.tier_note,
        }
    return versioned(
        {
            "model": r.configs.model,
            "server": r.configs.server,
            "config": config,
            "rps_per_server": None if d is None else d.peak_rps,
            "avg_rps_per_server": None if d is None else d.avg_rps,
            "queued": d is not None and d.queued,
            **capacity_range(best, d is not None and d.queued),
            "requests_per_day": None if d is None else d.requests_per_day,
            "users_per_day": None if d is None else d.users_per_day,
            "input_tokens_per_day": None if d is None else d.input_tokens_per_day,
            "output_tokens_per_day": None if d is None else d.output_tokens_per_day,
            "cost_per_month_usd": r.server_month_usd,
            "server_price_source": None if r.server_price is None else r.server_price.source,
            "usd_per_million_output_tokens": r.usd_per_million_output_tokens,
            "api_cost": api,
        }
    )


def calibrate_document(result: CalibrateResult, out: str) -> dict[str, Any]:
    return versioned(
        {
            "out": out,
            "rows": result.rows,
            "curves": result.curves,
            "statistic": result.statistic,
            "skipped": result.skipped,
            "left_out": result.left_out,
            "before": result.before,
            "after": result.after,
            "groups": [g.to_dict() for g in result.calibration.groups.values()],
        }
    )


def accuracy_document(report: AccuracyReport) -> dict[str, Any]:
    return versioned(report.to_dict())


def bench_document(
    result: BenchResult, url: str, model: str, out: str | None, jsonl: str | None
) -> dict[str, Any]:
    from llmsize.bench.credentials import redacted_url
    from llmsize.bench.results import level_document

    return versioned(
        {
            "url": redacted_url(url),
            "model": model,
            "server": result.server,
            "prompt_lengths": result.prompt_calibration,
            "seed": result.plan.seed,
            "shared_prefix_tokens": result.shared_prefix,
            "client_workers": result.workers,
            "clients": result.clients,
            "client_hosts": result.hosts,
            "clock_offset_ms": round(result.clock_offset_ms, 4),
            "stopped_early": any(r.stopped_early for r in result.runs),
            "stop_reason": result.stop_reason,
            "outcomes": result.outcomes,
            "levels": [level_document(m) for m in result.levels],
            "out": out,
            "jsonl": jsonl,
        }
    )


def show_document(path: str, shown: Sequence[ShownLevel]) -> dict[str, Any]:
    from llmsize.bench.results import level_document

    return versioned({"file": path, "levels": [level_document(s.measured) for s in shown]})


def simulation_document(
    result: SimulationResult,
    measured: tuple[str, ShownLevel] | None = None,
    differs: Sequence[str] = (),
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": result.name,
        "deployment": result.deployment,
        "traffic": result.traffic,
        "result": result.run.as_dict(),
        "percentile": result.percentile,
        "broken": [str(b) for b in result.broken],
    }
    if result.seed_runs:
        q = result.percentile
        runs = [r for _, r, _ in result.seed_runs]
        body["across_seeds"] = {  # rounded as each run's own figures are (RunResult.as_dict)
            "seeds": [s for s, _, _ in result.seed_runs],
            "ttft_ms_at_percentile": [round(r.ttft_ms.at(q), 4) for r in runs],
            "itl_ms_at_percentile": [round(r.itl_ms.at(q), 4) for r in runs],
            "e2e_ms_at_percentile": [round(r.e2e_ms.at(q), 4) for r in runs],
            "goodput": [r.as_dict()["goodput"] for r in runs],
            "achieved_rps": [r.as_dict()["achieved_rps"] for r in runs],
            "seeds_missing_a_limit": [s for s, _, missed in result.seed_runs if missed],
        }
    if measured is not None:
        label, level = measured
        body["measured"] = {
            "level": label,
            **level.measured.run.as_dict(),
            "unlike": list(differs),
        }
    return versioned(body)


def validation_document(checks: Iterable[FileCheck]) -> dict[str, Any]:
    files = [
        {
            "path": str(c.path),
            "kind": c.kind,
            "valid": not c.problems,
            "problems": c.problems,
            "summary": c.summary,
        }
        for c in checks
    ]
    return versioned({"valid": all(f["valid"] for f in files), "files": files})


def peak_document(avg_rps: float, percentile: float, peak_rps: float) -> dict[str, Any]:
    rise = (peak_rps / avg_rps - 1) * 100 if avg_rps > 0 else 0.0
    return versioned(
        {"avg_rps": avg_rps, "percentile": percentile, "peak_rps": peak_rps, "increase_pct": rise}
    )


def sustainable_document(capacity_rps: float, percentile: float, avg_rps: float) -> dict[str, Any]:
    return versioned({"capacity_rps": capacity_rps, "percentile": percentile, "avg_rps": avg_rps})


def catalog_document(kind: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return versioned({"catalog": kind, "rows": list(rows)})
