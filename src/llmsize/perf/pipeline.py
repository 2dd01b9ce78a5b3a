"""Pipeline-parallel replicas: `pp` stages, each on its own TP group (so a replica can span
servers), the replica's sequences split into `pp` micro-batches that keep every stage busy.

A micro-batch's pass takes what the whole model takes on one TP group (each stage runs its share
of the layers, one after another) plus a hand-off between stages; with `pp` micro-batches in
flight the replica serves `pp` times the rate of one. Memory per GPU is a stage's share
(perf/memory.py, `pp=`).
"""

from __future__ import annotations

from llmsize.perf.roofline import StepTimes

HOP_LATENCY_US = 20.0
"""One stage-to-stage hand-off: a point-to-point send and its synchronisation (NCCL send/recv
over InfiniBand, a few to tens of microseconds)."""

NETWORK_GB_S = 50.0
"""Per-GPU network between servers: one 400 Gb/s InfiniBand NDR or RoCE port per GPU, as DGX H100
(ConnectX-7) and DGX B200 ship; pipeline hand-offs across servers go over it."""

ACTIVATION_BYTES = 2.0


def hop_ms(hidden: int, tokens: float, network_gb_s: float = NETWORK_GB_S) -> float:
    """One hand-off of `tokens` tokens' hidden states between stages."""
    return HOP_LATENCY_US * 1e-3 + tokens * hidden * ACTIVATION_BYTES / (network_gb_s * 1e9) * 1e3


def pipelined(
    micro: StepTimes,
    pp: int,
    hidden: int,
    prompt_tokens: float,
    step_tokens: float,
    network_gb_s: float = NETWORK_GB_S,
) -> StepTimes:
    """A micro-batch's times through `pp` stages, and the replica's rate with `pp` in flight."""
    if pp == 1:
        return micro
    hops = pp - 1
    ttft = micro.ttft_ms + hops * hop_ms(hidden, prompt_tokens, network_gb_s)
    itl = micro.itl_ms + hops * hop_ms(hidden, step_tokens, network_gb_s)
    e2e = (
        micro.e2e_ms
        + (ttft - micro.ttft_ms)
        + (micro.e2e_ms - micro.ttft_ms) * (itl / micro.itl_ms - 1)
    )
    rate = pp * micro.instance_rps * micro.e2e_ms / e2e
    return StepTimes(ttft, itl, e2e, rate)
