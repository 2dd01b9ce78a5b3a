"""One limits type and one checker, for steady-state means and for a run's percentiles."""

from __future__ import annotations

from llmsize.limits import Breach, Limits, Unfit
from llmsize.metrics import Distribution, RunResult


def _run(ttft: list[float], errors: int = 0) -> RunResult:
    return RunResult(
        source="simulated",
        load="rate",
        load_value=1.0,
        requests=len(ttft),
        errors=errors,
        duration_s=1.0,
        ttft_ms=Distribution.of(ttft),
        itl_ms=Distribution.of([10.0] * len(ttft)),
        e2e_ms=Distribution.of([t + 100 for t in ttft]),
        achieved_rps=1.0,
        output_tokens_per_s=1.0,
    )


def test_means_name_the_limit_and_by_how_much() -> None:
    limits = Limits(first_token_ms=300, inter_token_ms=20)
    assert limits.holds(250, 19.9, 5000)
    (miss,) = limits.breaches(312.4, 15.0, 900)
    assert (miss.metric, miss.label, round(miss.over_ms, 1)) == ("ttft_ms", "TTFT", 12.4)
    assert str(miss) == "TTFT 312 ms > 300 ms"
    assert str(limits.breaches(10, 25.04, 1)[0]) == "ITL 25.0 ms > 20 ms"
    assert limits.breaches(10, None, 1) == ()  # an unknown ITL breaks nothing
    assert limits.primary_metric == "ttft_ms" and Limits(last_token_ms=1).primary_metric == "e2e_ms"


def test_percentiles_and_requests_that_never_fit() -> None:
    limits = Limits(first_token_ms=300, percentile=0.9)
    run = _run([100.0] * 85 + [400.0] * 15, errors=3)
    missed = limits.misses_at_percentile(run)
    assert missed == (Breach("ttft_ms", 400.0, 300, "p90"), Unfit(3))
    assert str(missed[0]) == "p90 TTFT 400 ms > 300 ms"
    assert Limits(first_token_ms=300, percentile=0.5).misses_at_percentile(_run([100.0] * 9)) == ()
