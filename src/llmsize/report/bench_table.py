"""Measured levels for people: latencies, throughput, errors, and the client's own cost."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich import box
from rich.console import Console

from llmsize.bench.credentials import redacted_url
from llmsize.bench.results import BenchResult, Measured
from llmsize.report.console import SafeTable, safe


def render_bench(
    result: BenchResult, console: Console, out: Path | None, jsonl: Path | None, stopped: bool
) -> None:
    plan = result.plan
    console.print(
        f"[bold]{safe(plan.endpoint.model)}[/] at {safe(redacted_url(plan.endpoint.url))}"
        + (f" ({safe(result.server)})" if result.server else "")
        + ": "
        f"{plan.input_tokens} in / "
        f"{plan.output_tokens} out; prompt lengths: {result.prompt_calibration}; seed "
        f"{plan.seed}; "
        + (
            f"every prompt opens with the same {result.shared_prefix} tokens"
            if result.shared_prefix
            else "no two prompts share a prefix"
        )
    )
    if result.workers > 1 or result.clients == "ray":
        kind = "Ray actors" if result.clients == "ray" else "client processes"
        where = f" on {', '.join(result.hosts)}" if result.hosts else ""
        console.print(
            safe(
                f"Clients: {result.workers} {kind}{where}; their clocks were within "
                f"{result.clock_offset_ms:,.2f} ms of this one's"
            )
        )
    _print_levels(result.levels, console)
    if stopped:
        why = f" ({result.stop_reason})" if result.stop_reason else ""
        console.print(
            f"[yellow]Stopped early{why}: the levels above hold what was measured; the requests "
            "in flight are counted as interrupted (as lost, where their worker died), and the "
            "outputs are marked partial.[/]"
        )
    failed = {k: n for k, n in result.outcomes.items() if k != "ok"}
    if failed:
        shown = ", ".join(f"{n} {kind}" for kind, n in sorted(failed.items()))
        console.print(f"[yellow]Requests that failed: {shown}.[/]")
    if out is not None:
        console.print(safe(f"Curve rows: {out}; per-request records: {jsonl}"))
        console.print(safe(next_steps(out, len(result.levels))))


def next_steps(out: Path, levels: int) -> str:
    """What to do with the curve rows: calibrate where there are enough levels to fit, else
    plan with them as measured points and say how many levels calibrating needs."""
    from llmsize.perf.fit import MIN_ROWS

    if levels >= MIN_ROWS:
        return (
            f"Next: llmsize calibrate {out} --out params.yaml, then llmsize plan USECASE.yaml "
            f"--bench {out} --calibration params.yaml"
        )
    return (
        f"Next: llmsize plan USECASE.yaml --bench {out}; to calibrate the model on this server, "
        f"measure at least {MIN_ROWS} levels (e.g. --concurrency 1,4,16)"
    )


def _print_levels(levels: Sequence[Measured], console: Console) -> None:
    """The per-level table `bench` prints live and `show` prints from a saved run."""
    table = SafeTable(box=box.SIMPLE_HEAD)
    for column in (
        "level",
        "requests",
        "errors",
        "req/s",
        "tok/s",
        "TTFT p50",
        "TTFT p95",
        "ITL p50",
        "ITL p95",
        "E2E p50",
        "E2E p95",
        "client lag p99",
    ):
        table.add_column(column, justify="left" if column == "level" else "right")
    for m in levels:
        r = m.run
        table.add_row(
            r.level_label,
            str(r.requests),
            str(r.errors),
            f"{r.achieved_rps:,.2f}",
            f"{r.output_tokens_per_s:,.0f}",
            f"{r.ttft_ms.p50:,.1f}",
            f"{r.ttft_ms.p95:,.1f}",
            f"{r.itl_ms.p50:,.2f}",
            f"{r.itl_ms.p95:,.2f}",
            f"{r.e2e_ms.p50:,.0f}",
            f"{r.e2e_ms.p95:,.0f}",
            f"{m.dispatch_lag_ms['p99']:,.2f}",
        )
    console.print(table)
    console.print(
        "Latencies in ms (measured). client lag: scheduled send (a closed loop: the previous "
        "answer's end) to request written."
    )
    for m in levels:
        if m.unreliable:
            console.print(
                f"[yellow]{m.run.load} {m.run.load_value:g} is unreliable: {safe(m.unreliable)}[/]"
            )
    for m in levels:
        if m.errors_by_kind:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(m.errors_by_kind.items()))
            console.print(f"  errors at {m.run.level_label}: {kinds}")


def render_show(path: Path, levels: Sequence[Measured], console: Console) -> None:
    """A saved run, recomputed from its per-request records."""
    console.print(f"[bold]{safe(path)}[/]: {sum(m.run.requests for m in levels)} answered requests")
    _print_levels(levels, console)
