"""Simulated runs for people: the deployment, the latency distributions, the verdict."""

from __future__ import annotations

import math

from rich import box
from rich.console import Console
from rich.table import Table

from llmsize.bench.results import Measured
from llmsize.metrics import RunResult
from llmsize.report.console import SafeTable, safe
from llmsize.search.simulated import SimulatedPlan, SimulationResult


def latency_table(run: RunResult) -> Table:
    table = SafeTable(box=box.SIMPLE_HEAD, title="Latency (ms)", title_justify="left")
    table.add_column("")
    for column in ("mean", "p50", "p90", "p95", "p99"):
        table.add_column(column, justify="right")
    for label, dist in (("TTFT", run.ttft_ms), ("ITL", run.itl_ms), ("E2E", run.e2e_ms)):
        table.add_row(
            label, *(f"{getattr(dist, c):,.1f}" for c in ("mean", "p50", "p90", "p95", "p99"))
        )
    return table


def render_simulation(result: SimulationResult, console: Console) -> None:
    d, t, run = result.deployment, result.traffic, result.run
    load = (
        f"Poisson {t['rate']:g} req/s"
        if t["rate"] is not None
        else f"closed loop, concurrency {t['concurrency']}"
        if t["concurrency"] is not None
        else f"trace {t['trace']}"
    )
    if d.get("serving_mode") == "disaggregated":
        p, q = d["prefill"], d["decode"]
        assert isinstance(p, dict) and isinstance(q, dict)
        what = (
            f"disaggregated: {d['layout']}, {d['units']} unit(s), the KV cache "
            f"over {d['kv_link']}; KV cache {p['kv_capacity_tokens_per_replica']:,} tokens a "
            f"prefill worker, {q['kv_capacity_tokens_per_replica']:,} a decode worker"
        )
    else:
        what = (
            f"{d['precision']} {d.get('layout') or 'TP' + str(d['tp'])}, {d['replicas']} "
            f"replicas, KV cache {d['kv_capacity_tokens_per_replica']:,} tokens each"
        )
    console.print(
        f"[bold]{safe(result.name)}[/]: {d['servers']} x {safe(d['server'])} ({what}), "
        f"{load}, {t['requests']:,} requests (first {t['warmup']:,} not measured), seed {t['seed']}"
    )
    console.print(latency_table(run))
    goodput = "—" if run.goodput is None else f"{run.goodput:.1%}"
    console.print(
        f"throughput {run.achieved_rps:,.2f} req/s, {run.output_tokens_per_s:,.0f} output tok/s; "
        f"goodput {goodput}; mean batch {run.mean_batch or 0:,.1f}, mean queue "
        f"{run.mean_queue or 0:,.1f} per replica; preemptions {run.preemptions:,}"
        + (f"; {run.errors:,} requests never fit" if run.errors else "")
    )
    if run.cached_token_share is not None:
        hits = "" if run.prefix_hit_rate is None else f"{run.prefix_hit_rate:.1%} of requests, "
        console.print(
            f"prefix cache: {hits}{run.cached_token_share:.1%} of prompt tokens served from it"
        )
    console.print(f"step times: {safe(d['step_times'])} (modelled, simulated)")
    q = f"p{round(result.percentile * 100)}"
    if result.broken:
        console.print(
            f"[bold red]Misses the limits at {q}:[/] " + "; ".join(map(str, result.broken))
        )
    else:
        console.print(f"[bold green]Every limit holds at {q}.[/]")


def simulated_plan_table(plan: SimulatedPlan) -> Table:
    q = f"p{round(plan.percentile * 100)}"
    table = SafeTable(
        box=box.SIMPLE_HEAD,
        title=(
            f"Digital twin: in-flight batching, Poisson {plan.rate:g} req/s "
            f"({plan.rate_source}), limits at {q}"
        ),
        title_justify="left",
    )
    for column in (
        "server",
        "servers",
        "config",
        f"TTFT {q}",
        f"ITL {q}",
        f"E2E {q}",
        "goodput",
        "data",
    ):
        table.add_column(
            column, justify="right" if column not in ("server", "config", "data") else "left"
        )
    rows = sorted(
        plan.per_server, key=lambda s: (s.choice is None, s.choice.servers if s.choice else 0)
    )
    for s in rows:
        c = s.choice
        if c is None:
            reason = s.reasons[-1] if s.reasons else "nothing fits"
            table.add_row(s.server.id, "—", reason[:60], "", "", "", "", "")
            continue
        r = c.result
        table.add_row(
            s.server.id,
            str(c.servers),
            c.candidate.label,
            f"{r.ttft_ms.at(plan.percentile):,.0f}",
            f"{r.itl_ms.at(plan.percentile):,.1f}",
            f"{r.e2e_ms.at(plan.percentile):,.0f}",
            f"{(r.goodput or 0):.1%}",
            "simulated (model)",
        )
    return table


def render_measured_beside(
    result: SimulationResult, label: str, measured: Measured, console: Console
) -> None:
    """Simulated against measured, metric by metric, with the simulation's relative error: the
    check that the twin describes this deployment before its answer is trusted."""
    table = SafeTable(box=box.SIMPLE_HEAD, title=f"Simulated vs {label} (ms)", title_justify="left")
    for column in ("", "simulated p50", "measured p50", "error", "simulated p95", "measured p95"):
        table.add_column(column, justify="left" if not column else "right")
    sim = result.run
    run = measured.run
    for name, s, m in (
        ("TTFT", sim.ttft_ms, run.ttft_ms),
        ("ITL", sim.itl_ms, run.itl_ms),
        ("E2E", sim.e2e_ms, run.e2e_ms),
    ):
        error = f"{(s.p50 - m.p50) / m.p50:+.0%}" if m.count and m.p50 else "-"
        table.add_row(
            name, f"{s.p50:,.1f}", f"{m.p50:,.1f}", error, f"{s.p95:,.1f}", f"{m.p95:,.1f}"
        )
    console.print(table)
    mismatches = []
    simulated_replicas = result.deployment.get("replicas")
    if simulated_replicas != 1:
        mismatches.append(
            f"{simulated_replicas} simulated replicas against one measured endpoint "
            "(--replicas 1, or measure the same fleet)"
        )
    if run.load != sim.load or run.load_value != sim.load_value:
        mismatches.append(f"traffic {run.level_label} vs {sim.level_label}")
    for key, value in (
        ("input_tokens", measured.mean_prompt_tokens),
        ("output_tokens", measured.mean_output_tokens),
    ):
        spread = result.traffic.get(key)
        simulated = float(spread.get("mean", math.nan)) if isinstance(spread, dict) else math.nan
        if not math.isclose(value, simulated, rel_tol=0.1):
            mismatches.append(f"{key} {value:g} measured vs {simulated:g} simulated")
    if mismatches:
        console.print(
            "[yellow]Not the same experiment (" + "; ".join(mismatches) + "): match the "
            "use case and traffic to the measured run before reading the error.[/]"
        )


def render_seed_spread(result: SimulationResult, console: Console) -> None:
    """The limits' percentiles across the --seeds replays: how much one seed's answer moves."""
    q = result.percentile
    name = f"p{round(q * 100)}"
    runs = result.seed_runs
    table = SafeTable(box=box.SIMPLE_HEAD, title=f"Across {len(runs)} seeds", title_justify="left")
    for column in ("", "lowest", "median seed", "highest"):
        table.add_column(column, justify="left" if not column else "right")
    for label, values in _seed_rows(result):
        ordered = sorted(values)
        middle = ordered[len(ordered) // 2]
        table.add_row(label, *(f"{v:,.1f}" for v in (ordered[0], middle, ordered[-1])))
    console.print(table)
    missed = [s for s, _, m in runs if m]
    first, last = runs[0][0], runs[-1][0]
    console.print(
        f"seeds {first}–{last}: "
        + (
            f"[red]{len(missed)} of {len(runs)} miss a limit at {name}[/] (seeds "
            f"{', '.join(map(str, missed[:10]))}{', ...' if len(missed) > 10 else ''})"
            if missed
            else f"every one keeps the limits at {name}"
        )
    )


def _seed_rows(result: SimulationResult) -> list[tuple[str, list[float]]]:
    q = result.percentile
    name = f"p{round(q * 100)}"
    runs = [r for _, r, _ in result.seed_runs]
    return [
        (f"TTFT {name} ms", [r.ttft_ms.at(q) for r in runs]),
        (f"ITL {name} ms", [r.itl_ms.at(q) for r in runs]),
        (f"E2E {name} ms", [r.e2e_ms.at(q) for r in runs]),
        ("goodput %", [100 * (r.goodput or 0.0) for r in runs]),
        ("req/s", [r.achieved_rps for r in runs]),
    ]
