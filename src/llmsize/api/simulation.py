"""Run the digital twin on a use case: one deployment under Poisson, closed-loop or traced
traffic."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from llmsize.usecase import UseCase

if TYPE_CHECKING:
    from llmsize.limits import Miss
    from llmsize.metrics import RunResult
    from llmsize.perf.context import PerfContext
    from llmsize.search.simulated import SimulationResult
    from llmsize.sim.run import Traffic, TwinSetup
    from llmsize.usecase import Resolved


def simulate(
    usecase: UseCase | Path | str,
    *,
    server: str | None = None,
    tp: int | None = None,
    precision: str | None = None,
    servers: int | None = None,
    rate: float | None = None,
    concurrency: int | None = None,
    trace: Path | str | None = None,
    requests: int = 5000,
    warmup: int | None = None,
    seed: int = 0,
    router: str = "round-robin",
    max_batch: int | None = None,
    chunked_prefill: bool | None = None,
    calibration: Path | str | None = None,
    engine: str | None = None,
    progress: Callable[[int], None] | None = None,
    kv_precision: str | None = None,
    replicas: int | None = None,
    seeds: int = 1,
    workers: int = 1,
    ray: str | None = None,
    disaggregated: bool = False,
) -> SimulationResult:
    """Run the digital twin: the use case's lengths (and spreads) under Poisson arrivals at its
    average rate (or peak, or --rate), a closed loop at --concurrency, or a trace. The deployment
    is the one given, or the one the steady-state model suggests; `replicas` runs only that many
    of its replicas (one, to compare with a run measured against one endpoint). `max_batch` and
    `chunked_prefill` override the engine's scheduler defaults (data/engines.yaml) when given.
    `seeds` > 1 replays the deployment with seeds seed, seed + 1, ... (the first is the result,
    every one is in `seed_runs`), on `workers` processes or the Ray cluster at `ray`; each
    replay is seeded on its own, so where it runs never changes it. `disaggregated` runs the
    disaggregated deployment the steady-state model sizes for the use case (the fewest servers
    over its server types: a prefill and a decode pool, the KV cache between them) in the
    disaggregated twin instead, under the same traffic."""
    from dataclasses import replace

    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.perf.context import PerfOptions, perf_context
    from llmsize.perf.served import as_served
    from llmsize.search.simulated import (
        SimulationResult,
        deployment,
        ranked_candidates,
        rate_of,
        session_or_request_input,
    )
    from llmsize.sim.run import Traffic, run, summarise
    from llmsize.usecase import flag_or_field, read_resolved
    from llmsize.workload import Lengths, read_trace

    catalog = load_catalog()
    # origin: the file a use-case field named in an error was read from (usecase.field_in)
    usecase, resolved, origin = read_resolved(usecase, catalog, None, kv_precision)
    if server is not None:
        resolved = replace(resolved, servers=(catalog.servers.get(server, "--server"),))
    if precision is not None:
        from llmsize.catalog.precisions import checked

        resolved = replace(resolved, precision=checked(precision, "--precision"))
    if not 1 <= seeds <= MAX_SEEDS:
        raise InputError("--seeds", f"must be from 1 to {MAX_SEEDS}")
    if workers < 1:
        raise InputError("--workers", "must be at least 1")
    loads = [x is not None for x in (rate, concurrency, trace)]
    if sum(loads) > 1:
        raise InputError("--rate", "give at most one of --rate, --concurrency, --trace")
    if concurrency is not None and resolved.sessions is not None:
        raise InputError(
            "--concurrency",
            "a use case with sessions is replayed as sessions at a rate (--rate, or its load); "
            "closed loops of sessions are not modelled",
        )
    chosen_rate = rate if rate is not None else rate_of(resolved)[0]
    model_ids = {resolved.model.id, resolved.model.name.lower()}
    settings = PerfOptions.of("auto", calibration, engine or usecase.engine, (), "inflight")
    field = flag_or_field(bool(engine), "--engine", origin, "engine")
    context = perf_context(model_ids, settings, field)  # measured in-flight runs scale the steps
    resolved = as_served(resolved, context.engine, "inflight")
    if trace is not None:  # a trace's own blocks say which prompts share what
        resolved = replace(resolved, prefix=None)
    rows = tuple(read_trace(Path(trace))) if trace is not None else None
    if rows is not None:  # a trace shorter than --requests is replayed whole, 10 % warm-up of it
        requests = min(requests, len(rows))
    traffic = Traffic(
        requests=requests,
        input_tokens=session_or_request_input(resolved),
        output_tokens=Lengths(resolved.output_tokens, resolved.output_stddev),
        rate=None if concurrency is not None or trace is not None else chosen_rate,
        concurrency=concurrency,
        trace=rows,
        warmup=requests // 10 if warmup is None else warmup,
        seed=seed,
        prefix=resolved.prefix,
        sessions=resolved.sessions if trace is None else None,
        system_tokens=resolved.system_prompt_tokens,
    )
    if disaggregated:
        asked = {
            "--tp": tp,
            "--servers": servers,
            "--replicas": replicas,
            "--max-batch": max_batch,
            "--chunked-prefill": chunked_prefill,
        }
        for flag, value in asked.items():
            if value is not None:
                raise InputError(
                    flag,
                    "not with --disaggregated: the twin runs the disaggregated deployment the "
                    "steady-state model sizes (plan --disaggregated)",
                )
        if router != "round-robin" or workers != 1 or ray is not None:
            raise InputError(
                "--disaggregated",
                "replays one seed after another on round-robin pools (not with --router, "
                "--workers or --ray)",
            )
        return _disaggregated(resolved, context, traffic, trace, seeds)
    options = [
        c
        for s in resolved.servers
        for c in ranked_candidates(resolved, context, s, chosen_rate)[0]
        if tp is None or c.tp == tp
    ]
    if not options:
        raise InputError(
            "--tp" if tp is not None else "hardware.server",
            "no configuration of this model fits the chosen server and TP (see llmsize plan)",
        )
    # as plan recommends (--rank servers): the fewest servers, then GPUs
    best = min(
        options,
        key=lambda c: (c.servers_guess, c.servers_guess * c.server.gpus, c.layout.gpus, c.tp),
    )
    count = servers if servers is not None else best.servers_guess
    spanned = best.servers_per_replica
    if count % spanned:
        raise InputError(
            "--servers",
            f"a {best.layout.label} replica spans {spanned} servers; give a multiple of {spanned}",
        )
    asked = {"max_batch": max_batch, "chunked_prefill": chunked_prefill}
    d = deployment(
        resolved,
        context,
        best,
        count,
        router=router,
        **{k: v for k, v in asked.items() if v is not None},
    )
    if replicas is not None:
        if not 1 <= replicas <= d.replicas:
            raise InputError(
                "--replicas", f"must be from 1 to the {d.replicas} that {count} server(s) hold"
            )
        d = replace(d, replicas=replicas)
    seed_runs: tuple[tuple[int, RunResult, tuple[Miss, ...]], ...] = ()
    if seeds == 1:
        outcome = run(d, traffic, progress)
        result = summarise(outcome, traffic, resolved.limits)
    else:
        from llmsize.parallel import map_jobs
        from llmsize.search.simulated import replay

        jobs = [(d, replace(traffic, seed=seed + i), resolved.limits, i == 0) for i in range(seeds)]
        replays = list(map_jobs(replay, jobs, workers, ray))
        first, result = replays[0]  # the first seed's requests are the ones shown
        assert first is not None
        outcome = first
        seed_runs = tuple(
            (seed + i, r, resolved.limits.misses_at_percentile(r))
            for i, (_, r) in enumerate(replays)
        )
    return SimulationResult(
        name=resolved.name,
        deployment={
            "server": best.server.id,
            "gpu": best.gpu.id,
            "servers": count,
            "tp": best.tp,
            "layout": best.layout.label,
            "precision": best.precision,
            "replicas": d.replicas,
            "kv_capacity_tokens_per_replica": d.kv_capacity_tokens(),
            "max_batch": d.max_batch,
            "max_step_tokens": d.max_step_tokens,
            "chunked_prefill": d.chunked_prefill,
            "prefix_caching": d.prefix_caching,
            "router": router,
            "step_times": d.step_times,
        },
        traffic=_traffic_fields(resolved, traffic, trace, d.prefix_caching),
        run=result,
        percentile=resolved.percentile,
        broken=resolved.limits.misses_at_percentile(result),
        ttft_samples_ms=tuple(
            (f - a) * 1e3 for a, f in zip(outcome.arrival, outcome.first, strict=True)
        ),
        e2e_samples_ms=tuple(
            (e - a) * 1e3 for a, e in zip(outcome.arrival, outcome.end, strict=True)
        ),
        seed_runs=seed_runs,
    )


MAX_SEEDS = 1000
"""Replays one `simulate` may ask for."""


def _traffic_fields(
    resolved: Resolved, traffic: Traffic, trace: Path | str | None, prefix_caching: bool
) -> dict[str, object]:
    """What the twin's traffic was, for the result."""
    from llmsize.workload import trace_note

    rows = traffic.trace
    return {
        "rate": traffic.rate,
        "concurrency": traffic.concurrency,
        "trace": str(trace) if trace is not None else None,
        "trace_note": (
            trace_note(rows[: traffic.requests], prefix_caching) if rows is not None else None
        ),
        "prefix_cache": _prefix_fields(resolved),
        "requests": traffic.requests,
        "warmup": traffic.warmup,
        "seed": traffic.seed,
        "input_tokens": {"mean": resolved.input_tokens_total, "stddev": resolved.input_stddev},
        "output_tokens": {"mean": resolved.output_tokens, "stddev": resolved.output_stddev},
    }


def _disaggregated(
    resolved: Resolved,
    context: PerfContext,
    traffic: Traffic,
    trace: Path | str | None,
    seeds: int,
) -> SimulationResult:
    """simulate --disaggregated: the steady state's disaggregated answer with the fewest
    servers over the use case's server types, run in the disaggregated twin (one seed after
    another where several are asked)."""
    from dataclasses import replace

    from llmsize.errors import InputError
    from llmsize.search.disaggregated import run_choice, size_disaggregated, twin_pools
    from llmsize.search.simulated import SimulationResult
    from llmsize.sim.run import summarise

    found = [size_disaggregated(resolved, context, s, None) for s in resolved.servers]
    choices = [c for c, _ in found if c is not None]
    if not choices:
        reasons = "; ".join(dict.fromkeys(r for _, r in found if r))
        raise InputError(
            "--disaggregated",
            f"no disaggregated deployment of this model keeps the limits here ({reasons})",
        )
    choice = min(choices, key=lambda c: (c.servers, c.gpus))
    limits = resolved.limits
    pools = twin_pools(resolved, context, choice)
    outcome = run_choice(context, choice, pools, traffic)  # the first seed's: its samples shown
    results = [summarise(outcome, traffic, limits)]
    for i in range(1, seeds):  # the others' summaries only
        seeded = replace(traffic, seed=traffic.seed + i)
        results.append(summarise(run_choice(context, choice, pools, seeded), seeded, limits))
    result = results[0]
    seed_runs: tuple[tuple[int, RunResult, tuple[Miss, ...]], ...] = ()
    if seeds > 1:
        seed_runs = tuple(
            (traffic.seed + i, r, limits.misses_at_percentile(r)) for i, r in enumerate(results)
        )
    prefill, decode = pools
    return SimulationResult(
        name=resolved.name,
        deployment={
            "serving_mode": "disaggregated",
            "server": choice.where,
            "servers": choice.servers,
            "layout": choice.label,
            "precision": choice.precision,
            "units": choice.units,
            "kv_link": choice.kv_link,
            "prefill": _pool_fields(prefill),
            "decode": _pool_fields(decode),
            "step_times": f"prefill {prefill.step_times}; decode {decode.step_times}",
        },
        traffic=_traffic_fields(resolved, traffic, trace, prefill.prefix_caching),
        run=result,
        percentile=resolved.percentile,
        broken=limits.misses_at_percentile(result),
        ttft_samples_ms=tuple(
            (f - a) * 1e3 for a, f in zip(outcome.arrival, outcome.first, strict=True)
        ),
        e2e_samples_ms=tuple(
            (e - a) * 1e3 for a, e in zip(outcome.arrival, outcome.end, strict=True)
        ),
        seed_runs=seed_runs,
    )


def _pool_fields(pool: TwinSetup) -> dict[str, object]:
    return {
        "gpu": pool.gpu.id,
        "layout": pool.layout.label,
        "workers": pool.replicas,
        "kv_capacity_tokens_per_replica": pool.kv_capacity_tokens(),
        "max_batch": pool.max_batch,
        "max_step_tokens": pool.max_step_tokens,
        "prefix_caching": pool.prefix_caching,
    }


def _prefix_fields(resolved: Resolved) -> dict[str, object] | None:
    """The shared prefix the twin's traffic repeats, and why one is not credited."""
    prefix = resolved.prefix
    if prefix is None:
        return {"note": resolved.prefix_note} if resolved.prefix_note else None
    fields: dict[str, object] = {"shared_tokens": prefix.tokens, "hit_rate": prefix.hit_rate}
    if resolved.prefix_note:
        fields["note"] = resolved.prefix_note
    return fields
