"""Latency summaries and run results, shared by the simulator and the load generator so that a
simulated run and a measured one are directly comparable.

Definitions: TTFT = first token - send (or arrival); E2E = last token - send; ITL of a request =
(E2E - TTFT) / (output tokens - 1), the mean gap between its tokens after the first (requests with
one output token have none); TPOT is the same quantity as AIPerf and vLLM define it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

STATS = ("mean", "p50", "p90", "p95", "p99")


def row_statistic(latency_stat: str) -> str:
    """Which statistic a curve row states (its latency_stat): one of STATS by name, else its
    mean or the source's own figure ('avg', nothing, or a description such as the 2024 sets'
    '1st Token Latency of the static batch'), taken as the mean."""
    stat = latency_stat.strip().lower()
    return stat if stat in STATS else "mean"


def statistic_of(quantile: float) -> str:
    """The latency_stat of a percentile (0.95 is 'p95')."""
    return f"p{round(quantile * 100)}"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) of already sorted values; q in [0, 100]."""
    if not sorted_values:
        return math.nan
    position = (len(sorted_values) - 1) * q / 100
    lo = math.floor(position)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (position - lo)


@dataclass(frozen=True, slots=True)
class Distribution:
    """Mean and percentiles of one latency, in milliseconds."""

    count: int
    mean: float
    p50: float
    p90: float
    p95: float
    p99: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        ordered = sorted(values)
        if not ordered:
            return cls(0, math.nan, math.nan, math.nan, math.nan, math.nan)
        return cls(
            len(ordered),
            math.fsum(ordered) / len(ordered),
            percentile(ordered, 50),
            percentile(ordered, 90),
            percentile(ordered, 95),
            percentile(ordered, 99),
        )

    def at(self, quantile: float) -> float:
        """The value at a quantile in (0, 1): p50/p90/p95/p99 exactly, the mean for 'mean'."""
        name = f"p{round(quantile * 100)}"
        if name not in {"p50", "p90", "p95", "p99"}:
            raise ValueError(f"percentile {quantile} is not one of 0.5, 0.9, 0.95, 0.99")
        return float(getattr(self, name))

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(getattr(self, k)), 4) for k in STATS}


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run (simulated or measured) at one load level."""

    source: str  # "simulated" or "measured"
    load: str  # "rate" or "concurrency"
    load_value: float
    requests: int
    errors: int
    duration_s: float
    ttft_ms: Distribution
    itl_ms: Distribution
    e2e_ms: Distribution
    achieved_rps: float
    output_tokens_per_s: float
    goodput: float | None = None  # share of requests within every limit
    mean_batch: float | None = None
    mean_queue: float | None = None
    preemptions: int = 0
    prefix_hit_rate: float | None = None  # share of requests that found their prefix cached
    cached_token_share: float | None = None  # share of prompt tokens served from the cache
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def level_label(self) -> str:
        """'concurrency 8', 'rate 2': how a bench level is named in files and on --level."""
        return f"{self.load} {self.load_value:g}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            self.load: self.load_value,
            "requests": self.requests,
            "errors": self.errors,
            "duration_s": round(self.duration_s, 4),
            "achieved_rps": round(self.achieved_rps, 4),
            "output_tokens_per_s": round(self.output_tokens_per_s, 2),
            "ttft_ms": self.ttft_ms.as_dict(),
            "itl_ms": self.itl_ms.as_dict(),
            "tpot_ms": self.itl_ms.as_dict(),
            "e2e_ms": self.e2e_ms.as_dict(),
            "goodput": self.goodput,
            "mean_batch": self.mean_batch,
            "mean_queue": self.mean_queue,
            "preemptions": self.preemptions,
            **(
                {}
                if self.cached_token_share is None
                else {
                    "prefix_hit_rate": self.prefix_hit_rate,
                    "cached_token_share": round(self.cached_token_share, 4),
                }
            ),
            **self.extra,
        }
