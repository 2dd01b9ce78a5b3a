"""The configs screen: every configuration, frontier and optima marked, as a table or JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.text import Text

from llmsize.perf.estimate import Estimate
from llmsize.perf.results import ConfigsResult
from llmsize.report.console import SafeTable, safe
from llmsize.report.documents import versioned


def _order(e: Estimate) -> tuple[str, int, int, int, float]:
    """Precision, then replica width, attention TP, pipeline depth and batch."""
    layout = e.layout
    if layout is None:
        return (e.precision, 0, 0, 0, e.batch or 0)
    return (e.precision, layout.gpus, layout.tp, layout.pp, e.batch or 0)


def _row(e: Estimate, marks: str) -> dict[str, Any]:
    return {
        "precision": e.precision,
        "tp": e.tp,
        "layout": e.layout.label if e.layout is not None else None,
        "batch": e.batch,
        "mode": e.mode,
        "ttft_ms": round(e.ttft_ms, 3),
        "itl_ms": None if e.itl_ms is None else round(e.itl_ms, 3),
        "e2e_ms": round(e.e2e_ms, 3),
        "rps_per_server": round(e.rps_per_server, 4),
        "provenance": e.provenance,
        "source": e.source,
        "marks": marks,
    }


def optimum_marks(
    item: object, throughput_optimal: object, latency_optimal: object, frontier: Sequence[object]
) -> list[str]:
    """Which optimum a configuration (or a disaggregated unit) is, and whether it is on the
    frontier."""
    marks = []
    if item is throughput_optimal:
        marks.append("throughput-optimal")
    if item is latency_optimal:
        marks.append("latency-optimal")
    if any(item is f for f in frontier):
        marks.append("frontier")
    return marks


def mark_flag(marks: str) -> str:
    """The table's first column: T throughput-optimal, L latency-optimal, * on the frontier."""
    flag = "T" if "throughput-optimal" in marks else ""
    flag += "L" if "latency-optimal" in marks else ""
    return flag + ("*" if "frontier" in marks else "")


def _marks(result: ConfigsResult, e: Estimate) -> str:
    marks = optimum_marks(e, result.throughput_optimal, result.latency_optimal, result.frontier)
    if not any(e is f for f in result.feasible):
        marks.append("over limits")
    return ",".join(marks)


def configs_document(result: ConfigsResult) -> dict[str, Any]:
    def one(e: Estimate | None) -> dict[str, Any] | None:
        return None if e is None else _row(e, _marks(result, e))

    return versioned(
        {
            "model": result.model,
            "gpu": result.gpu,
            "server": result.server,
            "precision": result.precision,
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
            "limits": result.limits,
            "frontier_metric": result.metric,
            "throughput_optimal": one(result.throughput_optimal),
            "latency_optimal": one(result.latency_optimal),
            "configs": [_row(e, _marks(result, e)) for e in result.points],
            "missing": list(result.missing),
        }
    )


def render_configs(result: ConfigsResult, console: Console, *, frontier_only: bool = False) -> None:
    limits = ", ".join(f"{k} ≤ {v:g}" for k, v in result.limits.items() if v is not None)
    console.print(
        f"[bold]{safe(result.model)}[/] on {safe(result.server)}, {result.input_tokens:,} in / "
        f"{result.output_tokens:,} out; limits: {limits or 'none'}"
    )
    table = SafeTable(box=box.SIMPLE_HEAD)
    for column in (
        "",
        "precision",
        "layout",
        "batch",
        "TTFT ms",
        "ITL ms",
        "E2E ms",
        "req/s/server",
        "data",
        "source",
    ):
        table.add_column(column, justify="right" if column.endswith(("ms", "server")) else "left")
    shown = result.frontier if frontier_only else result.points
    for e in sorted(shown, key=_order):
        marks = _marks(result, e)
        flag = mark_flag(marks)
        style = "dim" if "over limits" in marks else ("bold green" if "optimal" in marks else "")
        table.add_row(
            Text(flag, style="bold"),
            e.precision,
            e.layout.label if e.layout is not None else "TP ?",
            f"{e.batch:g}" if e.batch is not None else "?",
            f"{e.ttft_ms:,.1f}",
            "—" if e.itl_ms is None else f"{e.itl_ms:,.2f}",
            f"{e.e2e_ms:,.0f}",
            f"{e.rps_per_server:,.2f}",
            e.provenance,
            e.source,
            style=style,
        )
    console.print(table)
    console.print("T throughput-optimal, L latency-optimal, * on the frontier; dim: over a limit.")
    for reason in result.missing:
        console.print(safe(f"  not shown: {reason}"), soft_wrap=True)
    if result.throughput_optimal is None:
        console.print("[bold red]No configuration meets the limits.[/]")
