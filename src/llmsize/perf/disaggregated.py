"""Disaggregated serving in steady state: a prefill pool and a decode pool, the KV cache shipped
between them (the layout the `prefill_*` / `decode_*` columns of AIConfigurator's silicon runs
describe, as Dynamo, SGLang's PD mode and TensorRT-LLM's disaggregated serving run it).

Closed loop at a concurrency C, as those runs measure (and as `inflight_from_work` reads an
aggregated replica):
- decode: each of the decode pool's workers holds C / workers sequences (what its KV cache and
  scheduler admit; the rest wait for a slot). Its steps carry decode only, never a prefill, so
  the inter-token latency is one plain decode step at that batch;
- prefill: each of the prefill pool's workers takes C / workers prompts a cycle, as many to a
  pass as its token budget holds (per attention-DP rank). A request's first token waits for its
  own prompt (up to its group's pass: `group_wait`), for the passes of the prompts that arrived
  with it (closed-loop waves: `wave_sync`), and for its KV cache to reach the decode worker;
- the KV cache of a prompt crosses over NVLink where both pools share an NVLink domain (a GB200
  NVL72 rack), else over the network between servers, on as many GPU links as the narrower
  pool has GPUs;
- a pool that cannot keep up with the other sets the cycle: its queue lands in the first token
  (the prefill pool's, or a decode slot's);
- a shared prefix is cached on both sides (prefilled once, held once, never shipped), and
  speculative decoding runs on the decode workers (`disaggregated_times`);
- where the engine's client gets its first token from the decode worker (vLLM's NIXL flow:
  data/engines.yaml `disaggregated_first_token`), it waits on top for that worker's next step
  boundary (half a step) and the step that emits it.
Each pool's efficiencies are the calibration's for its own GPU and precision under the engine
(the same fit the aggregated model uses); nothing here is fitted to disaggregated runs, so every
disaggregated silicon run is out of sample.
"""

from __future__ import annotations

import functools
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmsize.perf.kv_budget import scheduler
from llmsize.perf.memory import kv_bytes_per_token, memory_fit
from llmsize.perf.roofline import (
    Params,
    Setup,
    decode_work,
    pass_seconds,
    prefill_work,
    verify_work,
)
from llmsize.workload import PLAIN, Serving

if TYPE_CHECKING:
    from llmsize.benchdb.silicon import DisaggregatedRun
    from llmsize.catalog import Catalog, Gpu, LlmArch, Server
    from llmsize.deployment import Layout
    from llmsize.perf.calibration import Calibration, ResolvedFit


@dataclass(frozen=True, slots=True)
class PoolSetup:
    """One pool: what a worker runs on, its calibrated efficiencies, and how many workers."""

    setup: Setup
    params: Params
    workers: int
    batch: int | None = None  # per attention-DP rank: prompts to a pass, or sequences running


@dataclass(frozen=True, slots=True)
class DisaggregatedTimes:
    """Per-request latencies (ms), the deployment's request rate, and where the time goes."""

    ttft_ms: float
    itl_ms: float
    e2e_ms: float
    rps: float
    transfer_ms: float  # one prompt's KV cache from its prefill worker to its decode worker
    prefill_ms: float  # one prompt's own prefill pass
    decode_batch: float  # sequences a decode worker runs per step
    prefill_group: float  # prompts a prefill worker runs per pass
    bottleneck: str  # "prefill", "decode" or "clients" (neither pool queues)


def decode_slots(pool: PoolSetup, context_tokens: int, serving: Serving = PLAIN) -> float:
    """Sequences one decode worker can run at once: its KV cache and its scheduler's cap, over
    its attention-DP ranks (each caches and schedules its own); a shared prefix is held once."""
    s = pool.setup
    fit = memory_fit(
        s.model,
        s.gpu,
        s.tp,
        s.precision,
        context_tokens,
        pp=s.pp,
        attention_dp=s.attention_dp,
        kv=s.kv,
        engine=s.engine,
        serving=serving,
    )
    cap = pool.batch or scheduler(s.engine).running_for(s.gpu) or fit.max_batch
    return float(s.attention_dp * min(fit.max_batch, cap) / s.pp)


def transfer_seconds(
    prefill: Setup, decode: Setup, input_tokens: float, shared_domain: bool
) -> float:
    """A prompt's KV cache crossing from the prefill to the decode worker: its bytes (in the
    cache's precision, every layer) over the links of the narrower pool's GPUs."""
    total = kv_bytes_per_token(prefill.model, 1, prefill.precision, prefill.kv) * input_tokens
    per_gpu = (
        min(prefill.gpu.link.gb_s, decode.gpu.link.gb_s) / 2
        if shared_domain
        else min(prefill.network_gb_s, decode.network_gb_s)
    )
    links = min(prefill.width * prefill.pp, decode.width * decode.pp)
    return total / (per_gpu * 1e9 * links)


def disaggregated_times(
    prefill: PoolSetup,
    decode: PoolSetup,
    concurrency: float,
    input_tokens: float,
    output_tokens: float,
    shared_domain: bool,
    serving: Serving = PLAIN,
) -> DisaggregatedTimes:
    """Steady state of a closed loop at `concurrency` over the two pools (module docstring).
    `serving.prefix`: a shared prefix that `hit_rate` of the prompts find in the prefill
    worker's prefix cache (computed once there, the rest of each prompt attending to it) and in
    the decode worker's (held once; only the rest of the KV cache crosses over).
    `serving.speculation`: a decode worker's step verifies the drafted tokens and drafts the
    next (as the aggregated model's), yielding `tokens_per_step` tokens a sequence."""
    out = max(output_tokens, 1.0)
    p, d = prefill.params, decode.params
    cached = min(serving.cached_tokens, max(input_tokens - 1.0, 0.0))
    # decode: a worker's share of the loop, as many as it admits
    per_decode = concurrency / decode.workers
    slots = decode_slots(decode, int(input_tokens + out), serving)
    running = max(1.0, min(per_decode, slots))
    context = input_tokens + out / 2
    t_d = pass_seconds(decode_work(decode.setup, running, context), d, d.step_overhead_ms)
    per_token = t_d
    spec = serving.speculation
    if spec is not None:  # a step verifies the drafts and drafts the next, as aggregated
        verify = verify_work(decode.setup, running, context, spec.draft_tokens)
        t_d = pass_seconds(verify, d, d.step_overhead_ms) + spec.draft_tokens * (
            spec.draft_share * t_d
        )
        per_token = t_d / spec.tokens_per_step
    # prefill: a worker's share, grouped to its token budget per rank
    s = prefill.setup
    per_prefill = concurrency / prefill.workers
    computed = max(input_tokens - cached, 1.0)
    per_rank = prefill.batch or scheduler(s.engine).tokens_for(s.gpu) // computed
    group = max(1.0, min(per_prefill, s.attention_dp * per_rank))
    t_p = pass_seconds(prefill_work(s, group, input_tokens, cached), p, p.prefill_overhead_ms)
    t_1 = pass_seconds(prefill_work(s, 1.0, input_tokens, cached), p, p.prefill_overhead_ms)
    busy = per_prefill / group * t_p  # a prefill worker's work per cycle of the loop
    own = t_1 + p.group_wait * max(t_p - t_1, 0.0)
    transfer = transfer_seconds(s, decode.setup, input_tokens - cached, shared_domain)
    request = p.request_overhead_ms * 1e-3
    first = request + own + p.wave_sync * max(busy - own, 0.0) / 2 + transfer
    if scheduler(decode.setup.engine).disaggregated_first_token == "decode":
        first += 1.5 * t_d  # the decode worker's step boundary, then the step that emits it
    decoding = (out - 1) * per_token
    cycle = first + decoding
    bottleneck = "clients"
    if busy > cycle:  # the prefill pool sets the pace: prompts queue for it
        first += busy - cycle
        cycle = busy
        bottleneck = "prefill"
    if per_decode > running:  # the rest wait for a decode slot (Little's law)
        rate = running / max(decoding + t_d, 1e-9)
        first += (per_decode - running) / rate
        bottleneck = "decode"
    e2e = first + decoding
    return DisaggregatedTimes(
        first * 1e3,
        per_token * 1e3,
        e2e * 1e3,
        concurrency / e2e,
        transfer * 1e3,
        t_1 * 1e3,
        running,
        group,
        bottleneck,
    )


def pool_setup(
    model: LlmArch,
    gpu: Gpu,
    server: Server,
    layout: Layout,
    precision: str,
    engine: str,
    calibration: Calibration,
    catalog: Catalog,
    workers: int,
    batch: int | None = None,
    kv: str = "",
) -> tuple[PoolSetup, ResolvedFit]:
    """One pool on its servers' fabric, with its GPU's calibrated efficiencies under `engine`
    (and which fit they are); `kv` the KV cache's precision where asked apart from the weights."""
    setup = Setup.on(model, gpu, server, layout, precision, kv=kv, engine=engine)
    resolved = calibration.resolve(engine, gpu, precision, catalog)
    return PoolSetup(setup, resolved.params, workers, batch), resolved


def shares_domain(
    prefill: PoolSetup, prefill_server: Server, decode: PoolSetup, decode_server: Server
) -> bool:
    """Whether one NVLink domain holds both pools (a GB200 NVL72 rack's 72 GPUs): the KV cache
    then crosses NVLink; between servers it crosses the network."""
    gpus = sum(p.setup.width * p.setup.pp * p.workers for p in (prefill, decode))
    return prefill_server.id == decode_server.id and gpus <= prefill_server.nvlink_domain


@dataclass(frozen=True, slots=True)
class SiliconCheck:
    """A disaggregated silicon run beside what the model says of it."""

    run: DisaggregatedRun
    times: DisaggregatedTimes
    model: LlmArch  # the run's model and GPU in catalog terms
    gpu: str

    def errors(self) -> dict[str, float]:
        """Absolute relative error of the model's TTFT and ITL against the run's TTFT and TPOT
        (0.1 = 10 %)."""
        return {
            "ttft": abs(self.times.ttft_ms / self.run.ttft_ms - 1),
            "itl": abs(self.times.itl_ms / self.run.tpot_ms - 1),
        }


def check_silicon(
    runs: Iterable[DisaggregatedRun], catalog: Catalog, calibration: Calibration
) -> tuple[list[SiliconCheck], Counter[str]]:
    """The model's answer for each disaggregated run it can represent, each pool on the run's
    GPU (its widest NVLink server type) under the run's engine; the others counted by reason."""
    from llmsize.benchdb.silicon import NO_WORKER_COUNTS, ran_on

    checks: list[SiliconCheck] = []
    skipped: Counter[str] = Counter()
    for run in runs:
        pools = (run.prefill, run.decode)
        where = f"{run.origin} (run {run.row}): model_path"
        found = ran_on(catalog, run.model, run.gpu, run.precision, where)
        if found is None:
            skipped["GPU not in the catalog"] += 1
            continue
        model, gpu, precision, server = found.model, found.gpu, found.precision, found.server
        if not gpu.runs(precision):
            skipped["precision not modelled on that GPU"] += 1
            continue
        if server is None:
            skipped["no server type of that GPU"] += 1
            continue
        if any(p.layout.faults(model, server.gpus) for p in pools):
            skipped["layout the model cannot take (TP not dividing the heads)"] += 1
            continue
        tokens = run.input_tokens + run.output_tokens
        if not all(_holds(model, gpu, p.layout, precision, tokens, run.engine) for p in pools):
            skipped[CANNOT_HOLD] += 1
            continue
        if min(p.workers for p in pools) < 1:
            skipped[NO_WORKER_COUNTS] += 1
            continue
        prefill, _ = pool_setup(
            model, gpu, server, run.prefill.layout, precision, run.engine, calibration,
            catalog, run.prefill.workers, run.prefill.batch,
        )  # fmt: skip
        decode, _ = pool_setup(
            model, gpu, server, run.decode.layout, precision, run.engine, calibration,
            catalog, run.decode.workers, run.decode.batch,
        )  # fmt: skip
        shared = shares_domain(prefill, server, decode, server)
        times = disaggregated_times(
            prefill, decode, run.concurrency, run.input_tokens, run.output_tokens, shared
        )
        checks.append(SiliconCheck(run, times, model, gpu.id))
    return checks, skipped


CANNOT_HOLD = "recorded layout cannot hold the model (its weights and one request's KV cache)"
"""A pool layout on which the run could not have run (e.g. DeepSeek-R1 at TP1 on one GPU): the
row's layout columns say something else than the layout, so the model is not asked."""


def _holds(
    model: LlmArch, gpu: Gpu, layout: Layout, precision: str, tokens: int, engine: str
) -> bool:
    fit = memory_fit(
        model, gpu, layout.tp, precision, tokens, pp=layout.pp,
        attention_dp=layout.attention_dp, engine=engine,
    )  # fmt: skip
    return fit.fits


def median_errors(checks: Sequence[SiliconCheck]) -> tuple[float, float]:
    """Median absolute percentage error of TTFT and of TPOT, %."""
    errors = [c.errors() for c in checks]
    ttft = statistics.median(e["ttft"] for e in errors)
    tpot = statistics.median(e["itl"] for e in errors)
    return 100 * ttft, 100 * tpot


@functools.cache
def bundled_checks() -> tuple[tuple[SiliconCheck, ...], int]:
    """The bundled disaggregated silicon runs the model answers, and how many rows there were."""
    from llmsize.benchdb.silicon import BUNDLED, bundled_text, read_disaggregated
    from llmsize.catalog import load_catalog
    from llmsize.perf.calibration import load_calibration

    runs, skipped = read_disaggregated(bundled_text(), BUNDLED)
    checks, _ = check_silicon(runs, load_catalog(), load_calibration(None))
    return tuple(checks), len(runs) + sum(skipped.values())


def architecture(model: LlmArch) -> tuple[object, ...]:
    """What makes two catalog models the same network (DeepSeek-R1 is DeepSeek-V3's): every
    shape field, not the name or the source."""
    return (
        model.layers, model.hidden, model.heads, model.kv_heads, model.head_dim, model.ffn,
        model.ffn_kind, model.vocab, model.experts, model.experts_per_token, model.blocks,
    )  # fmt: skip


def measured_error(engine: str, model: LlmArch, gpu: str) -> str:
    """The model's median error on the bundled disaggregated runs of this engine, this model's
    architecture and this GPU (out of sample: nothing here is fitted to them); "unvalidated"
    and why where there are none, with no figure (another model's or GPU's error is not this
    one's)."""
    checks, _ = bundled_checks()
    name = engine.split("-")[0]
    mine = [c for c in checks if c.run.engine == name]
    if not mine:
        return f"unvalidated (no disaggregated measurements of {engine})"
    shape = architecture(model)
    here = [c for c in mine if c.gpu == gpu and architecture(c.model) == shape]
    if not here:
        cases = sorted({f"{c.model.id} on {c.gpu}" for c in mine})
        return (
            f"unvalidated (no disaggregated {name} runs of {model.id} on {gpu}; measured: "
            f"{', '.join(cases)})"
        )
    ttft, tpot = median_errors(here)
    runs = f"{len(here)} disaggregated {name} run{'s' if len(here) != 1 else ''}"
    measured = here[0].model.id
    same = "" if measured == model.id else f", the same network as {model.id}"
    return (
        f"median error TTFT {ttft:.0f} %, TPOT {tpot:.0f} % over {runs} of {measured}{same} "
        f"on {gpu} (AIConfigurator silicon sample; none fitted on)"
    )
