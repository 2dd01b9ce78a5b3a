"""The one result shape every performance source returns, so search does not care which answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llmsize.deployment import Layout

if TYPE_CHECKING:
    from llmsize.perf.memory import MemoryFit
    from llmsize.perf.roofline import Params


INTERVAL = 0.9
"""The share of measured outcomes a range covers (rps_low..rps_high, servers_low..servers_high):
between the 5th and 95th percentile of the cross-validated measured / modelled rate."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """TTFT, ITL, E2E and per-server throughput of one configuration on one server type."""

    server: str
    gpu: str
    precision: str
    tp: int | None
    batch: float | None
    mode: str  # "static" (the calculator's batches) or "inflight" (closed-loop concurrency)
    ttft_ms: float
    itl_ms: float | None
    e2e_ms: float
    rps_per_server: float
    provenance: str  # "measured", "interpolated" or "modelled"
    source: str  # short: the source ids
    citations: tuple[str, ...] = ()
    note: str = ""
    error_pct: float | None = None  # modelled: cross-validated median throughput error on this GPU
    rps_low: float | None = None  # modelled: the rate's 90 % range (from cross-validation)
    rps_high: float | None = None
    range_note: str = ""  # "unvalidated", or how the range was widened
    pp: int = 1  # pipeline stages of the replica
    servers_per_replica: int = 1  # a replica wider than a server spans whole servers
    attention_dp: int = 1  # attention data-parallel ranks (each a TP group)
    ep: int = 1  # expert-parallel ranks of the MoE layers

    @property
    def layout(self) -> Layout | None:
        """The replica's parallel layout (None: a measurement that did not state its TP)."""
        if self.tp is None:
            return None
        return Layout(tp=self.tp, pp=self.pp, attention_dp=self.attention_dp, ep=self.ep)

    @property
    def label(self) -> str:
        tp = self.layout.label if self.layout is not None else "TP ?"
        kind = "BS" if self.mode == "static" else "C"
        batch = f"{kind} ?" if self.batch is None else f"{kind}{self.batch:g}"
        span = f", {self.servers_per_replica} servers per replica" if self.spans_servers else ""
        return f"{self.precision} {tp} {batch}{span}"

    @property
    def spans_servers(self) -> bool:
        return self.servers_per_replica > 1


@dataclass(frozen=True, slots=True)
class Lookup:
    """Everything a source could say for one server type: estimates, and why others are missing."""

    estimates: tuple[Estimate, ...]
    missing: tuple[str, ...] = field(default=())
    too_big: bool = False  # memory is what stopped some configuration (see `missing`)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a performance source says about one deployment at one load: its estimate (None when
    it cannot answer), the memory it needs per GPU, where the numbers come from and, when there
    is no estimate, why."""

    estimate: Estimate | None
    memory: MemoryFit | None
    origin: str
    typical_error: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StepBasis:
    """What the twin's step times come from for one deployment: the calibrated roofline's
    parameters, and the factors that bring its prefill and decode steps to the deployment's own
    in-flight measurements where there are some (1.0: none)."""

    params: Params
    label: str
    prefill_scale: float = 1.0
    decode_scale: float = 1.0
    measured: tuple[str, ...] = ()  # the sources of the measurements it was scaled to
