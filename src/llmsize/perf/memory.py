"""Does a model fit at this TP, and how many sequences' KV cache fit beside it.

Weights: bytes per parameter by precision (MoE stores every expert). KV cache per token:
2 (K and V) x layers x KV heads per GPU x head dim x KV bytes; when TP exceeds the KV head count,
heads are replicated, so each GPU still holds at least one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmsize.catalog import Gpu, LlmArch
from llmsize.catalog.precisions import kv_bytes, weight_bytes

USABLE_FRACTION = 0.90
"""Share of GPU memory an engine lets the model and cache use (vLLM's gpu_memory_utilization)."""

RESERVE_GB = 2.0
"""Per-GPU runtime reserve: CUDA context, activations, communication buffers."""

GB = 1e9


@dataclass(frozen=True, slots=True)
class MemoryFit:
    """Per-GPU memory at one configuration, and the largest batch it allows."""

    fits: bool
    weights_gb: float
    kv_gb_per_sequence: float
    available_gb: float  # for the KV cache, after weights and reserve
    max_batch: int
    needed_gb: float  # weights + reserve + KV of the asked batch
    capacity_gb: float
    reason: str = ""


def kv_heads_per_gpu(model: LlmArch, tp: int) -> int:
    return max(1, math.ceil(model.kv_heads / tp))


def kv_bytes_per_token(model: LlmArch, tp: int, precision: str) -> float:
    """Per GPU: K and V for every layer of the heads this GPU holds."""
    return 2 * model.layers * kv_heads_per_gpu(model, tp) * model.dim_per_head * kv_bytes(precision)


def weight_bytes_per_gpu(model: LlmArch, tp: int, precision: str) -> float:
    return model.params * weight_bytes(precision) / tp


def memory_fit(
    model: LlmArch, gpu: Gpu, tp: int, precision: str, context_tokens: int, batch: int = 1
) -> MemoryFit:
    """Memory per GPU for `batch` sequences of `context_tokens` (input + output) each."""
    capacity = gpu.memory_gb * USABLE_FRACTION
    weights = weight_bytes_per_gpu(model, tp, precision) / GB
    per_seq = kv_bytes_per_token(model, tp, precision) * context_tokens / GB
    available = capacity - weights - RESERVE_GB
    max_batch = max(0, math.floor(available / per_seq)) if per_seq > 0 else 0
    needed = weights + RESERVE_GB + per_seq * batch
    if available <= 0:
        reason = (
            f"weights need {weights:.1f} GB per GPU at TP{tp} in {precision}; "
            f"{capacity - RESERVE_GB:.1f} GB usable on {gpu.id}"
        )
    elif max_batch < batch:
        reason = (
            f"batch {batch} needs {needed:.1f} GB per GPU at TP{tp} in {precision} "
            f"({per_seq:.2f} GB KV cache per sequence); {capacity:.1f} GB usable, "
            f"max batch {max_batch}"
        )
    else:
        reason = ""
    return MemoryFit(
        fits=not reason,
        weights_gb=weights,
        kv_gb_per_sequence=per_seq,
        available_gb=max(available, 0.0),
        max_batch=max_batch,
        needed_gb=needed,
        capacity_gb=capacity,
        reason=reason,
    )
