"""Step times for the simulator: the calibrated roofline in closed form, O(1) per step.

A continuous-batching step that decodes d sequences (contexts summing to S) and prefills prompt
chunks (P tokens, attention units U, q prompts finishing) runs T = d + P tokens through every
matmul. Each term of `roofline.pass_parts` is linear in T, S, U and P once the configuration is
fixed (MoE expert reads aside), so the coefficients are computed once here; tests check the
closed form against `pass_seconds(mixed_work(...))`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmsize.catalog.precisions import weight_bytes
from llmsize.perf.memory import kv_bytes_per_token
from llmsize.perf.roofline import (
    ACTIVATION_BYTES,
    GQA_KERNEL_GROUP,
    Params,
    Setup,
    experts_touched,
    layer_params,
)


@dataclass(slots=True)
class StepModel:
    setup: Setup
    params: Params
    prefill_scale: float = 1.0  # measured / modelled (perf StepBasis), 1.0 when not measured
    decode_scale: float = 1.0
    _per_token: float = field(init=False)  # compute s per matmul row (tokens + gemm_half_tokens)
    _per_logit: float = field(init=False)  # compute s per LM-head row (logits + gemm_half_tokens)
    _per_unit: float = field(init=False)  # compute s per attention unit (context token)
    _weights: float = field(init=False)  # memory s for dense weights and the LM head
    _experts: float = field(init=False)  # memory s per expert touched (MoE)
    _per_kv: float = field(init=False)  # memory s per KV token read or written
    _per_reread: float = field(init=False)  # memory s per decode context token re-read (wide GQA)
    _comm_per_token: float = field(init=False)
    _fixed: float = field(init=False)  # all-reduce latency and per-layer launches, per step
    _half: float = field(init=False)
    _moe: bool = field(init=False)
    _touched: dict[int, float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        s, p = self.setup, self.params
        m = s.model
        attn, mlp = layer_params(m)
        moe = m.experts > 1
        dense = m.layers * (attn + (0 if moe else mlp))
        head = m.hidden * m.vocab
        peak, bw = s.peak_flops, s.bandwidth
        self._half = p.gemm_half_tokens
        self._moe = moe
        per_token_flops = 2 * dense
        per_token = per_token_flops / (peak * p.e_compute)
        if moe:
            per_token += (
                2 * m.layers * mlp * m.experts_per_token / (peak * p.e_compute * p.e_experts)
            )
        self._per_token = per_token
        self._per_logit = 2 * head / (peak * p.e_compute)
        self._per_unit = m.layers * m.heads * 4 * m.dim_per_head / (peak * p.e_attention)
        bpp = weight_bytes(s.precision)
        self._weights = (dense + head) * bpp / (bw * p.e_memory)
        self._experts = p.moe_spread * m.layers * mlp * bpp / (bw * p.e_memory) if moe else 0.0
        kv_token = kv_bytes_per_token(m, s.tp, s.precision) * s.tp
        self._per_kv = kv_token / (bw * p.e_kv)
        group = m.heads // m.kv_heads
        wide = group > GQA_KERNEL_GROUP
        self._per_reread = p.kv_reread * kv_token * (group - 1) / (bw * p.e_kv) if wide else 0.0
        if s.tp > 1:
            calls = m.layers * (1 if m.parallel_attention else 2)
            ring = calls * 2 * (s.tp - 1) / s.tp * m.hidden * ACTIVATION_BYTES
            self._comm_per_token = ring / (s.link_bandwidth * p.e_link)
            ar_fixed = calls * p.allreduce_us * 1e-6
        else:
            self._comm_per_token, ar_fixed = 0.0, 0.0
        self._fixed = ar_fixed + m.layers * p.layer_overhead_us * 1e-6

    def _expert_reads(self, tokens: int) -> float:
        found = self._touched.get(tokens)
        if found is None:
            found = self._experts * experts_touched(self.setup.model, tokens)
            self._touched[tokens] = found
        return found

    def mixed(
        self, d: int, context_sum: float, prefill_tokens: float, units: float, done: int
    ) -> float:
        """Seconds for a step that decodes d sequences and prefills prompt chunks."""
        tokens = d + prefill_tokens
        logits = d + done
        compute = self._per_token * (tokens + self._half) + self._per_unit * (context_sum + units)
        if logits:
            compute += self._per_logit * (logits + self._half)
        memory = self._weights + self._per_kv * (context_sum + prefill_tokens)
        memory += self._per_reread * context_sum
        if self._moe:
            memory += self._expert_reads(int(tokens))
        overhead = (
            self.params.prefill_overhead_ms if prefill_tokens > 0 else self.params.step_overhead_ms
        )
        busy = compute if compute > memory else memory
        seconds = busy + self._comm_per_token * tokens + self._fixed + overhead * 1e-3
        if tokens and (self.prefill_scale != 1.0 or self.decode_scale != 1.0):  # blended
            seconds *= (self.decode_scale * d + self.prefill_scale * prefill_tokens) / tokens
        return seconds

    def decode(self, d: int, context_sum: float) -> float:
        """Seconds for one decode step of d sequences whose contexts sum to context_sum."""
        compute = self._per_token * (d + self._half) + self._per_logit * (d + self._half)
        compute += self._per_unit * context_sum
        memory = self._weights + (self._per_kv + self._per_reread) * context_sum
        if self._moe:
            memory += self._expert_reads(d)
        busy = compute if compute > memory else memory
        seconds = busy + self._comm_per_token * d + self._fixed
        return (seconds + self.params.step_overhead_ms * 1e-3) * self.decode_scale
