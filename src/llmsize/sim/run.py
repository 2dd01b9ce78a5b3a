"""Set up and summarise a simulated run: the deployment, the traffic, the result model."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from llmsize.catalog import Gpu, LlmArch
from llmsize.deployment import Deployment, Layout
from llmsize.limits import Limits
from llmsize.metrics import Distribution, RunResult
from llmsize.perf.estimate import StepBasis
from llmsize.perf.memory import GIB, fixed_bytes_per_sequence, kv_bytes_per_token, memory_fit
from llmsize.perf.roofline import INFLIGHT_STEP_TOKENS, Params, Setup
from llmsize.sim.engine import Arrival, Outcome, Scheduler, Segments, Simulation
from llmsize.sim.steps import StepModel
from llmsize.workload import (
    Lengths,
    Serving,
    Sessions,
    SharedPrefix,
    Speculation,
    TraceRow,
    poisson_times,
)

DEFAULT_MAX_BATCH = 256


def engine_defaults(engine: str, gpu: Gpu) -> dict[str, Any]:
    """The engine's scheduler defaults on this GPU (data/engines.yaml: step token budget,
    chunked prefill, prefix caching, and its cap on running sequences where it has one), as
    TwinSetup's keyword arguments."""
    from llmsize.perf.kv_budget import scheduler

    rules = scheduler(engine)
    defaults: dict[str, Any] = {
        "max_step_tokens": rules.tokens_for(gpu),
        "chunked_prefill": rules.chunked_prefill,
        "prefix_caching": rules.prefix_caching,
    }
    running = rules.running_for(gpu)
    if running is not None:
        defaults["max_batch"] = running
    return defaults


@dataclass(frozen=True, slots=True)
class TwinSetup:
    """What the twin runs: `replicas` of one model at one layout, their step-time parameters and
    the scheduler's settings. Built from the shared deployment type with `of`.

    A replica with attention-DP ranks is one scheduler over all of them (their steps run in
    lockstep through the experts' all-to-all): its KV cache, batch limit and step token budget
    are the ranks' together. A replica of `pp` pipeline stages is `pp` micro-batch schedulers,
    each with a stage's share of the cache, whose steps run the whole model plus the hand-offs
    between stages (the steady-state model's pipeline rule, perf/pipeline.py)."""

    model: LlmArch
    gpu: Gpu
    tp: int
    precision: str
    nvlink_domain: int
    replicas: int
    params: Params
    max_batch: int = DEFAULT_MAX_BATCH
    max_step_tokens: int = INFLIGHT_STEP_TOKENS
    chunked_prefill: bool = False
    prefix_caching: bool = False
    router: str = "round-robin"
    prefill_scale: float = 1.0
    decode_scale: float = 1.0
    step_times: str = ""  # where the step times come from, in words
    engine: str = ""  # whose KV budget rule sizes each replica's cache ('' : the default's)
    kv: str = ""  # the KV cache's precision when asked apart from the weights ('' : it follows)
    pp: int = 1
    attention_dp: int = 1
    ep: int = 1
    network_gb_s: float = 50.0
    speculation: Speculation | None = None  # speculative decoding, where the use case asks

    @classmethod
    def of(cls, deployment: Deployment, basis: StepBasis, **scheduler: Any) -> TwinSetup:
        """An aggregated deployment's replicas, on the step basis the performance model gives
        it (scaled to measurements where it has them), scheduled with its engine's defaults
        (data/engines.yaml: step token budget, chunked prefill, prefix caching, running
        sequences) unless `scheduler` says otherwise."""
        from llmsize.perf.modelled import asked_kv, refuse_unmodelled

        refuse_unmodelled(deployment)
        pool = deployment.pool
        layout = pool.layout
        scheduler = {**engine_defaults(deployment.engine, pool.gpu), **scheduler}
        return cls(
            deployment.model,
            pool.gpu,
            layout.tp,
            deployment.precision.weights,
            pool.server.nvlink_domain,
            pool.workers,
            basis.params,
            prefill_scale=basis.prefill_scale,
            decode_scale=basis.decode_scale,
            step_times=basis.label,
            engine=deployment.engine,
            kv=asked_kv(deployment),
            pp=layout.pp,
            attention_dp=layout.attention_dp,
            ep=layout.ep,
            network_gb_s=pool.server.network_gb_s,
            **scheduler,
        )

    def kv_capacity_tokens(self) -> int:
        """Tokens of KV cache one replica holds beside its weights (from the memory model), in
        tokens of the growing layers; each sequence held takes its fixed part out of them
        (`fixed_tokens_per_sequence`). Each attention-DP rank holds its own; each pipeline
        stage holds its layers' share."""
        model, tp, precision, kv, pp = self.model, self.tp, self.precision, self.kv, self.pp
        fit = memory_fit(
            model,
            self.gpu,
            tp,
            precision,
            1,
            1,
            pp,
            self.attention_dp,
            kv=kv,
            engine=self.engine,
            serving=Serving(speculation=self.speculation),
        )
        available = fit.available_gib * GIB * pp  # a stage's GPU holds 1/pp of each token
        per_token = kv_bytes_per_token(model, tp, precision, kv)
        if per_token <= 0:  # only recurrent layers: no growing cache to count
            fixed = self.max_batch * fixed_bytes_per_sequence(model, tp, precision, kv)
            return 2**62 if available > fixed else 0
        return max(0, int(available // per_token)) * self.attention_dp

    def fixed_tokens_per_sequence(self) -> int:
        """What one sequence holds whatever its length (full windows of windowed layers,
        recurrent states), in tokens of the growing layers: the scheduler charges it per
        sequence held (0 where only recurrent layers grow nothing: `kv_capacity_tokens` then
        sets aside max_batch of them)."""
        model, tp, precision, kv = self.model, self.tp, self.precision, self.kv
        per_token = kv_bytes_per_token(model, tp, precision, kv)
        if per_token <= 0:
            return 0
        return math.ceil(fixed_bytes_per_sequence(model, tp, precision, kv) / per_token)

    @property
    def layout(self) -> Layout:
        return Layout(tp=self.tp, pp=self.pp, attention_dp=self.attention_dp, ep=self.ep)

    @property
    def schedulers(self) -> int:
        """Schedulers the twin runs: one per replica, or one per micro-batch of a pipeline."""
        return self.replicas * self.pp

    @property
    def setup(self) -> Setup:
        """What one replica's passes run on, for the step model."""
        return Setup.of(
            self.model,
            self.gpu,
            self.layout,
            self.precision,
            self.nvlink_domain,
            self.network_gb_s,
            kv=self.kv,
            engine=self.engine,
        )

    def simulation(self) -> Simulation:
        setup = self.setup
        ranks, pp = self.attention_dp, self.pp
        spec = self.speculation
        scheduler = Scheduler(
            kv_capacity_tokens=self.kv_capacity_tokens() // pp,
            max_batch=max(1, self.max_batch * ranks // pp),
            max_step_tokens=self.max_step_tokens * ranks,
            chunked_prefill=self.chunked_prefill,
            prefix_caching=self.prefix_caching,
            tokens_per_step=spec.tokens_per_step if spec is not None else 1.0,
            fixed_tokens=self.fixed_tokens_per_sequence(),
        )
        steps = StepModel(
            setup,
            self.params,
            self.prefill_scale,
            self.decode_scale,
            spec.draft_tokens if spec is not None else 0,
            spec.draft_share if spec is not None else 0.0,
        )
        return Simulation(steps, scheduler, self.schedulers, self.router)


@dataclass(frozen=True, slots=True)
class Traffic:
    """Open loop at `rate` req/s, closed loop at `concurrency`, or a trace; lengths per request."""

    requests: int
    input_tokens: Lengths
    output_tokens: Lengths
    rate: float | None = None
    concurrency: int | None = None
    trace: tuple[TraceRow, ...] | None = None  # rows to replay, in arrival order (read_trace)
    warmup: int = 0
    seed: int = 0
    prefix: SharedPrefix | None = None  # a prompt prefix that a share of requests repeats
    sessions: Sessions | None = None  # multi-turn: input_tokens is then each turn's new input
    system_tokens: int = 0  # with sessions: the system prompt that opens each conversation

    def requests_of(self, rng: random.Random) -> Callable[[], tuple[int, int, Segments]]:
        """Each request's prompt and output lengths, and its prompt's cacheable segments.
        With a shared prefix, `prefix.hit_rate` of the prompts open with the one shared
        segment; the rest with a prefix of their own that no other request repeats; the
        lengths' spread is in what follows the prefix."""
        outputs = self.output_tokens.sampler(rng)
        prefix = self.prefix
        if prefix is None:
            inputs = self.input_tokens.sampler(rng)
            return lambda: (inputs(), outputs(), ())
        shared, hit_rate = prefix.tokens, prefix.hit_rate
        rest = Lengths(max(1.0, self.input_tokens.mean - shared), self.input_tokens.stddev)
        suffixes = rest.sampler(rng)
        draw = rng.random
        drawn = 0

        def one() -> tuple[int, int, Segments]:
            nonlocal drawn
            drawn += 1
            key = SHARED_KEY if draw() < hit_rate else -drawn  # never repeated
            return shared + suffixes(), outputs(), ((key, shared),)

        return one


SHARED_KEY = 0
"""The cache key of the use case's shared prefix (a request's own prefix has a negative key)."""


def open_loop(traffic: Traffic, rng: random.Random) -> Iterator[Arrival]:
    if traffic.trace is not None:
        for row in traffic.trace[: traffic.requests]:
            yield row.arrival_s, row.input_tokens, row.output_tokens, row.segments(), None, None
        return
    assert traffic.rate is not None
    times = poisson_times(traffic.rate, traffic.requests, rng)
    one = traffic.requests_of(rng)
    for t in times:
        yield (t, *one(), None, None)


MAX_TURNS = 1 << 10
"""Turns a session's cache keys leave room for (usecase.Conversation allows up to 1,000)."""


def _turn_key(session: int, turn: int, answer: bool) -> int:
    """A session's own segments: turn `turn`'s new input, or its answer (positive keys; the
    shared prefix is 0, prompts no one repeats are negative)."""
    return 1 + 2 * (session * MAX_TURNS + turn) + answer


def sessions_of(
    traffic: Traffic, rng: random.Random
) -> tuple[Iterator[Arrival], Callable[[object, float], Arrival | None]]:
    """Sessions that start as a Poisson process (the rate of turns over the turns a session
    has), and each session's next turn once its last answer has ended and `think_s` passed.
    Turn i's prompt: the system prompt, every earlier question and answer, its new input; its
    segments are those pieces, each cached where it was computed (an answer when it ended), so
    the replica that served a session's last turn holds its whole history until evicted."""
    sessions = traffic.sessions
    assert sessions is not None and traffic.rate is not None
    turns, think = sessions.turns, sessions.think_s
    count = max(1, traffic.requests // turns)
    starts = poisson_times(traffic.rate / turns, count, rng)
    inputs, outputs = traffic.input_tokens.sampler(rng), traffic.output_tokens.sampler(rng)
    system, prefix, draw = traffic.system_tokens, traffic.prefix, rng.random

    def first(session: int, at: float) -> Arrival:
        opening: Segments = ()
        if system:
            shared = prefix is not None and draw() < prefix.hit_rate
            opening = ((SHARED_KEY if shared else -(session + 1), system),)
        new, out = inputs(), outputs()
        segments = (*opening, (_turn_key(session, 1, False), new))
        state = [session, 1, system + new, segments, out]
        return at, system + new, out, segments, (_turn_key(session, 1, True), out), state

    def next_turn(state: object, now: float) -> Arrival | None:
        assert isinstance(state, list)
        session, turn, prompt, segments, answer = state
        if turn >= turns:
            return None
        new, out = inputs(), outputs()
        segments = (
            *segments,
            (_turn_key(session, turn, True), answer),
            (_turn_key(session, turn + 1, False), new),
        )
        prompt += answer + new
        state[:] = [session, turn + 1, prompt, segments, out]
        tail = (_turn_key(session, turn + 1, True), out)
        return now + think, prompt, out, segments, tail, state

    return (first(i, t) for i, t in enumerate(starts)), next_turn


def run(
    deployment: TwinSetup, traffic: Traffic, progress: Callable[[int], None] | None = None
) -> Outcome:
    """One seeded, reproducible run: the same inputs give the same outcome, bit for bit."""
    rng = random.Random(traffic.seed)
    simulation = deployment.simulation()
    if traffic.concurrency is not None:
        return simulation.run(
            closed_loop=(traffic.concurrency, traffic.requests, traffic.requests_of(rng)),
            warmup=traffic.warmup,
            progress=progress,
        )
    if traffic.sessions is not None:
        arrivals, next_turn = sessions_of(traffic, rng)
        return simulation.run(
            arrivals=arrivals, warmup=traffic.warmup, progress=progress, next_turn=next_turn
        )
    return simulation.run(
        arrivals=open_loop(traffic, rng), warmup=traffic.warmup, progress=progress
    )


def summarise(outcome: Outcome, traffic: Traffic, limits: Limits | None = None) -> RunResult:
    """The shared result model: latency distributions, throughput, goodput, occupancy."""
    ttft, itl, e2e = [], [], []
    within = 0
    tokens = 0
    for arrival, first, end, output in zip(
        outcome.arrival, outcome.first, outcome.end, outcome.output, strict=True
    ):
        t = (first - arrival) * 1e3
        e = (end - arrival) * 1e3
        i = (end - first) * 1e3 / (output - 1) if output > 1 else None
        ttft.append(t)
        e2e.append(e)
        tokens += output
        if i is not None:
            itl.append(i)
        if limits is not None and limits.holds(t, i, e):
            within += 1
    n = len(ttft)
    span = (max(outcome.end) - min(outcome.arrival)) if n else 0.0
    load, value = (
        ("concurrency", float(traffic.concurrency))
        if traffic.concurrency is not None
        else ("rate", float(traffic.rate or 0.0))
    )
    duration = outcome.end_time - outcome.first_arrival
    return RunResult(
        source="simulated",
        load=load,
        load_value=value,
        requests=n,
        errors=outcome.rejected,
        duration_s=duration,
        ttft_ms=Distribution.of(ttft),
        itl_ms=Distribution.of(itl),
        e2e_ms=Distribution.of(e2e),
        achieved_rps=n / span if span > 0 else 0.0,
        output_tokens_per_s=tokens / span if span > 0 else 0.0,
        goodput=(within / n if n else 0.0) if limits is not None else None,
        mean_batch=outcome.batch_area / duration / outcome.replicas if duration > 0 else 0.0,
        mean_queue=outcome.queue_area / duration / outcome.replicas if duration > 0 else 0.0,
        preemptions=outcome.preemptions,
        prefix_hit_rate=(
            outcome.prefix_hits / outcome.prefix_lookups if outcome.prefix_lookups else None
        ),
        cached_token_share=(
            outcome.cached_tokens / outcome.prompt_tokens if outcome.prompt_tokens else None
        ),
    )
