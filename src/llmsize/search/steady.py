"""From candidates to a plan: keep configurations within every limit, rank, count servers.

Per server type: the throughput-optimal configuration (most requests/s per server) and the
latency-optimal one (lowest latency on the use case's primary limit).
Servers = ceil(peak / per-server throughput). The recommendation is the server type needing
the fewest servers (then fewest GPUs, then lowest latency).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from llmsize.catalog import Catalog, Gpu, LlmArch, Server
from llmsize.checks import plan_warnings
from llmsize.deployment import Deployment
from llmsize.economics import ApiCost, PlanCost, plan_costs, usecase_api_cost
from llmsize.errors import InputError
from llmsize.limits import Breach, Limits
from llmsize.perf.estimate import Estimate, Lookup
from llmsize.perf.sources import PerfSource, lookup_each
from llmsize.usecase import Resolved

T = TypeVar("T")

if TYPE_CHECKING:
    from llmsize.search.disaggregated import DisaggregatedOption
    from llmsize.search.simulated import Ranked, ServerSimulation, SimulatedPlan


@dataclass(frozen=True, slots=True)
class Rejection:
    estimate: Estimate
    broken: tuple[Breach, ...]


class PlanStatus(StrEnum):
    """What became of one server type."""

    planned = "planned"
    infeasible = "infeasible"  # configurations ran, every one broke a limit
    does_not_fit = "does_not_fit"  # not even the widest layout holds the model
    no_data = "no_data"  # nothing measured and nothing modelled

    @property
    def words(self) -> str:
        return {"no_data": "no data", "does_not_fit": "does not fit"}.get(self.value, self.value)


@dataclass(frozen=True, slots=True)
class ServerPlan:
    """The answer for one server type: planned, infeasible (limits broken), does_not_fit (not
    even at the widest TP) or no_data (nothing measured and nothing modelled)."""

    server: Server
    gpu: Gpu
    status: PlanStatus
    servers: int | None
    best: Estimate | None
    latency_optimal: Estimate | None
    feasible: tuple[Estimate, ...]
    rejected: tuple[Rejection, ...]
    missing: tuple[str, ...]

    def deployment(self, model: LlmArch) -> Deployment | None:
        """The planned configuration as the shared deployment type: its servers' replicas of the
        best configuration's layout, batch and precision (None when nothing is planned or the
        measurement behind it did not state its TP)."""
        best = self.best
        if best is None or self.servers is None or best.layout is None:
            return None
        replicas = best.layout.replicas_on(self.servers, self.server.gpus)
        return Deployment.aggregated(
            model,
            self.server,
            self.gpu,
            best.layout,
            best.precision,
            workers=replicas,
            batch=best.batch,
            mode=best.mode,
        )

    @property
    def reasons(self) -> list[str]:
        """Why this server type has no plan, in words a user can act on."""
        if self.status in {PlanStatus.no_data, PlanStatus.does_not_fit}:
            return list(self.missing)
        if self.status == PlanStatus.infeasible:
            counts: dict[str, int] = {}
            for r in self.rejected:
                for b in r.broken:
                    counts[b.label] = counts.get(b.label, 0) + 1
            closest = min(self.rejected, key=lambda r: len(r.broken))
            summary = ", ".join(f"{n} broke the {k} limit" for k, n in counts.items())
            return [
                f"{len(self.rejected)} configurations measured; {summary}",
                f"closest: {closest.estimate.label}: {'; '.join(map(str, closest.broken))}",
            ]
        return []


@dataclass(frozen=True, slots=True)
class PlanResult:
    """Everything a plan shows: per server type, the recommendation, what it costs against an
    API, and the warnings — renderers only render it."""

    usecase: Resolved
    plans: tuple[ServerPlan, ...]
    recommendation: ServerPlan | None
    costs: dict[str, PlanCost]  # per planned server type
    api_cost: ApiCost  # the same traffic bought from an API
    api_rate: float  # the request rate that traffic is priced at (average, else peak)
    warnings: tuple[str, ...]
    simulated: SimulatedPlan | None = None  # plan --method simulate: the digital twin's answer
    disaggregated: tuple[DisaggregatedOption, ...] = ()  # plan --disaggregated, per server type
    engine: str = ""  # whose scheduler, memory rule and fit answered
    batching: str = ""  # "inflight" (continuous batching) or "static" (the talk's calculator)
    rank: str = "servers"  # what put the recommendation first (RANKS)

    @property
    def deployment(self) -> Deployment | None:
        """The recommendation as the shared deployment type."""
        if self.recommendation is None:
            return None
        return self.recommendation.deployment(self.usecase.model)

    @property
    def primary_metric(self) -> str:
        return self.usecase.limits.primary_metric

    @property
    def answered(self) -> dict[str, tuple[int, str]]:
        """Each server type's count the plan answers with, and how it was found: the twin's
        where it replayed that type ("replay"), else the steady state's ("peak"). Costs price
        these counts."""
        found = {
            p.server.id: (p.servers, "peak")
            for p in self.plans
            if p.status == PlanStatus.planned and p.servers
        }
        if self.simulated is not None:
            for s in self.simulated.per_server:
                if s.choice is not None:
                    found[s.server.id] = (s.choice.servers, "replay")
        return found

    def with_replay(self, simulated: SimulatedPlan) -> PlanResult:
        """This plan with the twin's answer beside it, each server type priced at the count it
        is answered with (the replayed one where the twin sized it)."""
        result = replace(self, simulated=simulated)
        by_id = {s.id: s for s in self.usecase.servers}
        counts = [(by_id[server], n) for server, (n, _) in result.answered.items()]
        result = replace(result, costs=plan_costs(self.usecase, counts))
        ranked = replace(simulated, recommendation=result._ranked_replay(simulated))
        return replace(result, simulated=ranked)

    def _ranked_replay(self, sim: SimulatedPlan) -> ServerSimulation | None:
        """The replayed server type --rank puts first: by its replayed count, GPUs, cost and
        the replay's percentile latency on the primary limit (`rank_key`)."""
        metric = self.primary_metric

        def key(s: ServerSimulation) -> tuple[float, ...]:
            assert s.choice is not None
            c, cost = s.choice, self.costs.get(s.server.id)
            month = cost.per_month_usd if cost is not None else None
            latency = getattr(c.result, metric).at(sim.percentile)
            return rank_key(self.rank, c.servers, c.servers * s.server.gpus, month, latency)

        return min((s for s in sim.per_server if s.choice is not None), key=key, default=None)

    @property
    def headline(self) -> Headline | None:
        """The one answer: where the plan was replayed, the replayed server type --rank puts
        first by its replayed count, cost and percentile latency; else the steady-state
        Poisson-peak recommendation."""
        sim = self.simulated
        picked = self._ranked_replay(sim) if sim is not None else None
        if picked is not None and picked.choice is not None:
            choice = picked.choice
            plan = next((p for p in self.plans if p.server.id == choice.candidate.server.id), None)
            best = _steady_estimate(plan, choice.candidate) if plan is not None else None
            span = _replayed_span(self.usecase.peak_rps, best, choice.servers)
            return Headline(
                "replay",
                choice.candidate.server.id,
                choice.servers,
                span,
                choice.candidate.label,
                best.range_note if best is not None else "",
                "simulated",
                best.source if best is not None else "",
            )
        rec = self.recommendation
        if rec is None or rec.best is None or rec.servers is None:
            return None
        return Headline(
            "peak",
            rec.server.id,
            rec.servers,
            servers_range(self.usecase.peak_rps, rec.best),
            rec.best.label,
            rec.best.range_note,
            rec.best.provenance,
            rec.best.source,
        )


def _steady_estimate(plan: ServerPlan, replayed: Ranked) -> Estimate | None:
    """The steady state's estimate of the layout and precision the twin replayed (its best
    batch within the limits), whose error range and source the replayed answer carries; the
    server type's best where the steady state found that layout nowhere within the limits."""
    same = [
        e
        for e in plan.feasible
        if e.layout == replayed.layout and e.precision == replayed.precision
    ]
    return max(same, key=lambda e: e.rps_per_server, default=plan.best)


def _replayed_span(peak_rps: float, best: Estimate | None, replayed: int) -> tuple[int, int] | None:
    """The replayed count's 90 % range: the steady state's fractional need (peak / rate),
    scaled to what the replay found, at both ends of the model's error range."""
    if best is None or best.rps_low is None or best.rps_high is None:
        return None
    steady = servers_needed(peak_rps, best.rps_per_server, best.servers_per_replica)
    need = peak_rps / best.rps_per_server * replayed / steady
    low, high = best.rps_low / best.rps_per_server, best.rps_high / best.rps_per_server
    return (
        min(replayed, max(1, math.ceil(need / high - 1e-9))),
        max(replayed, math.ceil(need / low - 1e-9)),
    )


@dataclass(frozen=True, slots=True)
class Headline:
    """The recommendation a plan leads with, how it was found and its 90 % range."""

    method: str  # "replay" (the digital twin at the use case's load) or "peak" (steady state)
    server: str
    servers: int
    span: tuple[int, int] | None  # fewest and most servers over the model's 90 % error range
    config: str
    note: str = ""  # the range's: "unvalidated", or how it was widened
    provenance: str = ""  # "simulated" (replayed on the model's step times), or the estimate's
    source: str = ""  # whose numbers: the calibration fit or the measurement's source ids


def broken_limits(estimate: Estimate, limits: Limits) -> tuple[Breach, ...]:
    """The limits a configuration's steady-state latencies break."""
    return limits.breaches(estimate.ttft_ms, estimate.itl_ms, estimate.e2e_ms)


def servers_needed(peak_rps: float, rps_per_server: float, per_replica: int = 1) -> int:
    """Whole servers for the peak, in whole replicas when a replica spans `per_replica`
    servers; a hair of float noise never buys an extra server."""
    replica_rps = rps_per_server * per_replica
    return per_replica * max(1, math.ceil(peak_rps / replica_rps - 1e-9))


def servers_range(peak_rps: float, estimate: Estimate) -> tuple[int, int] | None:
    """The server count at the ends of the rate's 90 % range (fewest, most), where the estimate
    has one (modelled, and validated where it was fitted)."""
    if estimate.rps_low is None or estimate.rps_high is None:
        return None
    span = estimate.servers_per_replica
    return (
        servers_needed(peak_rps, estimate.rps_high, span),
        servers_needed(peak_rps, estimate.rps_low, span),
    )


def _latency(estimate: Estimate, metric: str) -> float:
    value = getattr(estimate, metric)
    return float(value) if value is not None else math.inf


def pick_optimal(
    estimates: Sequence[Estimate], limits: Limits, metric: str
) -> tuple[tuple[Estimate, ...], Estimate | None, Estimate | None]:
    """Configurations within every limit, the throughput-optimal and the latency-optimal one."""
    feasible = tuple(e for e in estimates if not broken_limits(e, limits))
    if not feasible:
        return feasible, None, None
    best = max(feasible, key=lambda e: (e.rps_per_server, -_latency(e, metric)))
    fastest = min(feasible, key=lambda e: (_latency(e, metric), -e.rps_per_server))
    return feasible, best, fastest


def frontier(estimates: Sequence[Estimate], metric: str) -> tuple[Estimate, ...]:
    """The latency-throughput frontier: configurations no other beats on both latency and
    throughput, by increasing latency."""
    return pareto_front(estimates, lambda e: _latency(e, metric), lambda e: e.rps_per_server)


def pareto_front(
    items: Iterable[T], latency: Callable[[T], float], rate: Callable[[T], float]
) -> tuple[T, ...]:
    """The items no other beats on both latency (lower) and rate (higher), by increasing
    latency."""
    front: list[T] = []
    for item in sorted(items, key=lambda i: (latency(i), -rate(i))):
        if not front or rate(item) > rate(front[-1]):
            front.append(item)
    return tuple(front)


def plan_server(usecase: Resolved, server: Server, gpu: Gpu, perf: PerfSource) -> ServerPlan:
    lookup = _lookup(usecase, server, gpu, perf)
    feasible: list[Estimate] = []
    rejected: list[Rejection] = []
    for estimate in lookup.estimates:
        broken = broken_limits(estimate, usecase.limits)
        if broken:
            rejected.append(Rejection(estimate, broken))
        else:
            feasible.append(estimate)
    if not feasible:
        status = PlanStatus.infeasible if rejected else PlanStatus.no_data
        if not rejected and lookup.too_big and not lookup.estimates:
            status = PlanStatus.does_not_fit
        return ServerPlan(
            server, gpu, status, None, None, None, (), tuple(rejected), lookup.missing
        )
    _, best, fastest = pick_optimal(feasible, usecase.limits, usecase.limits.primary_metric)
    assert best is not None and fastest is not None
    return ServerPlan(
        server=server,
        gpu=gpu,
        status=PlanStatus.planned,
        servers=servers_needed(usecase.peak_rps, best.rps_per_server, best.servers_per_replica),
        best=best,
        latency_optimal=fastest,
        feasible=tuple(feasible),
        rejected=tuple(rejected),
        missing=lookup.missing,
    )


RANKS = ("servers", "cost", "latency")
"""How `plan` picks its recommendation among the server types that meet the limits."""


def rank_key(
    rank: str, servers: float, gpus: float, per_month_usd: float | None, latency_ms: float
) -> tuple[float, ...]:
    """The one --rank order, for server types and for serving modes alike: fewest servers
    (then GPUs, cost, latency: of equal deployments a buyer takes the cheaper, since both keep
    the limits), lowest monthly cost (then servers, GPUs, latency) or lowest primary latency
    (then servers, GPUs, cost); an unknown price ranks after every known one."""
    price = math.inf if per_month_usd is None else per_month_usd
    if rank == "cost":
        return (price, servers, gpus, latency_ms)
    if rank == "latency":
        return (latency_ms, servers, gpus, price)
    return (servers, gpus, price, latency_ms)


def _lookup(usecase: Resolved, server: Server, gpu: Gpu, perf: PerfSource) -> Lookup:
    """Everything the source says of this server type, at the asked precision or at each one
    of a `hardware.precision` list."""
    return lookup_each(
        perf,
        usecase.model,
        server,
        gpu,
        usecase.precisions or (usecase.precision,),
        usecase.input_tokens_total,
        usecase.output_tokens,
        kv=usecase.kv_precision or "",
        serving=usecase.serving,
    )


def plan(
    usecase: Resolved, catalog: Catalog, perf: PerfSource, rank: str = "servers"
) -> PlanResult:
    """Plan every server type; recommend the fewest servers (then GPUs, cost, latency), the
    lowest monthly cost (`rank="cost"`, where a price is known) or the lowest latency of the
    primary limit (`rank="latency"`)."""
    if rank not in RANKS:
        raise InputError("--rank", f"{rank!r} is not one of {', '.join(RANKS)}")
    plans = tuple(plan_server(usecase, s, catalog.gpu_of(s), perf) for s in usecase.servers)
    planned = [p for p in plans if p.status == PlanStatus.planned]
    metric = usecase.limits.primary_metric
    costs = plan_costs(usecase, [(p.server, p.servers) for p in planned if p.servers])

    def key(p: ServerPlan) -> tuple[float, ...]:
        assert p.servers is not None and p.best is not None
        month = costs[p.server.id].per_month_usd if p.server.id in costs else None
        gpus = p.servers * p.server.gpus
        return rank_key(rank, p.servers, gpus, month, _latency(p.best, metric))

    if (
        rank == "cost"
        and planned
        and not any(costs.get(p.server.id) and costs[p.server.id].per_month_usd for p in planned)
    ):
        raise InputError(
            "--rank",
            "cost needs a price for a planned server type; none is known (give "
            "cost.server_usd_per_hour or cost.server_purchase_usd in the use case)",
        )
    rec = min(planned, key=key) if planned else None
    api, rate = usecase_api_cost(usecase)
    return PlanResult(
        usecase,
        plans,
        rec,
        costs=costs,
        api_cost=api,
        api_rate=rate,
        warnings=tuple(
            plan_warnings(usecase, rec.server if rec else None, rec.best if rec else None)
        ),
        rank=rank,
    )
