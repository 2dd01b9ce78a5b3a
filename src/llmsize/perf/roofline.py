"""A roofline model of one LLM forward pass, with every efficiency and overhead a named parameter.

Time of a pass = max(compute time, memory time) + tensor-parallel all-reduce time + fixed overhead
(per pass, and per layer for the kernels each layer launches):
- compute: matmul FLOPs / (TP x peak x e_compute x M / (M + gemm_half_tokens)) + attention FLOPs /
  (TP x peak x e_attention), where M is the tokens in the pass: a matmul over few rows (a decode
  step of a small batch) uses the tensor cores poorly;
- memory: weight bytes / (TP x bandwidth x e_memory) + KV-cache bytes / (TP x bandwidth x e_kv);
- all-reduce: ring traffic per GPU / (link x e_link) + calls x allreduce_us, two per layer (one
  with parallel attention, as in GPT-J and Falcon), over NVLink when TP fits in the NVLink domain
  and over PCIe otherwise.

The work of a pass is computed from the architecture (`Work`); the time formula works on floats and
on numpy arrays alike (`maximum` is passed in), so calibration evaluates thousands of rows at once
through the same code that answers a single estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from llmsize.catalog import Gpu, LlmArch, Server
from llmsize.deployment import Layout
from llmsize.perf.costs import Costs, costs_of
from llmsize.perf.kv_budget import scheduler
from llmsize.perf.memory import memory_fit
from llmsize.workload import PLAIN, Serving, Speculation

ACTIVATION_BYTES = 2.0
"""All-reduce messages carry 16-bit activations."""


@dataclass(frozen=True, slots=True)
class Params:
    """Efficiencies (fractions of datasheet peak) and overheads; fitted per GPU and precision."""

    e_compute: float = 0.55
    e_attention: float = 0.35
    e_memory: float = 0.80
    e_kv: float = 0.60
    e_link: float = 0.50
    allreduce_us: float = 8.0
    prefill_overhead_ms: float = 2.0
    step_overhead_ms: float = 1.0
    layer_overhead_us: float = 10.0
    gemm_half_tokens: float = 64.0
    e_experts: float = 1.0
    moe_spread: float = 1.0
    kv_reread: float = 0.5
    wave_sync: float = 0.5
    group_wait: float = 1.0
    request_overhead_ms: float = 10.0  # the front end's, per request: no GPU held (in-flight)
    sequence_overhead_us: float = 0.0  # the host's, per sequence a step samples (see pass_parts)
    moe_width_exponent: float = 0.0  # experts over more GPUs read slower than their share (ibid.)

    @staticmethod
    def names() -> tuple[str, ...]:
        return tuple(f.name for f in fields(Params))

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in self.names()}


EFFICIENCIES = ("e_compute", "e_attention", "e_memory", "e_kv", "e_link")
"""Parameters bounded by 1: a prediction is never faster than the roofline at 100 % efficiency."""

FRACTIONS = ("e_experts", "moe_spread", "kv_reread", "wave_sync", "group_wait")
"""Parameters in (0, 1] that scale extra bytes:
- e_experts: how well the engine's MoE (grouped) matmuls run relative to dense ones;
- moe_spread: the share of the expert weights that uniform top-k routing would read that a
  batch actually reads (1 = uniform routing, as trained routers roughly do; the bundled DLI
  sweep used random weights, whose routing hits far fewer experts);
- kv_reread: the share of the KV cache read again per extra query head when a grouped-query
  group is wider than the engine's kernels cover (GQA_KERNEL_GROUP);
- wave_sync: in-flight batching under a closed loop, how much arrivals stay bunched in waves
  (1: a whole wave queues for its prefill passes, 0: arrivals spread evenly);
- group_wait: how much of its group's whole prefill pass a request's first token waits for
  (1: prompts are prefilled a group to a pass and all get their first token when it ends, as
  TensorRT-LLM runs whole contexts in one iteration and SGLang runs prefill batches apart from
  decoding; near 0: its own prompt only, as vLLM's chunked prefill rides each prompt's chunk in
  the running decode steps). An engine profile takes it from its scheduler (`mixed_prefill` in
  data/engines.yaml); the 2024 engines fit it."""


@dataclass(frozen=True, slots=True)
class Setup:
    """What a pass runs on: model, GPU, TP degree, precision, and how many GPUs share NVLink."""

    model: LlmArch
    gpu: Gpu
    tp: int
    precision: str
    nvlink_domain: int
    pp: int = 1  # pipeline stages: memory per GPU; the pass is timed whole (perf/pipeline.py)
    kv: str = ""  # the KV cache's precision when asked apart from the weights ('' : it follows)
    engine: str = ""  # whose KV budget rule sizes the cache ('' : the default engine's)
    attention_dp: int = 1  # attention data-parallel ranks, each a TP group with its own batch
    ep: int = 1  # expert-parallel ranks of the MoE layers (MoE-TP is width / ep)
    network_gb_s: float = 50.0  # per GPU, one direction, between NVLink domains

    @classmethod
    def of(
        cls,
        model: LlmArch,
        gpu: Gpu,
        layout: Layout,
        precision: str,
        nvlink_domain: int,
        network_gb_s: float,
        *,
        kv: str = "",
        engine: str = "",
    ) -> Setup:
        """A replica of `layout` (the shared deployment type's) on servers with this fabric."""
        return cls(
            model,
            gpu,
            layout.tp,
            precision,
            nvlink_domain,
            layout.pp,
            kv,
            engine,
            attention_dp=layout.attention_dp,
            ep=layout.ep,
            network_gb_s=network_gb_s,
        )

    @classmethod
    def on(
        cls,
        model: LlmArch,
        gpu: Gpu,
        server: Server,
        layout: Layout,
        precision: str,
        *,
        kv: str = "",
        engine: str = "",
    ) -> Setup:
        """A replica of `layout` on servers of this type (their NVLink domain and network)."""
        return cls.of(
            model,
            gpu,
            layout,
            precision,
            server.nvlink_domain,
            server.network_gb_s,
            kv=kv,
            engine=engine,
        )

    @property
    def width(self) -> int:
        """GPUs per stage: tp × attention_dp; the MoE layers use the same ones as ep × moe_tp."""
        return self.tp * self.attention_dp

    @property
    def moe_tp(self) -> int:
        return max(1, self.width // self.ep)

    @property
    def peak_flops(self) -> float:
        """The replica's matmul rate at the precision's math (native, or the wider math its
        weights are dequantized to)."""
        return self.width * self.gpu.rate(self.precision) * 1e12

    @property
    def costs(self) -> Costs:
        return costs_of(self.model, self.precision, self.tp, self.gpu, self.kv)

    @property
    def bandwidth(self) -> float:
        return self.width * self.gpu.bandwidth_tb_s * 1e12

    @property
    def link_bandwidth(self) -> float:
        """One direction of one GPU's link, bytes/s: NVLink within the domain; a TP group wider
        than it (a PCIe server) runs over PCIe; expert all-to-all wider than it over the
        network between servers."""
        if self.tp > self.nvlink_domain:
            return self.gpu.pcie_gb_s / 2 * 1e9
        if self.width > self.nvlink_domain:
            return min(self.gpu.link.gb_s / 2, self.network_gb_s) * 1e9
        return self.gpu.link.gb_s / 2 * 1e9


def default_nvlink_domain(gpu: Gpu) -> int:
    """GPUs sharing a fabric when no server is named: NVSwitch 8, NVLink bridges 2, PCIe 1."""
    return {"nvlink": 8, "infinity-fabric": 8, "ethernet": 8, "nvlink-bridge": 2}.get(
        gpu.link.kind, 1
    )


@dataclass(frozen=True, slots=True)
class Work:
    """What one pass of a TP group does; fields are floats or numpy arrays of them."""

    tokens: Any  # rows of every layer's matmuls in the pass
    logits: Any  # rows of the LM-head matmul (the last position of each sequence in a prefill)
    flops_linear: Any
    flops_experts: Any  # the MoE expert matmuls (top-k per token), at e_experts of dense speed
    flops_head: Any
    flops_attention: Any
    bytes_weights: Any
    bytes_experts: Any  # MoE expert weights read under uniform routing (x moe_spread)
    bytes_kv: Any
    bytes_kv_reread: Any  # extra KV reads of a too-wide GQA group (x kv_reread)
    allreduce_bytes: Any  # ring traffic through one GPU's link
    allreduce_calls: Any
    layers: Any  # kernel launches and syncs scale with depth (layer_overhead_us each)
    peak_flops: Any
    bandwidth: Any
    link_bandwidth: Any
    moe_gpus: Any  # GPUs the routed experts are spread over (ep x moe_tp); 1 without experts


def collectives(setup: Setup, tokens: float) -> tuple[float, float]:
    """Bytes through one GPU's link and collective calls of one pass over `tokens` tokens (the
    whole replica's): the attention TP group's all-reduces on its rank's tokens; in MoE layers
    of an expert-parallel or attention-DP layout, the dispatch and combine all-to-all of each
    token's top-k copies across the EP ranks, and the MoE-TP group's all-reduce of what its rank
    computed."""
    c, hidden = setup.costs, setup.model.hidden
    tp, dp, ep, moe_tp = setup.tp, setup.attention_dp, setup.ep, setup.moe_tp
    moe_layers = sum(m.count for m in c.moe)
    split = (ep > 1 or dp > 1) and moe_layers > 0
    attention_calls = c.allreduce_calls - (moe_layers if split else 0)
    rank_tokens = tokens / dp
    traffic = calls = 0.0
    if tp > 1:
        traffic += attention_calls * 2 * (tp - 1) / tp * rank_tokens * hidden * ACTIVATION_BYTES
        calls += attention_calls
    if split:
        top_k = max(m.top_k for m in c.moe)
        if ep > 1:
            copies = tokens / setup.width * top_k
            traffic += moe_layers * 2 * (ep - 1) / ep * copies * hidden * ACTIVATION_BYTES
            calls += 2 * moe_layers
        if moe_tp > 1:
            routed = tokens * min(top_k, ep) / ep
            traffic += moe_layers * 2 * (moe_tp - 1) / moe_tp * routed * hidden * ACTIVATION_BYTES
            calls += moe_layers
    return traffic, calls


def _work(
    setup: Setup,
    tokens: float,
    logits: float,
    attention: float,
    kv_bytes: float,
    reread_bytes: float,
) -> Work:
    c = setup.costs
    ar_bytes, ar_calls = collectives(setup, tokens)
    return Work(
        tokens=tokens / setup.attention_dp,  # matmul rows: each attention-DP rank its own
        logits=logits / setup.attention_dp,
        flops_linear=2 * tokens * c.dense_params_scaled + tokens * c.token_flops,
        flops_experts=2 * tokens * c.active_expert_params_scaled,
        flops_head=2 * logits * c.head_params,
        flops_attention=attention,
        bytes_weights=c.bytes_dense * setup.attention_dp,  # each DP rank reads its copy
        bytes_experts=c.expert_bytes(tokens),
        bytes_kv=kv_bytes,
        bytes_kv_reread=reread_bytes,
        allreduce_bytes=ar_bytes,
        allreduce_calls=ar_calls,
        layers=float(c.layers),
        peak_flops=setup.peak_flops,
        bandwidth=setup.bandwidth,
        link_bandwidth=setup.link_bandwidth,
        moe_gpus=float(setup.width if c.moe else 1),
    )


def prefill_work(setup: Setup, batch: float, input_tokens: float, cached: float = 0.0) -> Work:
    """Prefill of `batch` prompts of `input_tokens`: causal attention, KV written, last logits.
    The first `cached` tokens of each were found in the prefix cache: only the rest runs through
    the matmuls, attending to the whole prompt."""
    c = setup.costs
    return _work(
        setup,
        batch * (input_tokens - cached),
        batch,
        batch * c.suffix_attention_flops(input_tokens, cached),
        batch * c.prefill_kv_bytes(input_tokens, cached),
        0.0,
    )


def decode_work(setup: Setup, batch: float, context: float) -> Work:
    """One decode step of `batch` sequences at `context` tokens: every weight and KV entry read."""
    c = setup.costs
    return _work(
        setup,
        batch,
        batch,
        c.decode_attention_flops(batch, batch * context),
        c.decode_kv_bytes(batch, batch * context),
        c.reread_bytes(batch * context),
    )


def verify_work(setup: Setup, batch: float, context: float, drafted: int) -> Work:
    """A speculative step's target pass: each of `batch` sequences runs its last token and the
    `drafted` tokens proposed for it through the model (rows, logits and attention queries all
    grow), reading its KV cache once."""
    c = setup.costs
    rows = batch * (drafted + 1)
    return _work(
        setup,
        rows,
        rows,
        (drafted + 1) * c.decode_attention_flops(batch, batch * context),
        c.decode_kv_bytes(batch, batch * context),
        c.reread_bytes(batch * context),
    )


def mixed_work(
    setup: Setup,
    decode_seqs: int,
    context_sum: float,
    prefill_tokens: float,
    prefill_attention_units: float,
    prefill_done: int,
) -> Work:
    """One step of continuous batching: `decode_seqs` sequences (contexts summing to
    `context_sum`) each decode a token, while prompt chunks of `prefill_tokens` tokens are
    prefilled; `prefill_attention_units` = sum over chunks of c x (prior + c / 2), and
    `prefill_done` prompts finish (and produce logits) in this step."""
    c = setup.costs
    attention = c.decode_attention_flops(decode_seqs, context_sum)
    kv = c.decode_kv_bytes(decode_seqs, context_sum)
    if prefill_tokens > 0:
        attention += c.chunk_attention_flops(prefill_tokens, prefill_attention_units)
        kv += prefill_tokens * c.kv_bytes_per_token
    return _work(
        setup,
        decode_seqs + prefill_tokens,
        decode_seqs + prefill_done,
        attention,
        kv,
        c.reread_bytes(context_sum),
    )


def pass_seconds(
    work: Work, params: Params, overhead_ms: Any, maximum: Callable[[Any, Any], Any] = max
) -> Any:
    """The roofline time of one pass (seconds); `maximum` is max, or numpy.maximum for arrays."""
    compute, memory, other = pass_parts(work, params)
    return maximum(compute, memory) + other + overhead_ms * 1e-3


def pass_parts(work: Work, params: Params) -> tuple[Any, Any, Any]:
    """Seconds of compute, of memory traffic, and of everything that adds to their maximum
    (all-reduces, per-layer launches, and the host's work for each sequence the pass samples a
    token of: sampling, stop checks, handing the token to the front end, which on a CPU
    backend or a small model is most of a step's growth with the batch; the per-pass overhead
    is the caller's).

    Routed experts are read as if spread evenly over their GPUs, slowed by moe_gpus to the
    `moe_width_exponent`: the busiest expert-parallel rank sets a step's pace, and an expert cut
    into narrower MoE-TP slices reads less of the bandwidth (fitted in the engine profiles)."""
    half = params.gemm_half_tokens
    layers = params.e_compute * work.tokens / (work.tokens + half)
    rows = work.logits + 1e-30  # a step whose prompts all continue has no LM-head rows at all
    head = params.e_compute * rows / (rows + half)
    compute = (
        work.flops_linear / (work.peak_flops * layers)
        + work.flops_experts / (work.peak_flops * layers * params.e_experts)
        + work.flops_head / (work.peak_flops * head)
        + work.flops_attention / (work.peak_flops * params.e_attention)
    )
    spread = work.moe_gpus**params.moe_width_exponent
    weights = work.bytes_weights + spread * params.moe_spread * work.bytes_experts
    kv = work.bytes_kv + params.kv_reread * work.bytes_kv_reread
    memory = weights / (work.bandwidth * params.e_memory) + kv / (work.bandwidth * params.e_kv)
    comm = work.allreduce_bytes / (work.link_bandwidth * params.e_link)
    comm = comm + work.allreduce_calls * params.allreduce_us * 1e-6
    fixed = work.layers * params.layer_overhead_us + work.logits * params.sequence_overhead_us
    return compute, memory, comm + fixed * 1e-6


@dataclass(frozen=True, slots=True)
class StepTimes:
    """Per-request latencies (ms) and one TP instance's request rate (floats or arrays)."""

    ttft_ms: Any
    itl_ms: Any
    e2e_ms: Any
    instance_rps: Any


def static_from_work(
    prefill: Work,
    decode: Work,
    params: Params,
    batch: Any,
    output_tokens: Any,
    maximum: Callable[[Any, Any], Any] = max,
) -> StepTimes:
    """Static batching, the calculator's semantics: prefill of the whole batch, then decode steps
    at the average context (input + output / 2) until every sequence has its output."""
    ttft = pass_seconds(prefill, params, params.prefill_overhead_ms, maximum)
    itl = pass_seconds(decode, params, params.step_overhead_ms, maximum)
    e2e = ttft + (output_tokens - 1) * itl
    return StepTimes(ttft * 1e3, itl * 1e3, e2e * 1e3, batch / e2e)


def inflight_from_work(
    decode: Work,
    prefill_group: Work,
    first: Work,
    params: Params,
    concurrency: Any,
    running: Any,
    group: Any,
    output_tokens: Any,
    maximum: Callable[[Any, Any], Any] = max,
    draft: Work | None = None,
    draft_passes: float = 0.0,
    tokens_per_step: float = 1.0,
) -> StepTimes:
    """Steady state of in-flight batching at a fixed concurrency C (closed loop, as GenAI-Perf,
    AIPerf and AIConfigurator's silicon runs measure).

    `running` = min(C, sequences whose KV cache fits); the rest queue for a slot. Each running
    request is prefilled once per lifetime, `group` prompts to a pass (as many as one step's
    token budget takes), so a lifetime is T = out x t_d + (running / group) x t_prefill: its own
    decode steps plus every prefill pass that interrupts them, and the rate is running / T.
    The first token comes after half a decode step (the step in progress), the request's own
    prefill, and the others' prefills that arrive with it. Its own prefill is one prompt's
    (`first`) up to its group's whole pass (`group_wait`). Closed-loop arrivals stay bunched in
    waves (`wave_sync` 1: half the wave's other passes run ahead of the average request) or
    spread out (0). Then (Little's law) the queue for a slot, (C - running) / rate. The other
    tokens share the rest of T. Before all of it, the front end's `request_overhead_ms`
    (tokenizing, HTTP, the scheduler's hand-off), which holds no GPU: it adds to the first token
    and to each client's cycle, not to the steps.

    Speculative decoding: `decode` is the target's verify pass, `draft_passes` plain decode steps'
    worth of `draft` (drafting) join it, and a step yields `tokens_per_step` tokens a sequence.
    """
    t_d = pass_seconds(decode, params, params.step_overhead_ms, maximum)
    if draft is not None:
        t_d = t_d + draft_passes * pass_seconds(draft, params, params.step_overhead_ms, maximum)
    t_p = pass_seconds(prefill_group, params, params.prefill_overhead_ms, maximum)
    t_1 = pass_seconds(first, params, params.prefill_overhead_ms, maximum)
    prefills = running / group * t_p
    lifetime = output_tokens / tokens_per_step * t_d + prefills
    rate = running / lifetime
    own = t_1 + params.group_wait * maximum(t_p - t_1, 0.0)
    first_token = t_d / 2 + own + params.wave_sync * maximum(prefills - own, 0.0) / 2
    itl = maximum(lifetime - first_token, t_d / tokens_per_step) / maximum(output_tokens - 1, 1.0)
    request = params.request_overhead_ms * 1e-3
    rate = running / (lifetime + request)
    ttft = request + first_token + (concurrency - running) / rate
    e2e = ttft + (output_tokens - 1) * itl
    return StepTimes(ttft * 1e3, itl * 1e3, e2e * 1e3, rate)


def static_works(
    setup: Setup, batch: float, input_tokens: float, output_tokens: float
) -> tuple[Work, Work]:
    return (
        prefill_work(setup, batch, input_tokens),
        decode_work(setup, batch, input_tokens + output_tokens / 2),
    )


INFLIGHT_STEP_TOKENS = 16384
"""Token budget of one in-flight step where no engine is named (the default engine's, as
data/engines.yaml gives it: TensorRT-LLM's max_num_tokens as the 2024 NIM sweep is matched
best). Each engine's own is `kv_budget.scheduler(engine).tokens_for(gpu)`."""


@dataclass(frozen=True, slots=True)
class InflightLoad:
    """How a concurrency C runs: sequences in flight, prefills batched per pass, and the work."""

    concurrency: float
    running: float
    group: float
    decode: Work
    prefill: Work
    first: Work  # one prompt's prefill: what a request waits for at least
    plain: Work | None = None  # speculative decoding: a plain decode step (drafting's measure)
    speculation: Speculation | None = None


def inflight_load(
    setup: Setup,
    concurrency: float,
    input_tokens: float,
    output_tokens: float,
    serving: Serving = PLAIN,
) -> InflightLoad:
    """`serving.prefix`: a shared prompt prefix in the prefix cache. A request prefills only what it
    does not find cached (on average), its cache holds only that, and the prefix is held once;
    decode still reads every token of every context. `serving.speculation`: each step verifies
    the drafted tokens and drafts the next."""
    out = max(output_tokens, 1.0)
    speculation = serving.speculation
    cached = serving.cached_tokens  # the shared prefix, and a session's own history
    fit = memory_fit(
        setup.model,
        setup.gpu,
        setup.tp,
        setup.precision,
        int(input_tokens + out),
        pp=setup.pp,
        attention_dp=setup.attention_dp,
        kv=setup.kv,
        engine=setup.engine,
        serving=serving,
    )
    rules = scheduler(setup.engine)
    ranks = setup.attention_dp  # each attention-DP rank caches and schedules its own sequences
    slots = float(min(fit.max_batch, rules.running_for(setup.gpu) or fit.max_batch))
    running = max(1.0, min(concurrency, ranks * slots / setup.pp))
    per_step = ranks * float(rules.tokens_for(setup.gpu) // max(input_tokens - cached, 1.0))
    group = max(1.0, min(running, per_step))
    plain = decode_work(setup, running, input_tokens + out / 2)
    decode, drafting = plain, None
    if speculation is not None:
        decode = verify_work(setup, running, input_tokens + out / 2, speculation.draft_tokens)
        drafting = plain
    return InflightLoad(
        concurrency,
        running,
        group,
        decode,
        prefill_work(setup, group, input_tokens, cached),
        prefill_work(setup, 1.0, input_tokens, cached),
        drafting,
        speculation,
    )


def static_times(
    setup: Setup, params: Params, batch: int, input_tokens: float, output_tokens: float
) -> StepTimes:
    prefill, decode = static_works(setup, batch, input_tokens, output_tokens)
    return static_from_work(prefill, decode, params, batch, max(output_tokens, 1))


def inflight_times(
    setup: Setup,
    params: Params,
    concurrency: float,
    input_tokens: float,
    output_tokens: float,
    serving: Serving = PLAIN,
) -> StepTimes:
    load = inflight_load(setup, concurrency, input_tokens, output_tokens, serving)
    spec = load.speculation
    return inflight_from_work(
        load.decode,
        load.prefill,
        load.first,
        params,
        concurrency,
        load.running,
        load.group,
        max(output_tokens, 1.0),
        draft=load.plain,
        draft_passes=0.0 if spec is None else spec.draft_tokens * spec.draft_share,
        tokens_per_step=1.0 if spec is None else spec.tokens_per_step,
    )


def roofline_floor_ms(setup: Setup, work: Work) -> float:
    """The pass at 100 % efficiency, no communication, no overhead: nothing can be faster."""
    flops = work.flops_linear + work.flops_experts + work.flops_head + work.flops_attention
    compute = flops / work.peak_flops
    memory = (work.bytes_weights + work.bytes_kv) / work.bandwidth  # experts' reads may all vanish
    return float(max(compute, memory) * 1e3)
