"""Questions about one model on one GPU or server type: one configuration (`estimate`), every
configuration and the frontier (`configs`), and a server's capacity per working day
(`capacity`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmsize.economics import ApiPrice, CapacityResult
from llmsize.perf.context import PerfOptions
from llmsize.perf.results import ConfigsResult, EstimateResult

if TYPE_CHECKING:
    from llmsize.catalog import Gpu, LlmArch, Precision, Server
    from llmsize.economics import GivenPrices
    from llmsize.limits import Limits
    from llmsize.perf.context import PerfContext
    from llmsize.workload import Serving


@dataclass(frozen=True, slots=True)
class Question:
    """A question about one model on one GPU type: its parts, checked, and what answers it."""

    model: LlmArch
    gpu: Gpu
    server: Server
    precision: Precision | None
    context: PerfContext


def question_of(
    model: str | LlmArch,
    gpu: str,
    server: str | None,
    precision: str | None,
    tokens: int,
    options: PerfOptions,
) -> Question:
    """Resolve and check the flags estimate and configs share; load what answers them."""
    from llmsize.catalog import load_catalog
    from llmsize.catalog.precisions import checked
    from llmsize.errors import InputError
    from llmsize.perf.context import bare_server, perf_context

    catalog = load_catalog()
    arch = catalog.resolve_model(model, "--model") if isinstance(model, str) else model
    chip = catalog.gpus.get(gpu, "--gpu")
    box = catalog.servers.get(server, "--server") if server else bare_server(chip)
    if server and catalog.gpu_of(box).id != chip.id:
        raise InputError("--server", f"{box.id} holds {box.gpu}, not {chip.id}")
    asked = checked(precision, "--precision") if precision is not None else None
    if tokens > arch.context_window:
        raise InputError(
            "--input-tokens",
            f"input + output = {tokens} tokens exceeds the {arch.context_window}-token context "
            f"window of {arch.id}",
        )
    context = perf_context({arch.id, arch.name.lower()}, options)
    return Question(arch, chip, box, asked, context)


def kv_checked(kv_precision: str | None, gpu: Gpu) -> str | None:
    """A KV-cache precision a user asked for that this GPU can hold, or one InputError."""
    from llmsize.catalog.precisions import checked_kv
    from llmsize.errors import InputError

    if kv_precision is None:
        return None
    kv_precision = checked_kv(kv_precision, "--kv-precision")
    if kv_precision == "nvfp4" and not gpu.supports("nvfp4"):
        raise InputError("--kv-precision", f"{gpu.id} has no FP4 tensor cores for an NVFP4 cache")
    return kv_precision


def math_words(gpu: Gpu, precision: str) -> str:
    """'fp4 (native)' or 'bf16 (nvfp4 weights dequantized: W4A16)': what the matmuls run at."""
    rate, native = gpu.math(precision)
    if native:
        return f"{rate} (native on {gpu.id})"
    return f"{rate} ({precision} weights dequantized to {rate} math on {gpu.id})"


def default_precision(model: LlmArch) -> str:
    """What a model is estimated at when no precision is asked: its checkpoint's own (gpt-oss's
    MXFP4, DeepSeek-R1's FP8-block), else BF16."""
    return model.native.name if model.native is not None else "bf16"


def estimate(
    model: str,
    gpu: str,
    tp: int,
    batch: int,
    input_tokens: int,
    output_tokens: int,
    precision: str | None = None,
    mode: str = "inflight",
    *,
    server: str | None = None,
    source: str = "auto",
    calibration: Path | str | None = None,
    engine: str | None = None,
    bench: Sequence[Path | str] = (),
    pp: int = 1,
    attention_dp: int = 1,
    ep: int = 1,
    moe_tp: int = 0,
    kv_precision: str | None = None,
) -> EstimateResult:
    """TTFT, ITL, E2E and throughput of one configuration, with memory use and its source.
    A replica uses tp × attention_dp × pp GPUs, its MoE layers sharded ep × moe_tp over the same
    GPUs; `batch` is the replica's concurrency (or static batch), split over its attention-DP
    ranks."""
    from llmsize.deployment import Deployment, Layout
    from llmsize.errors import InputError
    from llmsize.perf.candidates import tp_problem, unsupported
    from llmsize.perf.memory import kv_precision as held_in

    for flag, value in (
        ("--tp", tp),
        ("--pp", pp),
        ("--attention-dp", attention_dp),
        ("--ep", ep),
        ("--batch", batch),
        ("--input-tokens", input_tokens),
        ("--output-tokens", output_tokens),
    ):
        if value < 1:
            raise InputError(flag, "must be at least 1")
    options = PerfOptions.of(source, calibration, engine, bench, mode)
    q = question_of(model, gpu, server, precision, input_tokens + output_tokens, options)
    arch, chip, box, ctx = q.model, q.gpu, q.server, q.context
    precision = q.precision or default_precision(arch)
    if moe_tp < 0:
        raise InputError("--moe-tp", "must be at least 1")
    layout = Layout(tp, pp, attention_dp, ep, moe_tp)
    faults = layout.faults(arch, box.gpus)
    if faults:
        field, why = faults[0]
        raise InputError(f"--{field}", why)
    kv = kv_checked(kv_precision, chip)
    for flag, problem in (
        ("--precision", unsupported(chip, precision)),
        ("--tp", tp_problem(arch, tp, box.gpus)),
    ):
        if problem:
            raise InputError(flag, problem)
    deployment = Deployment.aggregated(
        arch,
        box,
        chip,
        layout,
        precision,
        workers=max(1, box.gpus // layout.gpus),
        batch=batch,
        mode=mode,
        kv_cache=kv,
    )
    answer = ctx.perf.answer(deployment, input_tokens, output_tokens)
    memory = answer.memory
    assert memory is not None  # the model always says what memory a deployment needs
    found = answer.estimate
    if found is None and source == "measured":
        raise InputError(
            "--source", "no measured curve covers this configuration; try --source auto"
        )
    fits = found is not None
    ttft = found.ttft_ms if found else None
    itl = found.itl_ms if found else None
    e2e = found.e2e_ms if found else None
    rps = found.rps_per_server if found else None
    provenance = found.provenance if found else "modelled"
    origin, error = answer.origin, answer.typical_error
    per_gpu = None if rps is None else rps * output_tokens / box.gpus
    return EstimateResult(
        model=arch.id,
        gpu=chip.id,
        server=box.id,
        tp=tp,
        batch=batch,
        precision=precision,
        mode=mode,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        fits=fits,
        max_batch=memory.max_batch,
        weights_gib_per_gpu=memory.weights_gib,
        kv_gib_per_sequence=memory.kv_gib_per_sequence,
        memory_needed_gib_per_gpu=memory.needed_gib,
        memory_usable_gib_per_gpu=memory.usable_gib,
        ttft_ms=ttft,
        itl_ms=itl,
        e2e_ms=e2e,
        rps_per_server=rps,
        output_tokens_per_s_per_gpu=per_gpu,
        provenance=provenance,
        source=origin,
        typical_error=error,
        pp=pp,
        layout=layout.label,
        servers_per_replica=deployment.pool.servers_per_replica,
        kv_precision=kv or held_in(arch, precision),
        math=math_words(chip, precision),
        reason=answer.reason,
    )


def configs(
    model: str | LlmArch,
    gpu: str,
    input_tokens: int,
    output_tokens: int,
    precision: str | None = None,
    *,
    limits: Limits | None = None,
    mode: str = "inflight",
    server: str | None = None,
    source: str = "auto",
    calibration: Path | str | None = None,
    engine: str | None = None,
    bench: Sequence[Path | str] = (),
    kv_precision: str | None = None,
    precisions: Sequence[str] = (),
    serving: Serving | None = None,
) -> ConfigsResult:
    """The calculator's main screen: every (TP, batch), the latency-throughput frontier, and the
    throughput- and latency-optimal configurations within the limits (`kv_precision`: the KV
    cache held apart from the weights; `precisions`: several compared, in place of `precision`;
    `serving`: a prefix cache, speculative decoding or session history, as a use case's
    `usecase_question` gives them)."""
    from llmsize.catalog.precisions import checked
    from llmsize.limits import Limits
    from llmsize.perf.sources import lookup_each
    from llmsize.search import frontier, pick_optimal
    from llmsize.workload import PLAIN

    limits = limits or Limits()
    options = PerfOptions.of(source, calibration, engine, bench, mode)
    q = question_of(model, gpu, server, precision, input_tokens + output_tokens, options)
    arch, chip, box, ctx = q.model, q.gpu, q.server, q.context
    kv = kv_checked(kv_precision, chip) or ""
    asked = tuple(checked(p, "--precision") for p in precisions) or (q.precision,)
    lookup = lookup_each(
        ctx.perf,
        arch,
        box,
        chip,
        asked,
        input_tokens,
        output_tokens,
        kv=kv,
        serving=serving or PLAIN,
    )
    metric = limits.primary_metric if limits.any else "ttft_ms"
    feasible, best, fastest = pick_optimal(lookup.estimates, limits, metric)
    return ConfigsResult(
        model=arch.id,
        gpu=chip.id,
        server=box.id,
        precision=precision,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        limits=limits.as_dict(),
        metric=metric,
        points=lookup.estimates,
        frontier=frontier(lookup.estimates, metric),
        feasible=feasible,
        throughput_optimal=best,
        latency_optimal=fastest,
        missing=lookup.missing,
    )


def api_prices() -> list[ApiPrice]:
    """The packaged, dated API prices a use case's traffic is compared with (cost.api, --api);
    the first is the default."""
    from llmsize.economics import load_prices

    return list(load_prices().api.values())


def capacity(
    model: str | LlmArch,
    server: str,
    input_tokens: int,
    output_tokens: int,
    precision: str | None = None,
    *,
    limits: Limits | None = None,
    prices: GivenPrices | None = None,
    hours_per_day: float = 8.0,
    requests_per_user: float = 3.0,
    mode: str = "inflight",
    source: str = "auto",
    calibration: Path | str | None = None,
    engine: str | None = None,
    bench: Sequence[Path | str] = (),
    kv_precision: str | None = None,
    precisions: Sequence[str] = (),
    serving: Serving | None = None,
    queued: bool = False,
    cached_share: float = 0.0,
    api_cached_input_per_1k: float | None = None,
) -> CapacityResult:
    """The talk's business view: peak capacity per server, the sustainable average, requests,
    users and tokens per working day, the API cost of the same traffic and the server's own
    (your `prices`, else the packaged list). `precisions` and `serving` as `configs` takes
    them; `queued`: a batch job, whose requests wait, so the day's traffic is the capacity over
    all its hours, with no headroom for a Poisson peak; `cached_share` of the input the API
    bills at its cached-input rate (`api_cached_input_per_1k`, else its own)."""
    from llmsize.catalog import load_catalog
    from llmsize.economics import GivenPrices, api_cost, daily_capacity, plan_cost
    from llmsize.limits import Limits

    limits = limits or Limits()
    prices = prices or GivenPrices()
    api_price = prices.api_price()  # a bad --api is refused before the search
    box = load_catalog().servers.get(server, "--server")
    found = configs(
        model,
        box.gpu,
        input_tokens,
        output_tokens,
        precision,
        limits=limits,
        mode=mode,
        server=box.id,
        source=source,
        calibration=calibration,
        engine=engine,
        bench=bench,
        kv_precision=kv_precision,
        precisions=precisions,
        serving=serving,
    )
    best = found.throughput_optimal
    if best is None:
        return CapacityResult(found, None, None, None, None, None)
    daily = daily_capacity(
        best.rps_per_server,
        input_tokens,
        output_tokens,
        hours_per_day,
        requests_per_user,
        queued=queued,
    )
    server_price = prices.server_price(box.id)
    billed = hours_per_day if queued else 24.0  # a batch job's rented servers run its window
    cost = plan_cost(
        box.id, 1, daily.avg_rps, output_tokens, hours_per_day, server_price, prices.basis, billed
    )
    api = api_cost(daily, api_price, input_tokens, cached_share, api_cached_input_per_1k)
    return CapacityResult(
        found, daily, api, server_price, cost.per_month_usd, cost.usd_per_million_output_tokens
    )
