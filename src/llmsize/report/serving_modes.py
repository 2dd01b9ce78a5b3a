"""plan --disaggregated: every answer the plan found, aggregated or disaggregated (pools on one
server type or on two), compared as the plan's --rank compares server types (fewest servers,
lowest cost, lowest latency) and by price, in a line and two JSON objects."""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmsize.search import PlanResult
from llmsize.search.steady import rank_key


@dataclass(frozen=True, slots=True)
class Answer:
    """One deployment the plan found: its servers, monthly cost and primary latency."""

    serving_mode: str  # "aggregated" or "disaggregated"
    where: str  # the server type, or 'prefill type + decode type'
    servers_by_type: dict[str, int]
    gpus: int
    per_month_usd: float | None  # None: a type it uses has no price
    latency_ms: float  # the use case's primary latency, the steady state's mean
    method: str  # "replay" (the twin's count) or "peak" (the steady state's)

    @property
    def servers(self) -> int:
        return sum(self.servers_by_type.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "serving_mode": self.serving_mode,
            "servers": self.servers,
            "servers_by_type": self.servers_by_type,
            "cost_per_month_usd": (
                None if self.per_month_usd is None else round(self.per_month_usd, 2)
            ),
            "method": self.method,
        }


def answers(result: PlanResult) -> list[Answer]:
    """Every answer that keeps the limits: each server type's aggregated count (the replayed
    one where the twin found one that keeps every limit) and every disaggregated answer that
    keeps them (replayed, or the steady state's where it was not replayed)."""
    answered = result.answered
    metric = result.primary_metric
    found = []
    for plan in result.plans:
        if plan.server.id not in answered or plan.best is None:
            continue
        n, method = answered[plan.server.id]
        cost = result.costs.get(plan.server.id)
        latency = getattr(plan.best, metric)
        found.append(
            Answer(
                "aggregated",
                plan.server.id,
                {plan.server.id: n},
                n * plan.server.gpus,
                None if cost is None else cost.per_month_usd,
                math.inf if latency is None else float(latency),
                method,
            )
        )
    for option in result.disaggregated:
        answer = option.answer
        if answer is None or option.misses:
            continue
        cost = option.cost
        found.append(
            Answer(
                "disaggregated",
                option.where,
                {box.id: n for box, n in answer.counts},
                sum(n * box.gpus for box, n in answer.counts),
                None if cost is None else cost.per_month_usd,
                float(getattr(answer.times, metric)),
                "replay" if option.replayed_units else "peak",
            )
        )
    return found


def ranked_first(found: list[Answer], rank: str) -> Answer | None:
    """The answer --rank puts first, by the order the plan ranks server types by (rank_key)."""
    if not found:
        return None
    return min(
        found, key=lambda a: rank_key(rank, a.servers, a.gpus, a.per_month_usd, a.latency_ms)
    )


def cheapest(result: PlanResult) -> Answer | None:
    """The lowest monthly cost of all priced answers (fewer servers first on a tie)."""
    return ranked_first([a for a in answers(result) if a.per_month_usd is not None], "cost")


def best(result: PlanResult) -> Answer | None:
    """The answer the plan's --rank puts first over both serving modes."""
    return ranked_first(answers(result), result.rank)


def across_words(result: PlanResult) -> str:
    """Two lines: the --rank pick over both serving modes (and the other mode's first beside
    it), then the cheapest priced answer where --rank is not cost."""
    found = answers(result)
    first = ranked_first(found, result.rank)
    if first is None:
        return ""
    other = ranked_first([a for a in found if a.serving_mode != first.serving_mode], result.rank)
    line = f"First by --rank {result.rank} of both serving modes: {_words(first, result)}"
    if other is not None:
        line += f"; the first {other.serving_mode} one: {_words(other, result)}"
    lines = [line + "."]
    priced = [a for a in found if a.per_month_usd is not None]
    lowest = ranked_first(priced, "cost")
    if result.rank != "cost" and lowest is not None:
        other = ranked_first([a for a in priced if a.serving_mode != lowest.serving_mode], "cost")
        line = f"Cheapest priced deployment: {_words(lowest, result)}"
        if other is not None:
            line += f"; the cheapest {other.serving_mode} one: {_words(other, result)}"
        lines.append(line + ".")
    return "\n".join(lines)


def _words(a: Answer, result: PlanResult) -> str:
    counts = " + ".join(f"{n} x {server}" for server, n in a.servers_by_type.items())
    how = "replayed" if a.method == "replay" else "steady-state count"
    cost = "" if a.per_month_usd is None else f", ${a.per_month_usd:,.0f} a month"
    name = result.primary_metric.removesuffix("_ms").upper()
    digits = 1 if name == "ITL" else 0
    latency = f"{a.latency_ms:,.{digits}f}"
    return f"{a.serving_mode} on {counts} ({how}){cost}, modelled mean {name} {latency} ms"
