"""The plan as one versioned JSON document (schema_version bumps on any breaking change)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmsize import __version__
from llmsize.economics import PlanCost
from llmsize.perf.estimate import INTERVAL, Estimate
from llmsize.report.documents import SCHEMA_VERSION, whole_numbers
from llmsize.search import PlanResult, ServerPlan, servers_needed
from llmsize.search.steady import servers_range
from llmsize.usecase import Resolved

if TYPE_CHECKING:  # both searches load the twin: not for a plan that ran neither
    from llmsize.search.disaggregated import DisaggregatedOption
    from llmsize.search.simulated import SimulatedChoice, SimulatedPlan


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def estimate_doc(plan: ServerPlan, estimate: Estimate, peak_rps: float) -> dict[str, Any]:
    span = servers_range(peak_rps, estimate)
    return {
        "server": plan.server.id,
        "gpu": plan.gpu.id,
        "servers": servers_needed(peak_rps, estimate.rps_per_server, estimate.servers_per_replica),
        "servers_low": span[0] if span else None,
        "servers_high": span[1] if span else None,
        "interval": INTERVAL if span else None,
        "range_note": estimate.range_note or None,
        "gpus_per_server": plan.server.gpus,
        "precision": estimate.precision,
        "tp": estimate.tp,
        "pp": estimate.pp,
        "layout": estimate.layout.label if estimate.layout is not None else None,
        "servers_per_replica": estimate.servers_per_replica,
        "batch": estimate.batch,
        "mode": estimate.mode,
        "ttft_ms": _round(estimate.ttft_ms),
        "itl_ms": _round(estimate.itl_ms),
        "e2e_ms": _round(estimate.e2e_ms),
        "rps_per_server": _round(estimate.rps_per_server, 4),
        "provenance": estimate.provenance,
        "source": estimate.source,
        "citations": list(estimate.citations),
        "note": estimate.note or None,
        "error_pct": estimate.error_pct,
    }


def _alternative(
    plan: ServerPlan, peak_rps: float, cost: PlanCost | None, answered: tuple[int, str] | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "server": plan.server.id,
        "gpu": plan.gpu.id,
        "status": plan.status.value,
    }
    if plan.best is not None:
        doc.update(estimate_doc(plan, plan.best, peak_rps))
    if answered is not None:  # the count the plan answers this type with, and costs price
        doc["answered_servers"], doc["answered_by"] = answered
    if cost is not None and cost.per_month_usd is not None:
        doc["cost_per_month_usd"] = round(cost.per_month_usd, 2)
        doc["usd_per_million_output_tokens"] = round(cost.usd_per_million_output_tokens or 0, 4)
        doc["server_usd_per_hour"] = cost.server_usd_per_hour
        doc["server_price_source"] = cost.server_price_source
        doc["billed_hours_per_day"] = cost.billed_hours_per_day
    doc["feasible_configs"] = len(plan.feasible)
    doc["rejected"] = [
        {
            "config": r.estimate.label,
            "broken": [str(b) for b in r.broken],
            "provenance": r.estimate.provenance,
        }
        for r in plan.rejected
    ]
    doc["reasons"] = plan.reasons
    return doc


def _headline(result: PlanResult) -> dict[str, Any] | None:
    """The one answer the plan leads with: replayed in the twin, or the Poisson-peak rule's."""
    h = result.headline
    if h is None:
        return None
    return {
        "method": h.method,
        "server": h.server,
        "servers": h.servers,
        "servers_low": h.span[0] if h.span else None,
        "servers_high": h.span[1] if h.span else None,
        "interval": INTERVAL if h.span else None,
        "config": h.config,
        "provenance": h.provenance,
        "source": h.source,
        "range_note": h.note or None,
    }


def simulated_document(sim: SimulatedPlan) -> dict[str, Any]:
    def choice(c: SimulatedChoice | None) -> dict[str, Any] | None:
        if c is None:
            return None
        return {
            "server": c.candidate.server.id,
            "gpu": c.candidate.gpu.id,
            "servers": c.servers,
            "precision": c.candidate.precision,
            "tp": c.candidate.tp,
            "layout": c.candidate.layout.label,
            "provenance": "simulated",
            "result": c.result.as_dict(),
        }

    rec = sim.recommendation
    return {
        "rate_rps": sim.rate,
        "rate_source": sim.rate_source,
        "percentile": sim.percentile,
        "simulations": sim.simulations,
        "recommendation": choice(rec.choice) if rec is not None else None,
        "alternatives": [
            {"server": s.server.id, "choice": choice(s.choice), "reasons": list(s.reasons)}
            for s in sim.per_server
        ],
    }


CSV_COLUMNS = (
    "server",
    "status",
    "servers",
    "gpu",
    "precision",
    "tp",
    "batch",
    "mode",
    "ttft_ms",
    "itl_ms",
    "e2e_ms",
    "rps_per_server",
    "provenance",
    "source",
    "cost_per_month_usd",
    "usd_per_million_output_tokens",
    "reasons",
)


def plan_csv(result: PlanResult) -> str:
    """One row per server type: the alternatives table of the JSON document."""
    import csv
    import io

    doc = plan_document(result)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for alt in doc["alternatives"]:
        writer.writerow({**alt, "reasons": "; ".join(alt.get("reasons") or [])})
    return buffer.getvalue()


def plan_document(result: PlanResult, max_servers: int | None = None) -> dict[str, Any]:
    uc = result.usecase
    rec = result.recommendation
    costs, api, rate = result.costs, result.api_cost, result.api_rate
    answered = result.answered
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": f"llmsize {__version__}",
        "name": uc.name,
        "model": uc.model.id,
        "peak_rps": uc.peak_rps,
        "avg_rps": uc.avg_rps,
        "peak_percentile": uc.peak_percentile,
        "peak_source": uc.peak_source,
        "batch_job": None
        if not uc.is_batch
        else {
            "requests_per_day": uc.batch_requests,
            "tokens_per_day": uc.batch_tokens,
            "window_hours": uc.window_hours,
        },
        "engine": result.engine,
        "batching": result.batching,
        "system_prompt_tokens": uc.system_prompt_tokens,
        "input_tokens": uc.input_tokens,
        "input_tokens_total": uc.input_tokens_total,
        "output_tokens": uc.output_tokens,
        "context_window": uc.model.context_window,
        "kv_precision": uc.kv_precision,  # null: each row's precision caches as it does
        "speculative": _speculative(uc),
        "sessions": None
        if uc.sessions is None
        else {
            "turns": uc.sessions.turns,
            "think_s": uc.sessions.think_s,
            "turn_input_tokens": uc.turn_input_tokens,
            "history_tokens": round(uc.history_tokens, 1),
        },
        "prefix_cache": None
        if uc.prefix is None and not uc.prefix_note
        else {
            "shared_tokens": uc.prefix.tokens if uc.prefix is not None else None,
            "hit_rate": uc.prefix.hit_rate if uc.prefix is not None else None,
            "prefilled_tokens": round(uc.prefilled_tokens, 1),
            "note": uc.prefix_note or None,
        },
        "limits": {
            "first_token_ms": uc.first_token_ms,
            "last_token_ms": uc.last_token_ms,
            "inter_token_ms": uc.inter_token_ms,
        },
        "recommendation": None,
        "latency_optimal": None,
        "alternatives": [
            _alternative(p, uc.peak_rps, costs.get(p.server.id), answered.get(p.server.id))
            for p in result.plans
        ],
        "api_cost": {
            "price": api.price.id,
            "price_source": api.price.source,
            "rate_rps": rate,
            "hours_per_day": uc.cost.hours_per_day,
            "per_day_usd": round(api.per_day_usd, 2),
            "per_month_usd": round(api.per_month_usd, 2),
            "cached_share": round(api.cached_share, 4),
            "cached_note": api.cached_note,
            "tier_note": api.tier_note,
        },
        "max_servers": max_servers,
        "warnings": list(result.warnings),
        "headline": _headline(result),
    }
    if result.simulated is not None:
        doc["simulated"] = simulated_document(result.simulated)
    if result.disaggregated:
        doc["disaggregated"] = [_disaggregated(result, option) for option in result.disaggregated]
        from llmsize.report.serving_modes import best, cheapest

        lowest, first = cheapest(result), best(result)
        doc["cheapest"] = lowest.as_dict() if lowest is not None else None
        doc["ranked_first"] = (
            {**first.as_dict(), "rank": result.rank} if first is not None else None
        )
    if rec is not None and rec.best is not None and rec.latency_optimal is not None:
        doc["recommendation"] = estimate_doc(rec, rec.best, uc.peak_rps)
        doc["latency_optimal"] = estimate_doc(rec, rec.latency_optimal, uc.peak_rps)
    return whole_numbers(doc)  # type: ignore[no-any-return]


def _speculative(uc: Resolved) -> dict[str, object] | None:
    spec = uc.speculation
    if spec is None:
        return {"note": uc.speculation_note} if uc.speculation_note else None
    return {
        "drafter": spec.method,
        "draft_tokens": spec.draft_tokens,
        "acceptance_rate": spec.acceptance_rate,
        "acceptance_source": spec.rate_source,
        "tokens_per_step": round(spec.tokens_per_step, 4),
        "draft_share": round(spec.draft_share, 5),
    }


def _disaggregated(result: PlanResult, option: DisaggregatedOption) -> dict[str, Any]:
    """plan --disaggregated: one server type's prefill/decode deployment, or why none."""
    from llmsize.report.plan_table import disaggregated_accuracy

    c = option.choice
    decode_server = option.decode_server.id if option.decode_server is not None else None
    if c is None:
        return {
            "server": option.server.id,
            "decode_server": decode_server,
            "servers": None,
            "reason": option.reason,
        }
    t = c.times
    cost = option.cost
    priced = cost is not None and cost.per_month_usd is not None
    return {
        "server": option.server.id,
        "decode_server": decode_server,
        "servers": c.servers,
        "servers_by_type": {box.id: n for box, n in (option.answer or c).counts},
        "cost_per_month_usd": round(cost.per_month_usd or 0, 2) if priced and cost else None,
        "usd_per_million_output_tokens": (
            round(cost.usd_per_million_output_tokens or 0, 4) if priced and cost else None
        ),
        "server_price_source": cost.server_price_source if priced and cost else None,
        "gpus": c.gpus,
        "precision": c.precision,
        "prefill": {"layout": c.prefill.label, "workers": c.units * c.prefill_workers},
        "decode": {"layout": c.decode.label, "workers": c.units * c.decode_workers},
        "concurrency": c.units * c.concurrency_per_unit,
        "ttft_ms": round(t.ttft_ms, 2),
        "itl_ms": round(t.itl_ms, 3),
        "e2e_ms": round(t.e2e_ms, 1),
        "kv_link": c.kv_link,
        "bottleneck": t.bottleneck,
        "provenance": "modelled",
        "typical_error": disaggregated_accuracy(result, option),
        "reason": "",
        "replayed": None if option.replayed is None else option.replayed.as_dict(),
        "replayed_servers": option.replayed_servers or None,
        "replayed_units": option.replayed_units or None,
        "broken": [str(m) for m in option.misses],
    }
