"""Latency limits: one type and one checker, for a configuration's steady-state (mean) latencies
and for a run's percentiles. What a miss is — which limit, by how much, at which statistic — is a
typed `Breach`; the report layer turns it into words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmsize.metrics import RunResult

LABELS = {"ttft_ms": "TTFT", "e2e_ms": "E2E", "itl_ms": "ITL"}
"""The three latencies a limit can bound, in the order they are checked."""


@dataclass(frozen=True, slots=True)
class Breach:
    """A latency over its limit: the metric, the value and the limit (ms), and the statistic
    compared ("mean" for a steady-state estimate, "p95" and so on for a run)."""

    metric: str  # "ttft_ms", "e2e_ms" or "itl_ms"
    value_ms: float
    limit_ms: float
    statistic: str = "mean"

    @property
    def label(self) -> str:
        return LABELS[self.metric]

    @property
    def over_ms(self) -> float:
        return self.value_ms - self.limit_ms

    def __str__(self) -> str:
        if self.statistic != "mean":
            return (
                f"{self.statistic} {self.label} {self.value_ms:,.0f} ms > {self.limit_ms:,.0f} ms"
            )
        digits = 1 if self.metric == "itl_ms" else 0
        return f"{self.label} {self.value_ms:.{digits}f} ms > {self.limit_ms:g} ms"


@dataclass(frozen=True, slots=True)
class Unfit:
    """Requests a replica could never hold (their prompt alone overflows its KV cache)."""

    requests: int

    def __str__(self) -> str:
        return f"{self.requests} requests can never fit in a replica's KV cache"


Miss = Breach | Unfit


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits on time to first token, to last token and between tokens (ms; None: no limit),
    and which percentile of a run must hold them."""

    first_token_ms: float | None = None
    last_token_ms: float | None = None
    inter_token_ms: float | None = None
    percentile: float = 0.95

    def _bounds(self) -> tuple[tuple[str, float | None], ...]:
        return (
            ("ttft_ms", self.first_token_ms),
            ("e2e_ms", self.last_token_ms),
            ("itl_ms", self.inter_token_ms),
        )

    @property
    def any(self) -> bool:
        return any(limit is not None for _, limit in self._bounds())

    def as_dict(self) -> dict[str, float | None]:
        return {
            "first_token_ms": self.first_token_ms,
            "last_token_ms": self.last_token_ms,
            "inter_token_ms": self.inter_token_ms,
        }

    @property
    def primary_metric(self) -> str:
        """The latency a streaming app is judged by (TTFT), else a sequential one's (E2E), else
        ITL."""
        if self.first_token_ms is not None:
            return "ttft_ms"
        if self.last_token_ms is not None:
            return "e2e_ms"
        return "itl_ms"

    def breaches(
        self, ttft_ms: float, itl_ms: float | None, e2e_ms: float, statistic: str = "mean"
    ) -> tuple[Breach, ...]:
        """Every limit these latencies break (an unknown ITL breaks nothing)."""
        values = {"ttft_ms": ttft_ms, "e2e_ms": e2e_ms, "itl_ms": itl_ms}
        return tuple(
            Breach(metric, value, limit, statistic)
            for metric, limit in self._bounds()
            if limit is not None and (value := values[metric]) is not None and not value <= limit
        )

    def holds(self, ttft_ms: float, itl_ms: float | None, e2e_ms: float) -> bool:
        return not self.breaches(ttft_ms, itl_ms, e2e_ms)

    def misses_at_percentile(self, run: RunResult) -> tuple[Miss, ...]:
        """What a run misses at the chosen percentile, and requests it could never serve."""
        q = self.percentile
        name = f"p{round(q * 100)}"
        dists = {"ttft_ms": run.ttft_ms, "e2e_ms": run.e2e_ms, "itl_ms": run.itl_ms}
        missed: list[Miss] = [
            Breach(metric, dists[metric].at(q), limit, name)
            for metric, limit in self._bounds()
            if limit is not None and dists[metric].count and not dists[metric].at(q) <= limit
        ]
        if run.errors:
            missed.append(Unfit(run.errors))
        return tuple(missed)
