"""`configs --disaggregated`: every prefill/decode unit, frontier and optima marked, as a table
or a JSON document (the same rows: CSV and Markdown come from it)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.text import Text

from llmsize.report.configs_table import mark_flag, optimum_marks
from llmsize.report.console import SafeTable, safe
from llmsize.report.documents import versioned
from llmsize.search.disaggregated import DisaggregatedChoice, DisaggregatedConfigs


def _marks(result: DisaggregatedConfigs, unit: DisaggregatedChoice) -> str:
    return ",".join(
        optimum_marks(unit, result.throughput_optimal, result.latency_optimal, result.frontier)
    )


def _row(result: DisaggregatedConfigs, unit: DisaggregatedChoice) -> dict[str, Any]:
    t = unit.times
    return {
        "precision": unit.precision,
        "prefill": {"layout": unit.prefill.label, "workers": unit.prefill_workers},
        "decode": {"layout": unit.decode.label, "workers": unit.decode_workers},
        "gpus": unit.unit_gpus,
        "concurrency": unit.concurrency_per_unit,
        "ttft_ms": round(t.ttft_ms, 2),
        "itl_ms": round(t.itl_ms, 3),
        "e2e_ms": round(t.e2e_ms, 1),
        "deployment_rps": round(t.rps, 4),
        "output_tokens_per_s_per_gpu": round(unit.tokens_per_gpu(result.output_tokens), 2),
        "bottleneck": t.bottleneck,
        "kv_link": unit.kv_link,
        "transfer_ms": round(t.transfer_ms, 3),
        "provenance": "modelled",
        "marks": _marks(result, unit),
    }


def disaggregated_configs_document(result: DisaggregatedConfigs) -> dict[str, Any]:
    def one(unit: DisaggregatedChoice | None) -> dict[str, Any] | None:
        return None if unit is None else _row(result, unit)

    return versioned(
        {
            "model": result.model,
            "gpu": result.gpu,
            "server": result.server,
            "engine": result.engine,
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
            "limits": result.limits,
            "frontier_metric": result.metric,
            "throughput_optimal": one(result.throughput_optimal),
            "latency_optimal": one(result.latency_optimal),
            "configs": [_row(result, unit) for unit in result.units],
            "typical_error": result.typical_error,
            "reason": result.reason,
        }
    )


def render_disaggregated_configs(
    result: DisaggregatedConfigs, console: Console, *, frontier_only: bool = False
) -> None:
    limits = ", ".join(f"{k} ≤ {v:g}" for k, v in result.limits.items() if v is not None)
    console.print(
        f"[bold]{safe(result.model)}[/] disaggregated on {safe(result.server)} "
        f"({safe(result.engine)}), {result.input_tokens:,} in / {result.output_tokens:,} out; "
        f"limits: {limits or 'none'}"
    )
    console.print(
        "Each unit of P prefill and D decode workers at its most concurrent requests whose mean "
        "latencies keep the limits (without limits: what its decode pool holds); modelled.",
        soft_wrap=True,
    )
    table = SafeTable(box=box.SIMPLE_HEAD)
    for column in (
        "",
        "precision",
        "prefill",
        "decode",
        "GPUs",
        "requests",
        "TTFT ms",
        "ITL ms",
        "E2E ms",
        "req/s",
        "tok/s/GPU",
        "paced by",
        "KV over",
    ):
        right = column in ("GPUs", "requests", "req/s", "tok/s/GPU") or column.endswith("ms")
        table.add_column(column, justify="right" if right else "left")
    shown = result.frontier if frontier_only else result.units
    for unit in shown:
        marks = _marks(result, unit)
        flag = mark_flag(marks)
        t = unit.times
        table.add_row(
            Text(flag, style="bold"),
            unit.precision,
            f"{unit.prefill_workers} x {unit.prefill.label}",
            f"{unit.decode_workers} x {unit.decode.label}",
            f"{unit.unit_gpus}",
            f"{unit.concurrency_per_unit:,}",
            f"{t.ttft_ms:,.1f}",
            f"{t.itl_ms:,.2f}",
            f"{t.e2e_ms:,.0f}",
            f"{t.rps:,.2f}",
            f"{unit.tokens_per_gpu(result.output_tokens):,.1f}",
            t.bottleneck,
            unit.kv_link,
            style="bold green" if "optimal" in marks else "",
        )
    console.print(table)
    console.print("T throughput-optimal (tok/s/GPU), L latency-optimal, * on the frontier.")
    console.print(safe(f"Model accuracy: {result.typical_error}"), soft_wrap=True)
    if result.throughput_optimal is None:
        console.print(f"[bold red]No disaggregated unit meets the limits:[/] {safe(result.reason)}")
