"""The disaggregated alternative of a plan (`plan --disaggregated`): per server type, the
fewest servers a prefill pool and a decode pool need to carry the use case's peak within its
limits, by the steady-state model of perf/disaggregated.py.

A unit is P prefill workers and D decode workers (xPyD, the ratios of DISAGGREGATED_RATIOS) of
two layouts that fit (perf/candidates.py, the narrowest few of each precision). A unit's most
concurrent requests whose mean latencies keep every limit give its request rate (C / E2E); the
peak needs ceil(peak / rate) units, and their GPUs fill whole servers (both pools on the same
server type, where a rack-scale server such as the GB200 NVL72 holds both in one NVLink domain;
or, for a pair of server types, each pool on its own). The choice is then replayed in the
disaggregated twin (sim/disaggregated.py) and the number of units searched for the fewest that
keep every limit at the use case's percentile, and priced where its servers' prices are known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from llmsize.catalog import LlmArch, Server
from llmsize.catalog.precisions import Precision
from llmsize.deployment import Layout
from llmsize.economics import PlanCost, plan_costs
from llmsize.limits import Limits, Miss
from llmsize.metrics import RunResult
from llmsize.perf.candidates import candidates
from llmsize.perf.context import PerfContext
from llmsize.perf.disaggregated import (
    DisaggregatedTimes,
    PoolSetup,
    decode_slots,
    disaggregated_times,
    pool_setup,
    shares_domain,
)
from llmsize.perf.sources import modelled_precisions
from llmsize.sim.engine import Outcome
from llmsize.sim.run import Traffic, TwinSetup, engine_defaults
from llmsize.usecase import Resolved
from llmsize.workload import PLAIN, Serving

DISAGGREGATED_RATIOS = ((1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (3, 1), (2, 3), (3, 2), (4, 1))
"""Prefill : decode workers of a unit searched (xPyD; a larger deployment repeats the unit)."""
LAYOUTS_PER_POOL = 4
"""The narrowest layouts of each precision tried for each pool."""
MAX_CONCURRENCY = 1 << 16


@dataclass(frozen=True, slots=True)
class DisaggregatedChoice:
    """The best disaggregated deployment found: its prefill pool on `server`, its decode pool on
    `decode_server` (None: the same server type)."""

    server: Server
    precision: str
    prefill: Layout
    prefill_workers: int
    decode: Layout
    decode_workers: int
    units: int
    concurrency_per_unit: int
    times: DisaggregatedTimes
    kv_link: str  # "nvlink" (one NVLink domain holds a unit) or "network"
    decode_server: Server | None = None

    @property
    def decode_box(self) -> Server:
        """The decode pool's server type."""
        return self.decode_server or self.server

    @property
    def unit_gpus(self) -> int:
        return self.prefill.gpus * self.prefill_workers + self.decode.gpus * self.decode_workers

    @property
    def gpus(self) -> int:
        return self.units * self.unit_gpus

    def tokens_per_gpu(self, output_tokens: int) -> float:
        """Output tokens a second per GPU of one unit at its concurrency."""
        return self.times.rps * output_tokens / self.unit_gpus

    @property
    def counts(self) -> tuple[tuple[Server, int], ...]:
        """Whole servers of each type for every unit's GPUs: one count when the pools share the
        server type, else the prefill pool's and the decode pool's."""
        if self.decode_server is None:
            return ((self.server, math.ceil(self.gpus / self.server.gpus)),)
        prefill = self.units * self.prefill.gpus * self.prefill_workers
        decode = self.units * self.decode.gpus * self.decode_workers
        return (
            (self.server, math.ceil(prefill / self.server.gpus)),
            (self.decode_server, math.ceil(decode / self.decode_server.gpus)),
        )

    @property
    def servers(self) -> int:
        """Whole servers, of every type."""
        return sum(n for _, n in self.counts)

    @property
    def where(self) -> str:
        """The server type, or 'prefill type + decode type' when they differ."""
        if self.decode_server is None:
            return self.server.id
        return f"{self.server.id} + {self.decode_server.id}"

    @property
    def label(self) -> str:
        on = ("", "") if self.decode_server is None else (
            f" on {self.server.id}", f" on {self.decode_server.id}"
        )  # fmt: skip
        return (
            f"{self.precision} {self.units * self.prefill_workers} x prefill "
            f"{self.prefill.label}{on[0]} + {self.units * self.decode_workers} x decode "
            f"{self.decode.label}{on[1]}"
        )


@dataclass(frozen=True, slots=True)
class DisaggregatedConfigs:
    """Every prefill/decode unit of one model on one server type (`configs --disaggregated`),
    each at its most concurrent requests whose mean latencies keep the limits (without limits:
    what its decode pool holds); the latency-throughput frontier and the two optima."""

    model: str
    gpu: str
    server: str
    engine: str
    input_tokens: int
    output_tokens: int
    limits: dict[str, float | None]
    metric: str  # the latency the frontier is drawn against
    units: tuple[DisaggregatedChoice, ...]  # most output tokens a second per GPU first
    frontier: tuple[DisaggregatedChoice, ...]
    throughput_optimal: DisaggregatedChoice | None
    latency_optimal: DisaggregatedChoice | None
    typical_error: str
    reason: str  # why there is no unit ('' : there are some)


@dataclass(frozen=True, slots=True)
class DisaggregatedOption:
    """One server type's (or pair of types': prefill on `server`, decode on `decode_server`)
    disaggregated answer, or why it has none."""

    server: Server
    choice: DisaggregatedChoice | None
    reason: str = ""
    replayed: RunResult | None = None  # the choice in the disaggregated twin at the use case's load
    misses: tuple[Miss, ...] = ()  # what the replay misses at the use case's percentile
    replayed_units: int = 0  # the fewest units whose replay keeps every limit (0: none found)
    decode_server: Server | None = None
    cost: PlanCost | None = None  # of the answer's servers, where every type's price is known

    @property
    def where(self) -> str:
        """The server type, or 'prefill type + decode type'."""
        return self.choice.where if self.choice is not None else self.server.id

    @property
    def answer(self) -> DisaggregatedChoice | None:
        """The choice at the replayed unit count where the twin found one."""
        if self.choice is None or not self.replayed_units:
            return self.choice
        return replace(self.choice, units=self.replayed_units)

    @property
    def replayed_servers(self) -> int:
        """Servers of the replayed count (0: none found)."""
        if self.choice is None or not self.replayed_units:
            return 0
        return replace(self.choice, units=self.replayed_units).servers

    @property
    def servers(self) -> int | None:
        """The answer: the replayed count where the twin found one, else the steady state's."""
        answer = self.answer
        return answer.servers if answer is not None else None


def disaggregated_options(
    usecase: Resolved, context: PerfContext, seed: int = 0, replayed: bool = True
) -> tuple[DisaggregatedOption, ...]:
    """Every server type's disaggregated answer (plan --disaggregated), then every pair of the
    use case's server types of different GPUs that has one (prefill on the first, decode on the
    second); each replayed in the disaggregated twin where asked, and priced where every type it
    uses has a price."""
    found = []
    pairs: list[tuple[Server, Server | None]] = [(s, None) for s in usecase.servers]
    pairs += [
        (p, d)
        for p in usecase.servers
        for d in usecase.servers
        if context.catalog.gpu_of(p).id != context.catalog.gpu_of(d).id
    ]
    for server, decode_server in pairs:
        choice, reason = size_disaggregated(usecase, context, server, decode_server)
        if decode_server is not None and choice is None:
            continue  # a pair without an answer says nothing its two types do not
        option = DisaggregatedOption(server, choice, reason, decode_server=decode_server)
        if choice is not None and replayed:
            option = _replayed(usecase, context, option, seed)
        found.append(replace(option, cost=_cost(usecase, option)))
    return tuple(found)


def _cost(usecase: Resolved, option: DisaggregatedOption) -> PlanCost | None:
    """The answer's servers priced (their types' prices added up); None where any type has no
    price."""
    answer = option.answer
    if answer is None:
        return None
    costs = list(plan_costs(usecase, answer.counts).values())
    if any(c.per_month_usd is None for c in costs):
        return None
    month = sum(c.per_month_usd or 0.0 for c in costs)
    per_million = sum(c.usd_per_million_output_tokens or 0.0 for c in costs)
    hourly = costs[0].server_usd_per_hour if len(costs) == 1 else None  # one type's rate
    sources = "; ".join(dict.fromkeys(c.server_price_source or "" for c in costs))
    return PlanCost(hourly, sources, month, per_million or None, costs[0].billed_hours_per_day)


def _replayed(
    usecase: Resolved, context: PerfContext, option: DisaggregatedOption, seed: int
) -> DisaggregatedOption:
    """The fewest units (of the steady state's xPyD) whose replay keeps every limit at the
    use case's percentile, galloping and bisecting from the steady state's count as the
    aggregated search does; the replay shown is that count's (or the steady state's, with what
    it misses, when no count up to 4 x + 4 passes)."""
    from llmsize.search.simulated import smallest_passing

    choice = option.choice
    assert choice is not None
    runs: dict[int, tuple[RunResult, tuple[Miss, ...]]] = {}

    def at(units: int) -> tuple[RunResult, tuple[Miss, ...]]:
        if units not in runs:
            runs[units] = replay(usecase, context, replace(choice, units=units), seed)
        return runs[units]

    best = smallest_passing(lambda units: not at(units)[1], choice.units)
    result, misses = at(best if best is not None else choice.units)
    return replace(option, replayed=result, misses=misses, replayed_units=best or 0)


@dataclass(frozen=True, slots=True)
class UnitAsk:
    """What a disaggregated unit is sized for: the model, the lengths (prompt and answer), the
    latency limits, how the engine serves the requests (a cached prefix, drafting), the KV
    cache's precision where asked apart, and the precisions to try (() : every one the GPU runs
    that the model takes)."""

    model: LlmArch
    input_tokens: int
    output_tokens: int
    limits: Limits
    serving: Serving = PLAIN
    kv: str = ""
    precisions: tuple[str, ...] = ()
    precision: Precision | None = None  # the use case's stated precision, where it gives one

    @classmethod
    def of(cls, usecase: Resolved) -> UnitAsk:
        return cls(
            usecase.model,
            usecase.input_tokens_total,
            usecase.output_tokens,
            usecase.limits,
            usecase.serving,
            usecase.kv_precision or "",
            tuple(usecase.precisions),
            usecase.precision,
        )

    def within(self, t: DisaggregatedTimes) -> bool:
        return self.limits.holds(t.ttft_ms, t.itl_ms, t.e2e_ms)


def _most_concurrent(
    ask: UnitAsk, prefill: PoolSetup, decode: PoolSetup, shared: bool
) -> tuple[int, DisaggregatedTimes] | None:
    """The largest closed-loop concurrency whose mean latencies keep every limit (the latencies
    grow with it), by doubling then bisection; None when even one request breaks a limit.
    Without latency limits: what the decode pool holds (more only queue for a slot)."""

    def times(c: int) -> DisaggregatedTimes:
        return disaggregated_times(
            prefill, decode, c, ask.input_tokens, ask.output_tokens, shared, ask.serving
        )

    if not ask.limits.any:
        held = decode_slots(decode, ask.input_tokens + ask.output_tokens, ask.serving)
        c = max(1, min(MAX_CONCURRENCY, int(held) * decode.workers))
        return c, times(c)
    first = times(1)
    if not ask.within(first):
        return None
    lo, found, hi = 1, first, 2
    while hi <= MAX_CONCURRENCY:
        t = times(hi)
        if not ask.within(t):
            break
        lo, found, hi = hi, t, hi * 2
    hi = min(hi, MAX_CONCURRENCY + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        t = times(mid)
        if ask.within(t):
            lo, found = mid, t
        else:
            hi = mid
    return lo, found


def _layouts(
    ask: UnitAsk, context: PerfContext, server: Server
) -> tuple[dict[str, list[Layout]], str]:
    """The narrowest layouts of each precision that run and fit on this server type, or why
    there are none."""
    gpu = context.catalog.gpu_of(server)
    precisions = ask.precisions or modelled_precisions(gpu, ask.precision, ask.model)
    found = candidates(
        ask.model,
        server,
        gpu,
        precisions,
        ask.input_tokens + ask.output_tokens,
        context.engine,
        ask.kv,
        ask.serving,  # a cached prefix held once, a drafter's weights beside the model's
    )
    if not found.found:
        return {}, "; ".join(found.missing) or "nothing fits"
    by_precision: dict[str, list[Layout]] = {}
    for c in found.found:
        by_precision.setdefault(c.precision, []).append(c.layout)
    return {
        precision: sorted(set(layouts), key=lambda lay: (lay.gpus, lay.label))[:LAYOUTS_PER_POOL]
        for precision, layouts in by_precision.items()
    }, ""


def disaggregated_units(
    ask: UnitAsk, context: PerfContext, server: Server, decode_server: Server | None = None
) -> tuple[list[DisaggregatedChoice], str]:
    """Every unit on this server type, or with its decode pool on `decode_server` (the
    narrowest layouts of each precision for either pool, in a precision both GPUs run; every
    xPyD ratio of DISAGGREGATED_RATIOS), each at its most concurrent requests within the limits,
    as one unit; or why there is none."""
    prefill_layouts, why = _layouts(ask, context, server)
    decode_layouts, why_not = (
        (prefill_layouts, why) if decode_server is None else _layouts(ask, context, decode_server)
    )
    if not prefill_layouts or not decode_layouts:
        return [], why or why_not
    units: list[DisaggregatedChoice] = []
    for precision, tried in prefill_layouts.items():
        for p_layout in tried:
            for d_layout in decode_layouts.get(precision, ()):
                for p_workers, d_workers in DISAGGREGATED_RATIOS:
                    unit = _unit(
                        ask, context, server, precision, p_layout, p_workers, d_layout,
                        d_workers, decode_server,
                    )  # fmt: skip
                    if unit is not None:
                        units.append(unit)
    if not units:
        return [], "no disaggregated unit keeps the limits even at one request"
    return units, ""


def size_disaggregated(
    usecase: Resolved, context: PerfContext, server: Server, decode_server: Server | None = None
) -> tuple[DisaggregatedChoice | None, str]:
    """The fewest servers of this type (with the decode pool on `decode_server`: of the two
    types) a disaggregated deployment needs for the peak, or why there is none."""
    units, reason = disaggregated_units(UnitAsk.of(usecase), context, server, decode_server)
    best: DisaggregatedChoice | None = None
    for unit in units:
        choice = replace(unit, units=max(1, math.ceil(usecase.peak_rps / unit.times.rps)))
        if best is None or (choice.servers, choice.gpus, choice.times.ttft_ms) < (
            best.servers,
            best.gpus,
            best.times.ttft_ms,
        ):
            best = choice
    return best, reason


def _unit(
    ask: UnitAsk,
    context: PerfContext,
    server: Server,
    precision: str,
    p_layout: Layout,
    p_workers: int,
    d_layout: Layout,
    d_workers: int,
    decode_server: Server | None = None,
) -> DisaggregatedChoice | None:
    catalog = context.catalog
    d_server = decode_server or server

    def pool(box: Server, layout: Layout, workers: int) -> PoolSetup:
        return pool_setup(
            ask.model, catalog.gpu_of(box), box, layout, precision, context.engine,
            context.calibration, catalog, workers, kv=ask.kv,
        )[0]  # fmt: skip

    prefill, decode = pool(server, p_layout, p_workers), pool(d_server, d_layout, d_workers)
    shared = shares_domain(prefill, server, decode, d_server)
    most = _most_concurrent(ask, prefill, decode, shared)
    if most is None:
        return None
    concurrency, times = most
    return DisaggregatedChoice(
        server,
        precision,
        p_layout,
        p_workers,
        d_layout,
        d_workers,
        1,
        concurrency,
        times,
        "nvlink" if shared else "network",
        decode_server,
    )


def replay(
    usecase: Resolved, context: PerfContext, choice: DisaggregatedChoice, seed: int = 0
) -> tuple[RunResult, tuple[Miss, ...]]:
    """The choice replayed in the disaggregated twin (sim/disaggregated.py) at the use case's
    average rate (its peak when only a peak is given), as the aggregated answers are: the
    result, and what it misses at the use case's percentile."""
    from llmsize.search.simulated import rate_of, traffic_for
    from llmsize.sim.run import summarise

    rate, _ = rate_of(usecase)
    pools = twin_pools(usecase, context, choice)
    traffic = traffic_for(usecase, rate, pools[1].replicas, seed)
    result = summarise(run_choice(context, choice, pools, traffic), traffic, usecase.limits)
    return result, usecase.limits.misses_at_percentile(result)


def run_choice(
    context: PerfContext,
    choice: DisaggregatedChoice,
    pools: tuple[TwinSetup, TwinSetup],
    traffic: Traffic,
) -> Outcome:
    """One seeded run of the choice's two pools (twin_pools) in the disaggregated twin under
    `traffic`: the KV cache crossing as the steady state has it (NVLink within one domain, else
    the network), the client's first token where the engine gives it (engines.yaml)."""
    from llmsize.perf.disaggregated import transfer_seconds
    from llmsize.perf.kv_budget import scheduler
    from llmsize.sim.disaggregated import run_disaggregated

    prefill, decode = pools
    shared = choice.kv_link == "nvlink"
    per_token = transfer_seconds(prefill.setup, decode.setup, 1.0, shared)  # linear in tokens

    def transfer(prompt: int) -> float:
        return per_token * prompt

    from_decode = scheduler(context.engine).disaggregated_first_token == "decode"
    return run_disaggregated(prefill, decode, traffic, transfer, from_decode)


def twin_pools(
    usecase: Resolved, context: PerfContext, choice: DisaggregatedChoice
) -> tuple[TwinSetup, TwinSetup]:
    """The choice's prefill and decode pools as the twin runs them (every unit's workers)."""
    prefill = _twin(usecase, context, choice, choice.prefill, choice.prefill_workers)
    decode = _twin(usecase, context, choice, choice.decode, choice.decode_workers, decoding=True)
    return prefill, decode


def _twin(
    usecase: Resolved,
    context: PerfContext,
    choice: DisaggregatedChoice,
    layout: Layout,
    workers_per_unit: int,
    decoding: bool = False,
) -> TwinSetup:
    """One pool's replicas for the twin: every unit's workers of this role, its GPU's engine
    profile fit, the engine's scheduler defaults (with a prefix cache where the use case's
    shared prefix is credited)."""
    server = choice.decode_box if decoding else choice.server
    gpu = context.catalog.gpu_of(server)
    fit = context.calibration.resolve(context.engine, gpu, choice.precision, context.catalog)
    scheduler = engine_defaults(context.engine, gpu)
    if usecase.prefix is not None:  # credited (perf/served.py): each worker keeps a prefix cache
        scheduler["prefix_caching"] = True
    if usecase.speculation is not None and decoding:
        scheduler["speculation"] = usecase.speculation  # the decode workers draft and verify
    return TwinSetup(
        usecase.model,
        gpu,
        layout.tp,
        choice.precision,
        server.nvlink_domain,
        choice.units * workers_per_unit,
        fit.params,
        **scheduler,
        step_times=f"model ({fit.label})",
        engine=context.engine,
        kv=usecase.kv_precision or "",
        pp=layout.pp,
        attention_dp=layout.attention_dp,
        ep=layout.ep,
        network_gb_s=server.network_gb_s,
    )
