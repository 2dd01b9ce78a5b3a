"""The disaggregated questions: one prefill/decode deployment (`estimate_disaggregated`), and
every prefill/decode unit of a model on one server type within latency limits
(`configs_disaggregated`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmsize.api.questions import default_precision
from llmsize.errors import InputError
from llmsize.perf.context import PerfOptions
from llmsize.perf.results import DisaggregatedResult, PoolResult

if TYPE_CHECKING:
    from llmsize.catalog import Server
    from llmsize.limits import Limits
    from llmsize.perf.calibration import ResolvedFit
    from llmsize.perf.disaggregated import PoolSetup
    from llmsize.search.disaggregated import DisaggregatedChoice, DisaggregatedConfigs


POOL_KEYS = ("gpu", "server", "tp", "pp", "attention_dp", "ep", "moe_tp", "workers", "batch")
"""What a pool of `estimate_disaggregated` may say: the `prefill_*` / `decode_*` columns of a
silicon CSV, and the GPU and server type it runs on (default: the call's)."""


def estimate_disaggregated(
    model: str,
    gpu: str,
    input_tokens: int,
    output_tokens: int,
    precision: str | None = None,
    *,
    engine: str | None = None,
    prefill: dict[str, object] | None = None,
    decode: dict[str, object] | None = None,
    concurrency: int | None = None,
    server: str | None = None,
    calibration: Path | str | None = None,
) -> DisaggregatedResult:
    """TTFT, ITL, throughput and GPUs of a disaggregated deployment: a prefill pool and a decode
    pool, each `{tp, pp, attention_dp, ep, moe_tp, workers, batch}` as the `prefill_*` and
    `decode_*` columns of AIConfigurator's silicon runs mean them (batch per attention-DP rank),
    optionally on a `gpu` and `server` of its own. The load is a closed loop at `concurrency`
    (default: what the decode pool holds, batch x attention_dp x workers). Modelled
    (perf/disaggregated.py), never fitted to disaggregated runs; the error shown is measured
    against the bundled disaggregated silicon runs of that engine, where there are some."""
    from llmsize.catalog import load_catalog
    from llmsize.catalog.precisions import checked
    from llmsize.deployment import Layout
    from llmsize.errors import InputError
    from llmsize.perf.candidates import unsupported
    from llmsize.perf.context import bare_server, perf_context
    from llmsize.perf.disaggregated import (
        disaggregated_times,
        measured_error,
        pool_setup,
        shares_domain,
    )

    for flag, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        if value < 1:
            raise InputError(flag, "must be at least 1")
    options = PerfOptions.of("model", calibration, engine, (), "inflight")
    arch = load_catalog().resolve_model(model, "model")
    ctx = perf_context({arch.id, arch.name.lower()}, options)
    catalog = ctx.catalog
    if input_tokens + output_tokens > arch.context_window:
        raise InputError(
            "input_tokens",
            f"input + output = {input_tokens + output_tokens} tokens exceeds the "
            f"{arch.context_window}-token context window of {arch.id}",
        )
    precision_name = (
        checked(precision, "precision") if precision is not None else default_precision(arch)
    )
    pools = []
    for name, given in (("prefill", prefill), ("decode", decode)):
        spec = dict(given or {})
        unknown = sorted(set(spec) - set(POOL_KEYS))
        if unknown:
            raise InputError(f"{name}.{unknown[0]}", f"is not one of {', '.join(POOL_KEYS)}")
        chip = catalog.gpus.get(str(spec.get("gpu", gpu)), f"{name}.gpu")
        named = spec.get("server", server if "gpu" not in spec else None)
        box = catalog.servers.get(str(named), f"{name}.server") if named else bare_server(chip)
        if catalog.gpu_of(box).id != chip.id:
            raise InputError(f"{name}.server", f"{box.id} holds {box.gpu}, not {chip.id}")
        numbers: dict[str, int | None] = {}
        for key in ("tp", "pp", "attention_dp", "ep", "moe_tp", "workers", "batch"):
            stated = spec.get(key)
            if stated is None:
                numbers[key] = None
                continue
            if not isinstance(stated, int) or isinstance(stated, bool):
                raise InputError(f"{name}.{key}", f"must be a whole number, got {stated!r}")
            if stated < (0 if key == "moe_tp" else 1):
                raise InputError(f"{name}.{key}", "must be at least 1")
            numbers[key] = stated
        layout = Layout(
            numbers["tp"] or 1,
            numbers["pp"] or 1,
            numbers["attention_dp"] or 1,
            numbers["ep"] or 1,
            numbers["moe_tp"] or 0,
        )
        faults = layout.faults(arch, box.gpus)
        if faults:
            raise InputError(f"{name}.{faults[0][0]}", faults[0][1])
        problem = unsupported(chip, precision_name)
        if problem:
            raise InputError("precision", problem)
        pool, fit = pool_setup(
            arch,
            chip,
            box,
            layout,
            precision_name,
            ctx.engine,
            ctx.calibration,
            catalog,
            numbers["workers"] or 1,
            numbers["batch"],
        )
        pools.append((pool, fit, box))
    (p_pool, p_fit, p_box), (d_pool, d_fit, d_box) = pools
    if concurrency is None:
        if d_pool.batch is None:
            raise InputError("concurrency", "give it, or decode.batch (per attention-DP rank)")
        concurrency = d_pool.batch * d_pool.setup.attention_dp * d_pool.workers
    if concurrency < 1:
        raise InputError("concurrency", "must be at least 1")
    shared = shares_domain(p_pool, p_box, d_pool, d_box)
    t = disaggregated_times(p_pool, d_pool, concurrency, input_tokens, output_tokens, shared)
    gpus = sum(p.setup.width * p.setup.pp * p.workers for p in (p_pool, d_pool))
    tokens_per_s = t.rps * output_tokens

    def result(pool: PoolSetup, fit: ResolvedFit, box: Server) -> PoolResult:
        s = pool.setup
        layout = Layout(s.tp, s.pp, s.attention_dp, s.ep)
        return PoolResult(
            s.gpu.id,
            box.id,
            layout.label,
            pool.workers,
            pool.batch,
            s.width * s.pp * pool.workers,
            fit.label,
        )

    return DisaggregatedResult(
        model=arch.id,
        precision=precision_name,
        engine=ctx.engine,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        concurrency=concurrency,
        prefill=result(p_pool, p_fit, p_box),
        decode=result(d_pool, d_fit, d_box),
        ttft_ms=t.ttft_ms,
        itl_ms=t.itl_ms,
        e2e_ms=t.e2e_ms,
        deployment_rps=t.rps,
        output_tokens_per_s=tokens_per_s,
        output_tokens_per_s_per_gpu=tokens_per_s / gpus,
        gpus=gpus,
        transfer_ms=t.transfer_ms,
        kv_link="nvlink" if shared else "network",
        decode_batch=t.decode_batch,
        prefill_group=t.prefill_group,
        bottleneck=t.bottleneck,
        provenance="modelled",
        typical_error=measured_error(
            ctx.engine, arch, " + ".join(sorted({p_pool.setup.gpu.id, d_pool.setup.gpu.id}))
        ),
    )


def configs_disaggregated(
    model: str,
    gpu: str,
    input_tokens: int,
    output_tokens: int,
    precision: str | None = None,
    *,
    limits: Limits | None = None,
    server: str | None = None,
    engine: str | None = None,
    calibration: Path | str | None = None,
    kv_precision: str | None = None,
) -> DisaggregatedConfigs:
    """Every disaggregated unit of `model` on one server type: P prefill and D decode workers
    (the ratios and the narrowest layouts `plan --disaggregated` searches), each at its most
    concurrent requests whose mean latencies keep the limits; the frontier of output tokens a
    second per GPU against the limiting latency, and the throughput- and latency-optimal
    units. Modelled (perf/disaggregated.py); the error shown is measured where disaggregated runs
    of that engine, network and GPU were, else "unvalidated"."""
    from llmsize.api.questions import kv_checked, question_of
    from llmsize.limits import Limits
    from llmsize.perf.disaggregated import measured_error
    from llmsize.search.disaggregated import (
        DisaggregatedConfigs,
        UnitAsk,
        disaggregated_units,
    )
    from llmsize.search.steady import pareto_front

    limits = limits or Limits()
    options = PerfOptions.of("model", calibration, engine, (), "inflight")
    q = question_of(model, gpu, server, precision, input_tokens + output_tokens, options)
    for flag, value in (("--input-tokens", input_tokens), ("--output-tokens", output_tokens)):
        if value < 1:
            raise InputError(flag, "must be at least 1")
    kv = kv_checked(kv_precision, q.gpu) or ""
    ask = UnitAsk(
        q.model,
        input_tokens,
        output_tokens,
        limits,
        kv=kv,
        precisions=(q.precision,) if q.precision else (),
    )
    found, reason = disaggregated_units(ask, q.context, q.server)
    metric = limits.primary_metric if limits.any else "ttft_ms"

    def per_gpu(unit: DisaggregatedChoice) -> float:
        return unit.tokens_per_gpu(output_tokens)

    def latency(unit: DisaggregatedChoice) -> float:
        return float(getattr(unit.times, metric))

    units = tuple(sorted(found, key=lambda u: (-per_gpu(u), latency(u), u.label)))
    front = pareto_front(units, latency, per_gpu)
    return DisaggregatedConfigs(
        model=q.model.id,
        gpu=q.gpu.id,
        server=q.server.id,
        engine=q.context.engine,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        limits=limits.as_dict(),
        metric=metric,
        units=units,
        frontier=front,
        throughput_optimal=units[0] if units else None,
        latency_optimal=min(units, key=lambda u: (latency(u), -per_gpu(u))) if units else None,
        typical_error=measured_error(q.context.engine, q.model, q.gpu.id),
        reason=reason,
    )
