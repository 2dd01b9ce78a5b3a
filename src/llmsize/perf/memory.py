"""Does a model fit at this TP, and how many sequences' KV cache fit beside it.

Units are those vendors sell: an "80 GB" HBM part holds 80 GiB (2^30 bytes each), so every
memory figure here is in GiB. How much of it the KV cache gets is the serving engine's rule
(perf/kv_budget.py, data/engines.yaml): vLLM and SGLang take a share of the whole device,
TensorRT-LLM a share of what the weights and its buffers leave free.

Weights: each part (attention, dense MLP and shared experts, routed experts) at its own
precision — the checkpoint's (`LlmArch.native`) when serving at its native precision; embeddings
and LM head stay 16-bit in quantized checkpoints, as quantizers leave them. KV cache per sequence,
summed over the model's blocks: layers that keep every token grow with the context; sliding and
chunked layers keep at most their window; linear-attention and Mamba layers keep a constant
state. A TP rank holds its share of the KV heads (at least one, when TP exceeds them) and all of
an MLA latent, which every rank holds whole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmsize.by_identity import ByIdentity
from llmsize.catalog import Gpu, LlmArch
from llmsize.catalog.blocks import Block, Mixer
from llmsize.catalog.precisions import KV_ELEMENT_BYTES, info, weight_bytes
from llmsize.deployment import Layout
from llmsize.perf.kv_budget import kv_budget
from llmsize.workload import PLAIN, Serving

GIB = float(2**30)

INDEX_BYTES = 1.0
"""Bytes per cached element of a sparse-attention indexer's keys (FP8 in DeepSeek-V3.2)."""

SCALE_BYTES, SCALE_TILE = 4, 128
"""FP8 caches of DeepSeek sparse attention keep one FP32 scale per 128 elements: FlashMLA's
FP8 sparse layout is 512 latent bytes, 4 scales and a 16-bit 64-element rotary key (656 bytes),
its indexer key 128 bytes and a scale (sgl-project/sglang#11309: 975,424 tokens in 43.67 GiB,
48,068 bytes per token over 61 layers)."""


@dataclass(frozen=True, slots=True)
class MemoryFit:
    """Per-GPU memory at one configuration (GiB), and the largest batch it allows."""

    fits: bool
    weights_gib: float
    kv_gib_per_sequence: float
    available_gib: float  # for the KV cache, after weights and runtime
    max_batch: int
    needed_gib: float  # weights + runtime + KV of the asked batch
    usable_gib: float  # what the engine lets weights, runtime and cache use
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PartBytes:
    """Bytes of weights per part of the model, whole (not per GPU)."""

    attention: float
    mlp: float
    experts: float
    embeddings: float
    encoder: float

    @property
    def total(self) -> float:
        return self.attention + self.mlp + self.experts + self.embeddings + self.encoder


def part_precisions(model: LlmArch, precision: str) -> tuple[str, str, str]:
    """(attention, MLP, experts) precisions when serving `model` at `precision`."""
    native = model.native
    if native is not None and precision == native.name:
        return native.attention, native.mlp, native.experts
    return precision, precision, precision


def kv_precision(model: LlmArch, precision: str) -> str:
    """What the KV cache is held in when serving at `precision`: the checkpoint's own KV scheme
    at its native precision, otherwise what engines use with that precision."""
    native = model.native
    if native is not None and precision == native.name:
        return native.kv_cache
    return info(precision).kv


_PARTS: ByIdentity[PartBytes] = ByIdentity()


def part_bytes(model: LlmArch, precision: str) -> PartBytes:
    """Weight bytes per part (worked out once per model and precision: every memory check of
    a plan asks)."""
    return _PARTS.get((model,), (precision,), lambda: _part_bytes(model, precision))


def _part_bytes(model: LlmArch, precision: str) -> PartBytes:
    attention_p, mlp_p, experts_p = part_precisions(model, precision)
    attention = sum(b.count * b.mixer.params for b in model.structure)
    mlp = sum(b.count * b.ffn.params for b in model.structure)
    experts = sum(b.count * b.ffn.experts * b.ffn.expert_params for b in model.structure)
    return PartBytes(
        attention=attention * weight_bytes(attention_p),
        mlp=mlp * weight_bytes(mlp_p),
        experts=experts * weight_bytes(experts_p),
        embeddings=model.embedding_params * 2.0,
        encoder=model.vision_params * 2.0,
    )


def weight_bytes_per_gpu(model: LlmArch, tp: int, precision: str, attention_dp: int = 1) -> float:
    """One GPU's weights: the dense parts split over the TP group (each attention-DP rank holds
    its own copy), the routed experts over all tp × attention_dp GPUs of a stage (EP × MoE-TP)."""
    parts = part_bytes(model, precision)
    dense = parts.attention + parts.mlp + parts.embeddings + parts.encoder
    return dense / tp + parts.experts / (tp * attention_dp)


def rank_share(mixer: Mixer, tp: int) -> float:
    """The share of a layer's cache (or state) one of `tp` ranks holds."""
    shards = mixer.kv_shards if mixer.kv_elements else max(mixer.heads, 1)
    return math.ceil(shards / tp) / shards


def element_bytes(model: LlmArch, precision: str, kv: str = "") -> float:
    """Bytes per cached element: the asked KV precision, else what `precision` caches in."""
    return KV_ELEMENT_BYTES[kv or kv_precision(model, precision)]


def kv_bytes_per_token(model: LlmArch, tp: int, precision: str, kv: str = "") -> float:
    """Per GPU, per token of context, in the layers that keep every token (full attention, MLA,
    sparse attention's cache and its indexer keys)."""
    return cache_bytes_per_token(model, tp, kv or kv_precision(model, precision))


def cache_bytes_per_token(model: LlmArch, tp: int, cache_precision: str) -> float:
    """`kv_bytes_per_token` with the KV cache held in `cache_precision`."""
    element = KV_ELEMENT_BYTES[cache_precision]
    return sum(_token_bytes(b, tp, element) for b in model.structure if b.mixer.window is None)


def _token_bytes(block: Block, tp: int, element: float) -> float:
    mixer = block.mixer
    kv = cached_bytes(mixer, element) * rank_share(mixer, tp)
    return block.count * (kv + index_bytes(mixer))


def cached_bytes(mixer: Mixer, element: float) -> float:
    """One layer's cache per token: 8-bit sparse MLA keeps scales and a 16-bit rotary key."""
    if mixer.kind == "mla" and mixer.topk is not None and element == 1.0:
        latent = mixer.kv_elements - mixer.rope_elements
        return latent + SCALE_BYTES * math.ceil(latent / SCALE_TILE) + 2.0 * mixer.rope_elements
    return mixer.kv_elements * element


def index_bytes(mixer: Mixer) -> float:
    """One layer's indexer key per token (DeepSeek sparse attention), with its scale."""
    if not mixer.index_elements:
        return 0.0
    tiles = math.ceil(mixer.index_elements / SCALE_TILE)
    return mixer.index_elements * INDEX_BYTES + SCALE_BYTES * tiles


def kv_bytes_per_sequence(
    model: LlmArch, tp: int, precision: str, context_tokens: float, kv: str = ""
) -> float:
    """Per GPU, one sequence of `context_tokens`: growing layers, windowed layers up to their
    window, and constant recurrent states."""
    element = element_bytes(model, precision, kv)
    total = 0.0
    for block in model.structure:
        mixer = block.mixer
        kept = context_tokens if mixer.window is None else min(context_tokens, mixer.window)
        total += _token_bytes(block, tp, element) * kept
        total += block.count * mixer.state_bytes * rank_share(mixer, tp)
    return total


def fixed_bytes_per_sequence(model: LlmArch, tp: int, precision: str, kv: str = "") -> float:
    """Per GPU, what a sequence holds whatever its length beyond the window: full windows of
    the windowed layers and the recurrent states (the twin reserves this per running sequence)."""
    element = element_bytes(model, precision, kv)
    total = 0.0
    for block in model.structure:
        mixer = block.mixer
        if mixer.window is not None:
            total += _token_bytes(block, tp, element) * mixer.window
        total += block.count * mixer.state_bytes * rank_share(mixer, tp)
    return total


def memory_fit(
    model: LlmArch,
    gpu: Gpu,
    tp: int,
    precision: str,
    context_tokens: int,
    batch: int = 1,
    pp: int = 1,
    attention_dp: int = 1,
    kv: str = "",
    engine: str = "",
    serving: Serving = PLAIN,
) -> MemoryFit:
    """Memory per GPU for `batch` sequences of `context_tokens` (input + output) each (per
    attention-DP rank: each rank caches its own sequences); with `pp` pipeline stages each GPU
    holds its stage's share of the layers (weights and cache) for every sequence of the
    replica. The KV budget follows `engine`'s rule (perf/kv_budget.py; the default engine's
    when none is named). `serving`: a cached prefix the sequences share is held once, each
    holding only what it does not find cached; a speculative drafter's weights are held beside
    the model's, at the model's bytes per parameter."""
    prefix, speculation = serving.prefix, serving.speculation
    if prefix is not None:
        context_tokens = max(1, int(context_tokens - prefix.cached_tokens))
    weights = weight_bytes_per_gpu(model, tp, precision, attention_dp) / pp / GIB
    if speculation is not None:
        weights *= 1 + speculation.draft_params / model.params
    per_seq = kv_bytes_per_sequence(model, tp, precision, context_tokens, kv) / pp / GIB
    budget = kv_budget(gpu, weights, tp, engine)
    usable, available = budget.usable_gib, budget.kv_gib
    if prefix is not None and available > 0:
        available -= kv_bytes_per_token(model, tp, precision, kv) * prefix.tokens / pp / GIB
    max_batch = max(0, math.floor(available / per_seq)) if per_seq > 0 else 0
    needed = weights + budget.overhead_gib + per_seq * batch
    layout = Layout(tp=tp, pp=pp, attention_dp=attention_dp).label
    if available <= 0:
        reason = (
            f"weights need {weights:.1f} GiB per GPU at {layout} in {precision}; "
            f"{usable:.1f} GiB usable on {gpu.id} under {budget.engine}'s rule "
            f"({budget.overhead_gib:.1f} GiB of it the runtime's)"
        )
    elif max_batch < batch:
        reason = (
            f"batch {batch} needs {needed:.1f} GiB per GPU at {layout} in {precision} "
            f"({per_seq:.2f} GiB KV cache per sequence); {usable:.1f} GiB usable under "
            f"{budget.engine}'s rule, max batch {max_batch}"
        )
    else:
        reason = ""
    return MemoryFit(
        fits=not reason,
        weights_gib=weights,
        kv_gib_per_sequence=per_seq,
        available_gib=max(available, 0.0),
        max_batch=max_batch,
        needed_gib=needed,
        usable_gib=usable,
        reason=reason,
    )
