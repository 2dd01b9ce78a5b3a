"""The plan as a self-contained Markdown report an architect can send to a customer: the
checklist, the assumptions, the peak derivation, the recommendation with its alternatives, the cost
comparison, pictures alongside, and the provenance of every number."""

from __future__ import annotations

from datetime import date

from llmsize import __version__
from llmsize.perf.estimate import Estimate
from llmsize.report.plan_table import (
    NO_LIMITS,
    batch_words,
    billed_words,
    engine_line,
    load_words,
    prefix_words,
    priced_words,
    range_words,
    session_words,
    speculation_words,
    why_they_differ,
)
from llmsize.search import PlanResult, servers_needed
from llmsize.search.steady import servers_range


def _ms(value: float | None) -> str:
    return "—" if value is None else (f"{value:,.1f}" if value < 100 else f"{value:,.0f}")


def _row(e: Estimate) -> str:
    return (
        f"{e.label} | {_ms(e.ttft_ms)} | {_ms(e.itl_ms)} | {_ms(e.e2e_ms)} | "
        f"{e.rps_per_server:,.2f} | {e.provenance} | {e.source}"
    )


def _twin(result: PlanResult) -> list[str]:
    """The digital twin's replay of each server type's best deployments at the use case's load."""
    sim = result.simulated
    assert sim is not None
    q = f"p{round(sim.percentile * 100)}"
    lines = [
        "",
        "## Replayed in the digital twin",
        "",
        f"Poisson arrivals at {sim.rate:g} requests/s ({sim.rate_source}), in-flight batching, "
        f"every limit checked at {q}; the fewest servers that keep it ({sim.simulations} "
        f"simulation{'s' if sim.simulations != 1 else ''}).",
        "",
        f"| server type | servers | configuration | TTFT {q} ms | ITL {q} ms | E2E {q} ms | "
        "goodput |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in sorted(sim.per_server, key=lambda s: (s.choice is None, s.server.id)):
        c = s.choice
        if c is None:
            why = s.reasons[-1] if s.reasons else "nothing fits"
            lines.append(f"| {s.server.id} | — | {why} | | | | |")
            continue
        r = c.result
        lines.append(
            f"| {s.server.id} | {c.servers} | {c.candidate.label} | "
            f"{r.ttft_ms.at(sim.percentile):,.0f} | {r.itl_ms.at(sim.percentile):,.1f} | "
            f"{r.e2e_ms.at(sim.percentile):,.0f} | {(r.goodput or 0):.1%} |"
        )
    if sim.recommendation is not None and sim.recommendation.choice is not None:
        lines += ["", why_they_differ(result)]
    return lines


def _disaggregated(result: PlanResult) -> list[str]:
    """plan --disaggregated: each server type's prefill/decode deployment beside its
    aggregated count."""
    from llmsize.report.plan_table import (
        cost_words,
        disaggregated_accuracy,
        replay_words,
        servers_words,
    )

    aggregated = {p.server.id: p.servers for p in result.plans if p.best is not None}
    lines = [
        "",
        "## Disaggregated alternative",
        "",
        "A prefill pool and a decode pool (the KV cache shipped between them), layouts and the "
        "prefill:decode ratio searched by the steady-state model at the peak (mean latencies, "
        "**modelled**), then replayed in the disaggregated twin at the use case's load "
        "(**simulated**: both pools in one event loop, sim/disaggregated.py).",
        "",
        "| server type | servers (aggregated) | deployment | TTFT ms | ITL ms | E2E ms | KV over "
        "| replayed in the disaggregated twin | cost (replayed servers) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    accuracy = [
        f"- {option.where}: {disaggregated_accuracy(result, option)}"
        for option in result.disaggregated
    ]
    for option in result.disaggregated:
        c = option.choice
        versus = aggregated.get(option.server.id) if option.decode_server is None else None
        beside = "—" if versus is None else f"{versus}"
        if c is None:
            lines.append(f"| {option.where} | — ({beside}) | none: {option.reason} | | | | | | |")
            continue
        t = c.times
        cost = cost_words(option) if option.cost and option.cost.per_month_usd else "—"
        lines.append(
            f"| {option.where} | {servers_words(c)} ({beside}) | {c.label}, {c.gpus} GPUs | "
            f"{t.ttft_ms:,.0f} | {t.itl_ms:,.1f} | {t.e2e_ms:,.0f} | {c.kv_link} | "
            f"{replay_words(option, result.usecase.percentile)} | {cost} |"
        )
    from llmsize.report.serving_modes import across_words

    line = across_words(result)
    across = ["", *line.split("\n")] if line else []
    return [
        *lines,
        *across,
        "",
        "Accuracy of the steady-state model, per server type:",
        "",
        *accuracy,
    ]


def plan_markdown(result: PlanResult, pictures: dict[str, str] | None = None) -> str:
    uc = result.usecase
    arch = uc.model
    lines = [
        f"# Sizing report: {uc.name}",
        "",
        f"Prepared with llmsize {__version__} on {date.today().isoformat()}. Every number below "
        "says where it comes from: **measured** (a published or your own measurement), "
        "**interpolated** (between measured lengths, log-log), **modelled** (the calibrated "
        "performance model, with its cross-validated error) or **simulated** (the digital twin).",
        "",
        "## The use case",
        "",
        "| item | value |",
        "|---|---|",
        f"| model | {arch.id} ({arch.name}; {arch.params / 1e9:,.1f} B parameters; "
        f"context {arch.context_window:,} tokens; source: {arch.source}) |",
        f"| input tokens | {uc.input_tokens_total:,} (system prompt {uc.system_prompt_tokens:,} + "
        f"input {uc.input_tokens:,}) |",
        f"| output tokens | {uc.output_tokens:,} |",
    ]
    for label, value in (
        ("first-token limit", uc.first_token_ms),
        ("last-token limit", uc.last_token_ms),
        ("inter-token limit", uc.inter_token_ms),
    ):
        if value is not None:
            lines.append(f"| {label} | {value:,g} ms |")
    if not uc.limits.any:
        lines.append(f"| latency limits | {NO_LIMITS} |")
    cached = prefix_words(uc)
    if cached is not None:
        lines.append(f"| prefix cache | {cached} |")
    drafting = speculation_words(uc)
    if drafting is not None:
        lines.append(f"| speculative decoding | {drafting} |")
    conversation = session_words(uc)
    if conversation is not None:
        lines.append(f"| sessions | {conversation} |")
    if uc.is_batch:
        lines.append(f"| load | {batch_words(uc)} |")
    elif uc.peak_source == "given":
        lines.append(f"| peak load | {uc.peak_rps:,g} req/s (given) |")
    else:
        assert uc.avg_rps is not None
        lines.append(
            f"| peak load | {uc.peak_rps:,g} req/s: the {uc.peak_percentile:.0%} quantile of a "
            f"Poisson distribution with mean {uc.avg_rps:,g} (the average), i.e. the busiest "
            f"second of 20 (+{(uc.peak_rps / uc.avg_rps - 1) * 100:.0f} %) |"
        )
    sized_for = "the job's requests / its window" if uc.is_batch else "peak"
    lines += [
        "",
        "## Assumptions",
        "",
        "- Words count as 1/0.75 tokens; the system prompt counts as input (GTC S62797).",
        "- Static batching as the NeMo inference sizing calculator assumes: TTFT is the prefill of "
        "the whole batch; E2E = TTFT + (output − 1) × ITL; requests/s per server = (GPUs / TP) × "
        "batch / E2E."
        if not any(p.best and p.best.mode == "inflight" for p in result.plans)
        else "- In-flight (continuous) batching at a fixed concurrency, as measured closed-loop.",
        *([f"- Engine: {engine_line(result.engine, result.batching)}."] if result.engine else []),
        f"- Servers = ceil({sized_for} / requests per second per server); where the model's "
        "error was measured, the range in brackets covers 90 % of its cross-validated outcomes.",
        "",
    ]
    rec = result.recommendation
    lines += ["## Recommendation", ""]
    headline = result.headline
    if headline is not None and headline.method == "replay":
        span = range_words(headline.span, headline.note)
        lines += [
            f"**{headline.servers} × {headline.server}**{span} ({headline.config}): the fewest "
            "servers whose replay in the digital twin keeps every limit at the use case's load "
            "(see below). The steady-state Poisson-peak answer:",
            "",
        ]
    if rec is None or rec.best is None:
        lines.append("**No configuration meets the limits.** Per server type:")
        lines.append("")
        for p in result.plans:
            for reason in p.reasons:
                lines.append(f"- {p.server.id}: {reason}")
    else:
        e = rec.best
        span = range_words(servers_range(uc.peak_rps, e), e.range_note)
        lines += [
            f"**{rec.servers} × {rec.server.id}**{span} ({rec.server.gpus} × {rec.gpu.id}), "
            f"configured {e.label}: {e.rps_per_server:,.2f} requests/s per server against "
            f"{load_words(uc)} ({e.provenance}; {e.source}).",
            "",
            "| | configuration | TTFT ms | ITL ms | E2E ms | req/s per server | data | source |",
            "|---|---|---|---|---|---|---|---|",
            f"| throughput-optimal | {_row(e)} |",
        ]
        fastest = rec.latency_optimal
        if fastest is not None:
            n = servers_needed(uc.peak_rps, fastest.rps_per_server, fastest.servers_per_replica)
            lines.append(f"| latency-optimal ({n} servers) | {_row(fastest)} |")
        if e.note:
            lines += ["", f"Note: {e.note}."]
    costs, answered = result.costs, result.answered
    lines += [
        "",
        "## Alternatives",
        "",
        "| server type | servers | configuration | TTFT ms | ITL ms | E2E ms | req/s per server "
        "| data | source | cost per month |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in sorted(result.plans, key=lambda p: (p.servers is None, p.servers or 0)):
        if p.best is None:
            why = "; ".join(p.reasons[:2])
            lines.append(f"| {p.server.id} | — | {p.status.words}: {why} | | | | | | | |")
            continue
        cost = costs.get(p.server.id)
        month = "—" if cost is None or cost.per_month_usd is None else f"${cost.per_month_usd:,.0f}"
        priced, _ = answered.get(p.server.id, (p.servers, ""))
        if month != "—" and priced != p.servers:
            month += f" ({priced} replayed)"
        span = range_words(servers_range(uc.peak_rps, p.best), p.best.range_note)
        lines.append(f"| {p.server.id} | {p.servers}{span} | {_row(p.best)} | {month} |")
    api, rate = result.api_cost, result.api_rate
    lines += [
        "",
        "## Cost",
        "",
        f"The same traffic ({rate:g} requests/s for {uc.cost.hours_per_day:g} hours a day) bought "
        f"from an API priced like {api.price.id}: ${api.input_per_day_usd:,.1f} (input) + "
        f"${api.output_per_day_usd:,.1f} (output) a day, ${api.per_month_usd:,.0f} a month "
        f"(prices: {api.price.source}){'; ' + api.notes if api.notes else ''}.",
        "",
    ]
    for server, c in costs.items():
        if c.per_month_usd is not None:
            lines.append(
                f"- {priced_words(result, server)}: ${c.per_month_usd:,.0f} a month at "
                f"{c.server_usd_per_hour:g} $/h"
                f"{billed_words(c)} "
                f"(${c.usd_per_million_output_tokens or 0:,.2f} per million output tokens; "
                f"{c.server_price_source})."
            )
    if not any(c.per_month_usd is not None for c in costs.values()):
        lines.append(
            "No server price is known for these types: add `cost.server_usd_per_hour` (or, "
            "on-prem, `cost.server_purchase_usd` and `cost.amortisation_months`)."
        )
    warnings = result.warnings
    if warnings:
        lines += ["", "## Watch out", ""] + [f"- {w}." for w in warnings]
    if result.simulated is not None:
        lines += _twin(result)
    if result.disaggregated:
        lines += _disaggregated(result)
    if pictures:
        lines += ["", "## Pictures", ""] + [f"![{k}]({v})" for k, v in pictures.items()]
    sources = dict.fromkeys(c for p in result.plans if p.best for c in p.best.citations)
    lines += ["", "## Sources", ""] + [f"- {s}" for s in sources] + [""]
    return "\n".join(lines)
