"""plan --disaggregated: the cheapest priced deployment of all the plan found, aggregated or
disaggregated (pools on one server type or on two), in one line and one JSON object."""

from __future__ import annotations

from dataclasses import dataclass

from llmsize.search import PlanResult


@dataclass(frozen=True, slots=True)
class Priced:
    """One deployment the plan found, with its monthly cost."""

    serving_mode: str  # "aggregated" or "disaggregated"
    where: str  # the server type, or 'prefill type + decode type'
    servers_by_type: dict[str, int]
    per_month_usd: float
    method: str  # "replay" (the twin's count) or "peak" (the steady state's)

    @property
    def servers(self) -> int:
        return sum(self.servers_by_type.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "serving_mode": self.serving_mode,
            "servers": self.servers,
            "servers_by_type": self.servers_by_type,
            "cost_per_month_usd": round(self.per_month_usd, 2),
            "method": self.method,
        }


def priced(result: PlanResult) -> list[Priced]:
    """Every answer whose servers have prices: each server type's aggregated count (the
    replayed one where the twin found one that keeps every limit) and every disaggregated
    answer that keeps them (replayed, or the steady state's where it was not replayed)."""
    replayed = {}
    if result.simulated is not None:
        replayed = {
            s.server.id: s.choice.servers
            for s in result.simulated.per_server
            if s.choice is not None and not s.choice.broken
        }
    found = []
    for plan in result.plans:
        cost = result.costs.get(plan.server.id)
        if not plan.servers or cost is None or cost.per_month_usd is None:
            continue
        n = replayed.get(plan.server.id, plan.servers)
        method = "replay" if plan.server.id in replayed else "peak"
        per_server = cost.per_month_usd / plan.servers
        counts = {plan.server.id: n}
        found.append(Priced("aggregated", plan.server.id, counts, per_server * n, method))
    for option in result.disaggregated:
        answer, cost = option.answer, option.cost
        if answer is None or cost is None or cost.per_month_usd is None or option.misses:
            continue
        method = "replay" if option.replayed_units else "peak"
        counts = {box.id: n for box, n in answer.counts}
        found.append(Priced("disaggregated", option.where, counts, cost.per_month_usd, method))
    return found


def cheapest(result: PlanResult) -> Priced | None:
    """The lowest monthly cost of all priced answers (fewer servers first on a tie)."""
    return _lowest(priced(result))


def _lowest(found: list[Priced]) -> Priced | None:
    return min(found, key=lambda p: (p.per_month_usd, p.servers)) if found else None


def cheapest_words(result: PlanResult) -> str:
    """One line: the cheapest answer, and the cheapest of the other serving mode beside it."""
    found = priced(result)
    best = _lowest(found)
    if best is None:
        return ""
    other = _lowest([p for p in found if p.serving_mode != best.serving_mode])
    line = f"Cheapest priced deployment: {best.serving_mode} on {_words(best)}"
    if other is not None:
        line += f"; the cheapest {other.serving_mode} one: {_words(other)}"
    return line + "."


def _words(p: Priced) -> str:
    counts = " + ".join(f"{n} x {server}" for server, n in p.servers_by_type.items())
    how = "replayed" if p.method == "replay" else "steady state"
    return f"{counts}, ${p.per_month_usd:,.0f} a month ({how})"
