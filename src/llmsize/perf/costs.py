"""What a replica's forward pass costs, summed over the model's blocks: parameters that run for
every token, routed experts, attention FLOPs and KV-cache bytes as functions of the context,
with each layer kind's own rule (full attention grows with the context, sliding windows and
chunks stop at their size, DeepSeek's sparse attention reads its top-k keys, recurrent layers
touch a constant state).

Worked out once per (model, precision, TP, GPU); the roofline (`roofline._work`) and the twin's
step model read these numbers rather than the architecture, so both follow the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmsize.by_identity import ByIdentity
from llmsize.catalog import Gpu, LlmArch
from llmsize.catalog.precisions import weight_bytes
from llmsize.perf.memory import (
    cached_bytes,
    element_bytes,
    index_bytes,
    part_precisions,
    rank_share,
)

GQA_KERNEL_GROUP = 8
"""Widest grouped-query group (query heads per KV head) whose KV an attention kernel reads once:
the Llama-2/3 family's 8. Falcon-180B's 29 runs on a fallback kernel in the DLI-era engine."""


@dataclass(frozen=True, slots=True)
class AttentionTerm:
    """One block's attention, whole replica: FLOPs per (query, key) pair, cache bytes per token
    and the cap on keys read (window, chunk or sparse top-k; None: every key)."""

    count: int
    prefill_flops: float
    decode_flops: float
    cap: float | None
    kept: float | None  # the cap on tokens kept (a window); sparse attention keeps them all
    kv_bytes: float  # per token, whole replica (each rank's share × TP)
    index_flops: float
    index_bytes: float
    state_bytes: float  # per sequence, whole replica
    reread: float  # extra KV reads of a too-wide GQA group, as a multiple of kv_bytes


def _pairs(length: float, cap: float | None) -> float:
    """Query-key pairs of causal attention over `length` tokens, each query seeing at most
    `cap` keys."""
    if cap is None or length <= cap:
        return length * length / 2
    return cap * cap / 2 + (length - cap) * cap


def _kept(length: float, kept: float | None) -> float:
    return length if kept is None else min(length, kept)


def _capped(seqs: float, context_sum: float, cap: float | None) -> float:
    """Keys read by `seqs` decoding sequences whose contexts sum to `context_sum`."""
    return context_sum if cap is None else min(context_sum, seqs * cap)


@dataclass(frozen=True, slots=True)
class MoeTerm:
    count: int
    experts: int
    top_k: int
    bytes_per_expert: float


@dataclass(frozen=True, slots=True)
class Costs:
    layers: int
    dense_params_scaled: float  # run by every token, scaled to the main math rate
    active_expert_params_scaled: float
    head_params: float
    token_flops: float  # recurrent state updates per token
    bytes_dense: float  # weights read every step (all but routed experts), LM head included
    moe: tuple[MoeTerm, ...]
    attention: tuple[AttentionTerm, ...]
    allreduce_calls: int

    def expert_bytes(self, tokens: float) -> float:
        """Routed-expert weights a pass over `tokens` tokens reads (uniform routing)."""
        return sum(
            m.count * m.bytes_per_expert * experts_touched(m.experts, m.top_k, tokens)
            for m in self.moe
        )

    def prefill_attention_flops(self, length: float) -> float:
        every = _pairs(length, None)  # what an indexer scores, whatever the cap
        return sum(
            a.count * (a.prefill_flops * _pairs(length, a.cap) + a.index_flops * every)
            for a in self.attention
        )

    def chunk_attention_flops(self, tokens: float, pairs: float) -> float:
        """Prompt chunks of `tokens` tokens whose pairs (each chunk's c × (prior + c / 2))
        sum to `pairs`; capped layers see at most their cap per query."""
        return sum(
            a.count
            * (
                a.prefill_flops * (pairs if a.cap is None else min(pairs, tokens * a.cap))
                + a.index_flops * pairs
            )
            for a in self.attention
        )

    def decode_attention_flops(self, seqs: float, context_sum: float) -> float:
        return sum(
            a.count
            * (a.decode_flops * _capped(seqs, context_sum, a.cap) + a.index_flops * context_sum)
            for a in self.attention
        )

    def decode_kv_bytes(self, seqs: float, context_sum: float) -> float:
        """Cache read by one decode step (keys within each layer's cap, every indexer key) and
        recurrent states read and written."""
        return sum(
            a.count
            * (
                a.kv_bytes * _capped(seqs, context_sum, a.cap)
                + a.index_bytes * context_sum
                + 2 * a.state_bytes * seqs
            )
            for a in self.attention
        )

    def prefill_kv_bytes(self, length: float, cached: float = 0.0) -> float:
        """Cache written by one prompt's prefill (windowed layers keep their window); the first
        `cached` tokens were found in the prefix cache and are not written again."""
        return sum(
            a.count
            * (
                a.kv_bytes * (_kept(length, a.kept) - _kept(cached, a.kept))
                + a.index_bytes * (length - cached)
                + 2 * a.state_bytes
            )
            for a in self.attention
        )

    def suffix_attention_flops(self, length: float, cached: float) -> float:
        """Attention of a prompt's queries after its first `cached` tokens (a prefix-cache hit):
        each still attends to the whole prefix, so this is the whole prompt's less the
        prefix's own."""
        if cached <= 0:
            return self.prefill_attention_flops(length)
        return self.prefill_attention_flops(length) - self.prefill_attention_flops(cached)

    @property
    def kv_bytes_per_token(self) -> float:
        """Cache written per prompt token, every layer (chunked prefill writes as it goes)."""
        return sum(a.count * (a.kv_bytes + a.index_bytes) for a in self.attention)

    def reread_bytes(self, context_sum: float) -> float:
        return sum(a.count * a.kv_bytes * a.reread * context_sum for a in self.attention)


def experts_touched(experts: int, top_k: int, tokens: float) -> float:
    """Expected experts a layer reads for `tokens` tokens routed top-k uniformly at random."""
    if experts <= 1:
        return 1.0
    miss: float = (1 - top_k / experts) ** tokens
    return experts * (1 - miss)


_COSTS: ByIdentity[Costs] = ByIdentity()


def costs_of(model: LlmArch, precision: str, tp: int, gpu: Gpu, kv: str = "") -> Costs:
    """The costs of serving `model` at `precision` on a TP-`tp` replica of `gpu`, its KV cache
    in `kv` ('' : what the precision caches in) (cached)."""
    return _COSTS.get(
        (model, gpu), (precision, tp, kv), lambda: _costs(model, precision, tp, gpu, kv)
    )


def _costs(model: LlmArch, precision: str, tp: int, gpu: Gpu, kv: str) -> Costs:
    attention_p, mlp_p, experts_p = part_precisions(model, precision)
    main = gpu.rate(precision)

    def slower(part: str) -> float:
        """How much longer a part's matmuls take than the main precision's (1: the same)."""
        return main / gpu.rate(part) if gpu.runs(part) else 1.0

    scale_attention, scale_mlp = slower(attention_p), slower(mlp_p)
    scale_experts, scale_head = slower(experts_p), slower("bf16")
    element = element_bytes(model, precision, kv)
    dense = active = token_flops = 0.0
    bytes_dense = 0.0
    moe: list[MoeTerm] = []
    attention: list[AttentionTerm] = []
    calls = 0
    for block in model.structure:
        mixer, ffn, n = block.mixer, block.ffn, block.count
        dense += n * (mixer.params * scale_attention + ffn.params * scale_mlp)
        active += n * ffn.top_k * ffn.expert_params * scale_experts
        token_flops += n * mixer.token_flops
        bytes_dense += n * (
            mixer.params * weight_bytes(attention_p) + ffn.params * weight_bytes(mlp_p)
        )
        if ffn.kind == "moe":
            moe.append(
                MoeTerm(n, ffn.experts, ffn.top_k, ffn.expert_params * weight_bytes(experts_p))
            )
        calls += n * ((mixer.kind != "none") + (ffn.kind != "none"))
        if mixer.kind == "none":
            continue
        group = mixer.heads // mixer.kv_shards if mixer.kv_shards else 1
        wide = mixer.kind in ("full", "sliding", "chunked") and group > GQA_KERNEL_GROUP
        attention.append(
            AttentionTerm(
                count=n,
                prefill_flops=mixer.prefill_flops,
                decode_flops=mixer.decode_flops,
                cap=mixer.window or mixer.topk,
                kept=mixer.window,
                kv_bytes=cached_bytes(mixer, element) * rank_share(mixer, tp) * tp,
                index_flops=mixer.index_flops,
                index_bytes=index_bytes(mixer) * tp,
                state_bytes=mixer.state_bytes * rank_share(mixer, tp) * tp,
                reread=float(group - 1) if wide else 0.0,
            )
        )
    head = float(model.head_params)
    return Costs(
        layers=model.layers,
        dense_params_scaled=dense,
        active_expert_params_scaled=active,
        head_params=head * scale_head,
        token_flops=token_flops,
        bytes_dense=bytes_dense + head * 2.0,
        moe=tuple(moe),
        attention=tuple(attention),
        allreduce_calls=model.layers if model.parallel_attention else calls,
    )
