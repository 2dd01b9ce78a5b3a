"""One configuration for people: latencies, throughput, memory, and the source of each."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from llmsize.perf.results import DisaggregatedResult, EstimateResult
from llmsize.report.console import SafeTable, safe


def _fmt(value: float | None, unit: str, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f} {unit}"


def render_estimate(r: EstimateResult, console: Console) -> None:
    span = f"({r.servers_per_replica} servers per replica) " if r.servers_per_replica > 1 else ""
    console.print(
        f"[bold]{safe(r.model)}[/] on {safe(r.server)}: {r.precision} {r.layout or f'TP{r.tp}'} "
        f"{span}{'batch' if r.mode == 'static' else 'concurrency'} {r.batch}, "
        f"{r.input_tokens:,} in / {r.output_tokens:,} out ({r.mode})"
    )
    table = _latency_grid(r.ttft_ms, r.itl_ms, r.e2e_ms)
    table.add_row("req/s per server", _fmt(r.rps_per_server, "", 2))
    table.add_row("output tok/s per GPU", _fmt(r.output_tokens_per_s_per_gpu, "", 0))
    table.add_row(
        "memory per GPU",
        f"{r.memory_needed_gib_per_gpu:,.1f} GiB needed of {r.memory_usable_gib_per_gpu:,.1f} "
        f"GiB usable (weights {r.weights_gib_per_gpu:,.1f} GiB, KV "
        f"{r.kv_gib_per_sequence:,.2f} GiB per sequence in {r.kv_precision or '?'}); max batch "
        f"{r.max_batch:,}",
    )
    if r.math:
        table.add_row("math", r.math)
    fits = Text("yes") if r.fits else Text.assemble(("no", "red"), f": {r.reason}")
    table.add_row("fits", fits)
    table.add_row("data", f"{r.provenance}: {r.source}")
    if r.typical_error:
        table.add_row("accuracy", r.typical_error)
    console.print(table)


def render_disaggregated(r: DisaggregatedResult, console: Console) -> None:
    """`estimate --prefill --decode`: the two pools, the latencies, and where the time goes."""
    console.print(
        f"[bold]{safe(r.model)}[/] disaggregated, {r.precision} under {safe(r.engine)}: "
        f"closed loop of {r.concurrency:,} requests, {r.input_tokens:,} in / "
        f"{r.output_tokens:,} out"
    )
    pools = SafeTable(box=box.SIMPLE_HEAD)
    for column in ("pool", "GPU", "server", "layout", "workers", "batch per rank", "GPUs"):
        pools.add_column(column, justify="left" if column in ("pool", "layout") else "right")
    for name, pool in (("prefill", r.prefill), ("decode", r.decode)):
        batch = "engine's" if pool.batch is None else f"{pool.batch:,}"
        pools.add_row(
            name, pool.gpu, pool.server, pool.layout, f"{pool.workers}", batch, f"{pool.gpus}"
        )
    console.print(pools)
    table = _latency_grid(r.ttft_ms, r.itl_ms, r.e2e_ms)
    table.add_row("req/s", _fmt(r.deployment_rps, "", 2))
    table.add_row(
        "output tok/s",
        f"{r.output_tokens_per_s:,.0f} ({r.output_tokens_per_s_per_gpu:,.0f} per GPU of {r.gpus})",
    )
    table.add_row("KV transfer", f"{r.transfer_ms:,.2f} ms per prompt over {r.kv_link}")
    table.add_row(
        "pace",
        f"set by {r.bottleneck}; a decode worker runs {r.decode_batch:,.0f} sequences a step, a "
        f"prefill worker {r.prefill_group:,.0f} prompts a pass",
    )
    table.add_row("data", f"{r.provenance}: prefill {r.prefill.source}; decode {r.decode.source}")
    table.add_row("accuracy", r.typical_error)
    console.print(table)


def _latency_grid(ttft_ms: float | None, itl_ms: float | None, e2e_ms: float | None) -> Table:
    """A two-column grid opening with the three latencies; the caller adds the rest."""
    table = SafeTable.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("TTFT", _fmt(ttft_ms, "ms"))
    table.add_row("ITL", _fmt(itl_ms, "ms", 2))
    table.add_row("E2E", _fmt(e2e_ms, "ms", 0))
    return table
