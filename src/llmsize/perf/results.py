"""Result shapes of the estimate and configs questions (the library returns them; reports render
them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llmsize.perf.estimate import Estimate

if TYPE_CHECKING:
    from llmsize.perf.calibration import Calibration


@dataclass(frozen=True, slots=True)
class EstimateResult:
    """The calculator's clicked point: one configuration on an 8-GPU server (or the one given)."""

    model: str
    gpu: str
    server: str
    tp: int
    batch: int
    precision: str
    mode: str
    input_tokens: int
    output_tokens: int
    fits: bool
    max_batch: int
    weights_gib_per_gpu: float
    kv_gib_per_sequence: float
    memory_needed_gib_per_gpu: float
    memory_usable_gib_per_gpu: float
    ttft_ms: float | None
    itl_ms: float | None
    e2e_ms: float | None
    rps_per_server: float | None
    output_tokens_per_s_per_gpu: float | None
    provenance: str
    source: str
    typical_error: str
    reason: str
    pp: int = 1
    layout: str = ""  # 'TP8×PP2': the replica's parallel layout
    servers_per_replica: int = 1
    kv_precision: str = ""  # what the KV cache is held in
    math: str = ""  # the matmuls' rate on this GPU: native, or the wider math weights run at


@dataclass(frozen=True, slots=True)
class ConfigsResult:
    """Every configuration of one model on one GPU type, the frontier, and the two optima."""

    model: str
    gpu: str
    server: str
    precision: str | None
    input_tokens: int
    output_tokens: int
    limits: dict[str, float | None]
    metric: str  # the latency the frontier is drawn against
    points: tuple[Estimate, ...]
    frontier: tuple[Estimate, ...]
    feasible: tuple[Estimate, ...]
    throughput_optimal: Estimate | None
    latency_optimal: Estimate | None
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CalibrateResult:
    """The fitted calibration, what was left out, and the error before and after the fit."""

    calibration: Calibration
    rows: int
    skipped: dict[str, int]
    before: dict[str, dict[str, float]]
    after: dict[str, dict[str, float]]
    left_out: dict[str, str] = field(default_factory=dict)  # group -> why it was not fitted
    curves: int = 0  # distinct measured curves among the rows
    statistic: str = "mean"  # the rows' latency_stat the fit was made to


@dataclass(frozen=True, slots=True)
class PoolResult:
    """One pool of a disaggregated deployment as estimated."""

    gpu: str
    server: str
    layout: str
    workers: int
    batch: int | None  # per attention-DP rank, as given
    gpus: int
    source: str  # the calibration fit its efficiencies come from


@dataclass(frozen=True, slots=True)
class DisaggregatedResult:
    """One disaggregated deployment under a closed loop: latencies, throughput and where the
    time goes (perf/disaggregated.py)."""

    model: str
    precision: str
    engine: str
    input_tokens: int
    output_tokens: int
    concurrency: int
    prefill: PoolResult
    decode: PoolResult
    ttft_ms: float
    itl_ms: float
    e2e_ms: float
    deployment_rps: float  # requests a second the whole deployment serves at that concurrency
    output_tokens_per_s: float
    output_tokens_per_s_per_gpu: float
    gpus: int
    transfer_ms: float
    kv_link: str  # "nvlink" (one NVLink domain holds both pools) or "network"
    decode_batch: float  # sequences a decode worker runs per step
    prefill_group: float  # prompts a prefill worker runs per pass
    bottleneck: str  # "prefill", "decode" or "clients"
    provenance: str
    typical_error: str
