"""Size a deployment with the digital twin: the fewest servers whose simulated latency percentiles
hold at the use case's rate.

For each server type, the calibrated model's in-flight steady state ranks every (precision, TP)
that fits and gives a first guess of the server count; the best two are then simulated under
Poisson arrivals, adding servers until every limit holds at the chosen percentile and removing
them while it still does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from llmsize.catalog import Gpu, Server
from llmsize.deployment import Deployment, Layout
from llmsize.limits import Limits, Miss
from llmsize.metrics import RunResult
from llmsize.perf.candidates import candidates
from llmsize.perf.context import PerfContext
from llmsize.perf.modelled import BATCHES
from llmsize.perf.pipeline import pipelined
from llmsize.perf.roofline import Setup, inflight_times
from llmsize.perf.sources import modelled_precisions
from llmsize.sim.engine import Outcome
from llmsize.sim.run import Traffic, TwinSetup, run, summarise
from llmsize.usecase import Resolved
from llmsize.workload import Lengths

MIN_REQUESTS = 2000
REQUESTS_PER_REPLICA = 40
MAX_REQUESTS = 40_000
CANDIDATES_PER_SERVER = 2


@dataclass(frozen=True, slots=True)
class Ranked:
    """A way to run the model on a server type, with the steady-state model's first guess."""

    server: Server
    gpu: Gpu
    precision: str
    tp: int
    replica_rps: float  # steady-state capacity of one replica within the limits (means)
    servers_guess: int  # whole servers (a multiple of servers_per_replica)
    layout: Layout

    @property
    def servers_per_replica(self) -> int:
        return self.layout.servers_spanned(self.server.gpus)

    def workers(self, servers: int) -> int:
        """Replicas on `servers` servers (whole replicas: a spanning one takes several)."""
        return self.layout.replicas_on(servers, self.server.gpus)

    @property
    def label(self) -> str:
        return f"{self.precision} {self.layout.label}"


@dataclass(frozen=True, slots=True)
class SimulatedChoice:
    candidate: Ranked
    servers: int
    result: RunResult
    broken: tuple[Miss, ...]  # empty when every limit holds at the percentile


@dataclass(frozen=True, slots=True)
class ServerSimulation:
    server: Server
    choice: SimulatedChoice | None
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SimulatedPlan:
    rate: float
    rate_source: str  # "average" or "peak"
    percentile: float
    per_server: tuple[ServerSimulation, ...]
    recommendation: ServerSimulation | None  # fewest servers; a plan re-ranks it (--rank)
    simulations: int


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """A simulated run of one deployment, and which limits its percentiles break."""

    name: str
    deployment: dict[str, object]
    traffic: dict[str, object]
    run: RunResult
    percentile: float
    broken: tuple[Miss, ...]
    ttft_samples_ms: tuple[float, ...] = ()
    e2e_samples_ms: tuple[float, ...] = ()
    seed_runs: tuple[tuple[int, RunResult, tuple[Miss, ...]], ...] = ()
    """With several seeds: each seed, its result and what it misses (the first is `run`)."""


def rate_of(usecase: Resolved) -> tuple[float, str]:
    """The average rate when the checklist gives one, else its peak."""
    if usecase.avg_rps is not None:
        return usecase.avg_rps, "average"
    return usecase.peak_rps, "peak"


def ranked_candidates(
    usecase: Resolved, context: PerfContext, server: Server, rate: float
) -> tuple[list[Ranked], list[str]]:
    """Every (precision, TP) that fits on this server type, best first by the steady-state
    model's server count; and why the others were left out."""
    gpu = context.catalog.gpu_of(server)
    model = usecase.model
    found: list[Ranked] = []
    context_tokens = usecase.input_tokens_total + usecase.output_tokens
    precisions = usecase.precisions or modelled_precisions(gpu, usecase.precision, usecase.model)
    kv = usecase.kv_precision or ""
    enumeration = candidates(
        model, server, gpu, precisions, context_tokens, context.engine or "", kv, usecase.serving
    )
    reasons = dict.fromkeys(enumeration.missing)
    for c in enumeration.found:
        precision, layout, fit = c.precision, c.layout, c.memory
        params = context.calibration.resolve(context.engine, gpu, precision, context.catalog).params
        setup = Setup.on(model, gpu, server, layout, precision, kv=kv, engine=context.engine or "")
        best = 0.0
        ceiling = min(fit.max_batch * layout.attention_dp, 256 * layout.attention_dp)
        for concurrency in BATCHES:
            if concurrency > ceiling:
                break
            micro = inflight_times(
                setup,
                params,
                max(1.0, concurrency / layout.pp),
                usecase.input_tokens_total,
                usecase.output_tokens,
                usecase.serving,
            )
            t = pipelined(
                micro,
                layout.pp,
                model.hidden,
                usecase.prefilled_tokens,
                concurrency / layout.pp,
                server.network_gb_s,
            )
            if usecase.limits.holds(t.ttft_ms, t.itl_ms, t.e2e_ms):
                best = max(best, t.instance_rps)
        if best <= 0:
            reasons[f"{precision} {layout.label}: even one request at a time misses a limit"] = None
            continue
        ranked = Ranked(server, gpu, precision, layout.tp, best, 1, layout)
        per_server = best * ranked.workers(ranked.servers_per_replica) / ranked.servers_per_replica
        spanned = ranked.servers_per_replica
        guess = spanned * math.ceil(math.ceil(rate / per_server) / spanned)
        found.append(Ranked(server, gpu, precision, layout.tp, best, guess, layout))
    found.sort(key=lambda c: (c.servers_guess, c.layout.gpus, c.tp, c.precision))
    return found, list(reasons)


def deployment(
    usecase: Resolved, context: PerfContext, candidate: Ranked, servers: int, **options: object
) -> TwinSetup:
    """The candidate on `servers` servers (the shared deployment type) as the twin runs it, on
    the step basis the performance model gives (measured in-flight runs scale it). A use case
    that credits a cached prefix has the twin keep a prefix cache (perf/served.py decides)."""
    shared = Deployment.aggregated(
        usecase.model,
        candidate.server,
        candidate.gpu,
        candidate.layout,
        candidate.precision,
        workers=max(1, candidate.workers(servers)),
        engine=context.engine,
        kv_cache=usecase.kv_precision,
    )
    if usecase.prefix is not None or usecase.history_tokens:
        options = {"prefix_caching": True, **options}
    if usecase.speculation is not None:
        options = {"speculation": usecase.speculation, **options}
    return TwinSetup.of(shared, context.perf.step_basis(shared), **options)


def traffic_for(
    usecase: Resolved, rate: float, replicas: int, seed: int, requests: int | None = None
) -> Traffic:
    count = requests or min(MAX_REQUESTS, max(MIN_REQUESTS, REQUESTS_PER_REPLICA * replicas))
    return Traffic(
        requests=count,
        input_tokens=session_or_request_input(usecase),
        output_tokens=Lengths(usecase.output_tokens, usecase.output_stddev),
        rate=rate,
        warmup=count // 10,
        seed=seed,
        prefix=usecase.prefix,
        sessions=usecase.sessions,
        system_tokens=usecase.system_prompt_tokens,
    )


def session_or_request_input(usecase: Resolved) -> Lengths:
    """The twin's input lengths: a request's prompt, or with sessions each turn's new input
    (the conversation so far is added turn by turn)."""
    if usecase.sessions is not None:
        return Lengths(usecase.turn_input_tokens, usecase.input_stddev)
    return Lengths(usecase.input_tokens_total, usecase.input_stddev)


@dataclass(slots=True)
class _Trials:
    """Simulations of one candidate at several server counts, each run once."""

    usecase: Resolved
    context: PerfContext
    candidate: Ranked
    rate: float
    seed: int
    requests: int | None
    limits: Limits
    progress: Callable[[str], None] | None
    done: dict[int, SimulatedChoice] = field(default_factory=dict)

    def check(self, units: int) -> SimulatedChoice:
        """The candidate on `units` groups of servers (one server each, or a spanning
        replica's servers)."""
        servers = units * self.candidate.servers_per_replica
        if servers not in self.done:
            d = deployment(self.usecase, self.context, self.candidate, servers)
            traffic = traffic_for(self.usecase, self.rate, d.replicas, self.seed, self.requests)
            result = summarise(run(d, traffic), traffic, self.limits)
            self.done[servers] = SimulatedChoice(
                self.candidate, servers, result, self.usecase.limits.misses_at_percentile(result)
            )
            if self.progress is not None:
                c = self.candidate
                self.progress(f"{c.server.id} {c.label} x{servers}")
        return self.done[servers]

    def passes(self, units: int) -> bool:
        return not self.check(units).broken


def smallest_passing(passes: Callable[[int], bool], guess: int) -> int | None:
    """The fewest servers that pass, assuming more servers never hurt: gallop from the guess to
    bracket the answer, then bisect. None when even 4 x guess + 4 servers fail."""
    ceiling = 4 * guess + 4
    if passes(guess):
        hi, step = guess, 1
        lo = guess - step
        while lo >= 1 and passes(lo):
            hi, step = lo, step * 2
            lo = hi - step
        lo = max(lo, 0)
    else:
        lo, step = guess, 1
        hi = guess + step
        while not passes(hi):
            if hi >= ceiling:
                return None
            lo, step = hi, step * 2
            hi = min(lo + step, ceiling)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if passes(mid):
            hi = mid
        else:
            lo = mid
    return hi


def size_by_simulation(
    usecase: Resolved,
    context: PerfContext,
    seed: int = 0,
    requests: int | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int = 1,
    ray_address: str | None = None,
) -> SimulatedPlan:
    """Each server type's fewest passing servers, replayed in the twin. With `workers` > 1 the
    server types are searched in that many processes at once, or with `ray_address` as tasks of
    that Ray cluster; each search is seeded on its own, so the answer is the serial one
    (progress is then reported per server type)."""
    rate, rate_source = rate_of(usecase)
    servers = usecase.servers
    if ray_address is not None or (workers > 1 and len(servers) > 1):
        from llmsize.parallel import map_jobs

        jobs = [(usecase, context, server, rate, seed, requests) for server in servers]
        found = []
        for done in map_jobs(_server_job, jobs, workers, ray_address):
            found.append(done)
            if progress is not None:
                progress(f"{done[0].server.id}: searched in {done[1]} simulations")
    else:
        found = [
            _simulate_server(usecase, context, server, rate, seed, requests, progress)
            for server in servers
        ]
    per_server = [simulation for simulation, _ in found]
    planned = [s for s in per_server if s.choice is not None]
    recommendation = min(
        planned,
        key=lambda s: (s.choice.servers, s.choice.servers * s.server.gpus) if s.choice else (0, 0),
        default=None,
    )
    simulations = sum(count for _, count in found)
    return SimulatedPlan(
        rate, rate_source, usecase.percentile, tuple(per_server), recommendation, simulations
    )


def _server_job(
    job: tuple[Resolved, PerfContext, Server, float, int, int | None],
) -> tuple[ServerSimulation, int]:
    """One server type's search in a worker process (a top-level function: it is pickled)."""
    usecase, context, server, rate, seed, requests = job
    return _simulate_server(usecase, context, server, rate, seed, requests, None)


def _simulate_server(
    usecase: Resolved,
    context: PerfContext,
    server: Server,
    rate: float,
    seed: int,
    requests: int | None,
    progress: Callable[[str], None] | None,
) -> tuple[ServerSimulation, int]:
    """The fewest servers of this type whose replay keeps every limit, over its best
    candidates, and how many simulations that took."""
    limits = usecase.limits
    simulations = 0
    found, reasons = ranked_candidates(usecase, context, server, rate)
    best: SimulatedChoice | None = None
    for candidate in found[:CANDIDATES_PER_SERVER]:
        if best is not None and candidate.servers_guess > best.servers:
            break  # cannot beat what this server type already achieved
        trial = _Trials(usecase, context, candidate, rate, seed, requests, limits, progress)
        guess = max(1, candidate.servers_guess // candidate.servers_per_replica)
        n = smallest_passing(trial.passes, guess)
        simulations += len(trial.done)
        if n is None:
            worst = trial.check(4 * guess + 4)
            reasons.append(
                f"{candidate.label}: still "
                f"{'; '.join(map(str, worst.broken))} "
                f"with {worst.servers} servers"
            )
            continue
        choice = trial.check(n)
        if best is None or (choice.servers, choice.result.ttft_ms.p95) < (
            best.servers,
            best.result.ttft_ms.p95,
        ):
            best = choice
    return ServerSimulation(server, best, tuple(reasons)), simulations


def replay(job: tuple[TwinSetup, Traffic, Limits, bool]) -> tuple[Outcome | None, RunResult]:
    """One seeded replay of a deployment (a top-level function: it runs on workers too): its
    summary, and its per-request outcome only where the job asks for it (the seed whose requests
    are shown), so that a thousand seeds send back a thousand summaries, not every request."""
    d, traffic, limits, keep_outcome = job
    outcome = run(d, traffic)
    return (outcome if keep_outcome else None), summarise(outcome, traffic, limits)
