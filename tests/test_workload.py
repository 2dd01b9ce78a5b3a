"""Peak from average by the Poisson rule (GTC S62797), checked against scipy.stats.poisson."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from llmsize.workload import peak_from_average, poisson_cdf, sustainable_average


@pytest.mark.parametrize(("avg", "peak"), [(64, 77), (7, 12)])
def test_talk_peaks(avg: float, peak: int) -> None:
    # GTC S62797: poisson.ppf(0.95, 64) = 77 (+20 %), poisson.ppf(0.95, 7) = 12 (+71 %).
    assert peak_from_average(avg) == peak


@pytest.mark.parametrize(("capacity", "avg"), [(65.6, 53.2), (11.2, 6.92)])
def test_talk_sustainable_averages(capacity: float, avg: float) -> None:
    # GTC S62797: 65.6 prompts/s sustain 53.2 req/s on average; 11.2 sustain 6.92. The talk shows
    # three significant digits, so that is the tolerance.
    assert float(f"{sustainable_average(capacity):.3g}") == avg


@settings(max_examples=200, deadline=None)
@given(
    avg=st.floats(min_value=0.01, max_value=5000),
    p=st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.999]),
)
def test_peak_matches_scipy(avg: float, p: float) -> None:
    assert peak_from_average(avg, p) == int(poisson.ppf(p, avg))


@settings(max_examples=100, deadline=None)
@given(k=st.integers(min_value=0, max_value=3000), lam=st.floats(min_value=0.01, max_value=3000))
def test_cdf_matches_scipy(k: int, lam: float) -> None:
    assert poisson_cdf(k, lam) == pytest.approx(float(poisson.cdf(k, lam)), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(capacity=st.floats(min_value=1, max_value=2000), p=st.sampled_from([0.9, 0.95, 0.99]))
def test_sustainable_average_is_the_inverse(capacity: float, p: float) -> None:
    avg = sustainable_average(capacity, p)
    assert peak_from_average(avg * 0.999, p) <= capacity
    assert peak_from_average(avg * 1.01 + 0.01, p) > int(capacity + 1e-9)


def test_more_average_never_lowers_peak() -> None:
    peaks = [peak_from_average(a / 10) for a in range(1, 2000)]
    assert peaks == sorted(peaks)
