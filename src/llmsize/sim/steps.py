"""Step times for the simulator: the calibrated roofline in closed form, O(1) per step.

A continuous-batching step that decodes d sequences (contexts summing to S) and prefills prompt
chunks (P tokens, attention units U, q prompts finishing) runs T = d + P tokens through every
matmul. Each term of `roofline.pass_parts` is linear in T, S, U and P once the configuration is
fixed (MoE expert reads aside), so the coefficients are computed once here; tests check the
closed form against `pass_seconds(mixed_work(...))`. Attention-DP ranks split the rows and each
read their copy of the dense weights; a pipeline micro-batch's step runs the whole model on one
stage's TP group plus the hand-offs between stages (as perf/pipeline.py has it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmsize.perf.costs import Costs
from llmsize.perf.pipeline import HOP_LATENCY_US
from llmsize.perf.roofline import ACTIVATION_BYTES, Params, Setup, collectives


@dataclass(slots=True)
class StepModel:
    setup: Setup
    params: Params
    prefill_scale: float = 1.0  # measured / modelled (perf StepBasis), 1.0 when not measured
    decode_scale: float = 1.0
    draft_tokens: int = 0  # speculative decoding: tokens drafted per sequence and step
    draft_share: float = 0.0  # one drafting pass, as a share of a plain decode step
    _per_token: float = field(init=False)  # compute s per matmul row (tokens + gemm_half_tokens)
    _per_logit: float = field(init=False)  # compute s per LM-head row (logits + gemm_half_tokens)
    _attention: float = field(init=False)  # compute s per attention FLOP
    _per_byte_kv: float = field(init=False)  # memory s per KV byte
    _weights: float = field(init=False)  # memory s for the weights every step reads
    _per_byte: float = field(init=False)  # memory s per weight byte
    _comm_per_token: float = field(init=False)
    _fixed: float = field(init=False)  # all-reduce latency and per-layer launches, per step
    _per_sequence: float = field(init=False)  # host s per sequence sampled in a step
    _half: float = field(init=False)
    _moe: bool = field(init=False)
    _touched: dict[int, float] = field(init=False, default_factory=dict)
    _costs: Costs = field(init=False)  # the setup's, looked up once: every step reads them
    # with no capped attention (no window, chunk or top-k), a decode step's attention FLOPs and
    # KV seconds are linear in the context sum (and the sequences), and a prompt chunk's
    # attention FLOPs in its query-key pairs: their coefficients, summed over the blocks once
    # (None: some layer is capped, the costs are summed per step)
    _linear: tuple[float, float, float, float] | None = field(init=False, default=None)
    _kv_write: float = field(init=False)  # memory s per prompt token's cache written

    def __post_init__(self) -> None:
        s, p = self.setup, self.params
        c = self._costs = s.costs
        peak, bw = s.peak_flops, s.bandwidth
        ranks = s.attention_dp  # each rank's matmuls see its share of the rows
        self._half = p.gemm_half_tokens * ranks
        self._moe = bool(c.moe)
        per_token = (2 * c.dense_params_scaled + c.token_flops) / (peak * p.e_compute)
        per_token += 2 * c.active_expert_params_scaled / (peak * p.e_compute * p.e_experts)
        self._per_token = per_token
        self._per_logit = 2 * c.head_params / (peak * p.e_compute)
        self._attention = 1 / (peak * p.e_attention)
        self._per_byte = 1 / (bw * p.e_memory)
        self._weights = c.bytes_dense * ranks * self._per_byte  # every rank reads its copy
        self._per_byte_kv = 1 / (bw * p.e_kv)
        traffic, calls = collectives(s, 1.0)  # linear in the tokens of the step
        self._comm_per_token = traffic / (s.link_bandwidth * p.e_link)
        self._fixed = calls * p.allreduce_us * 1e-6 + c.layers * p.layer_overhead_us * 1e-6
        if all(a.cap is None for a in c.attention):
            flops = c.decode_attention_flops(0.0, 1.0)
            per_context = (c.decode_kv_bytes(0.0, 1.0) + p.kv_reread * c.reread_bytes(1.0)) * (
                self._per_byte_kv
            )
            per_sequence = c.decode_kv_bytes(1.0, 0.0) * self._per_byte_kv
            per_pair = c.chunk_attention_flops(0.0, 1.0)
            self._linear = (flops, per_context, per_sequence, per_pair)
        self._kv_write = c.kv_bytes_per_token * self._per_byte_kv
        self._per_sequence = p.sequence_overhead_us * 1e-6 / ranks  # per rank, as the logits
        if s.pp > 1:  # a micro-batch's step hands its hidden states on between stages
            hops = s.pp - 1
            self._fixed += hops * HOP_LATENCY_US * 1e-6
            self._comm_per_token += (
                hops * s.model.hidden * ACTIVATION_BYTES / (s.network_gb_s * 1e9)
            )

    def _expert_reads(self, tokens: int) -> float:
        found = self._touched.get(tokens)
        if found is None:
            moved = self._costs.expert_bytes(tokens)
            found = self.params.moe_spread * moved * self._per_byte
            self._touched[tokens] = found
        return found

    def _kv_seconds(self, d: int, context_sum: float) -> float:
        if self._linear is not None:
            return self._linear[1] * context_sum + self._linear[2] * d
        c = self._costs
        kv = c.decode_kv_bytes(d, context_sum)
        kv += self.params.kv_reread * c.reread_bytes(context_sum)
        return kv * self._per_byte_kv

    def mixed(
        self, d: int, context_sum: float, prefill_tokens: float, units: float, done: int
    ) -> float:
        """Seconds for a step that decodes d sequences and prefills prompt chunks (with
        speculative decoding, verifies each sequence's drafted tokens too, and drafts)."""
        c = self._costs
        rows = d * (self.draft_tokens + 1)
        tokens = rows + prefill_tokens
        logits = rows + done
        flops = self._decode_flops(d, context_sum) * (self.draft_tokens + 1)
        if prefill_tokens > 0:
            linear = self._linear
            if linear is not None:
                flops += linear[3] * units
            else:
                flops += c.chunk_attention_flops(prefill_tokens, units)
        compute = self._per_token * (tokens + self._half) + self._attention * flops
        if logits:
            compute += self._per_logit * (logits + self._half)
        memory = self._weights + self._kv_seconds(d, context_sum)
        memory += prefill_tokens * self._kv_write
        if self._moe:
            memory += self._expert_reads(int(tokens))
        overhead = (
            self.params.prefill_overhead_ms if prefill_tokens > 0 else self.params.step_overhead_ms
        )
        busy = compute if compute > memory else memory
        seconds = busy + self._comm_per_token * tokens + self._fixed + overhead * 1e-3
        seconds += logits * self._per_sequence
        if tokens and (self.prefill_scale != 1.0 or self.decode_scale != 1.0):  # blended
            seconds *= (self.decode_scale * rows + self.prefill_scale * prefill_tokens) / tokens
        if self.draft_tokens and d:
            seconds += self.draft_tokens * self.draft_share * self._decode(d, context_sum, 1)
        return seconds

    def _decode_flops(self, d: int, context_sum: float) -> float:
        if self._linear is not None:
            return self._linear[0] * context_sum
        return self._costs.decode_attention_flops(d, context_sum)

    def decode(self, d: int, context_sum: float) -> float:
        """Seconds for one decode step of d sequences whose contexts sum to context_sum: with
        speculative decoding, the target's pass over each sequence's token and its drafted
        ones, and the drafting passes (each `draft_share` of a plain step)."""
        if not self.draft_tokens:
            return self._decode(d, context_sum, 1)
        plain = self._decode(d, context_sum, 1)
        verify = self._decode(d, context_sum, self.draft_tokens + 1)
        return verify + self.draft_tokens * self.draft_share * plain

    def _decode(self, d: int, context_sum: float, queries: int) -> float:
        """A target pass of d sequences, `queries` tokens each, reading each KV cache once."""
        rows = d * queries
        compute = self._per_token * (rows + self._half) + self._per_logit * (rows + self._half)
        compute += self._attention * self._decode_flops(d, context_sum) * queries
        memory = self._weights + self._kv_seconds(d, context_sum)
        if self._moe:
            memory += self._expert_reads(rows)
        busy = compute if compute > memory else memory
        seconds = busy + self._comm_per_token * rows + self._fixed + rows * self._per_sequence
        return (seconds + self.params.step_overhead_ms * 1e-3) * self.decode_scale
