"""Curve lookup: exact points are measured, points between lengths are interpolated in log-log
space, and nothing is extrapolated."""

from __future__ import annotations

import math

import pytest

from llmsize.benchdb.interpolate import CurveMiss, CurveValue, value_at
from llmsize.benchdb.schema import CurvePoint


def _point(
    i: float, o: float, ttft: float, itl: float, rps_per_8_gpus: float | None = None
) -> CurvePoint:
    return CurvePoint(
        rps_per_8_gpus=rps_per_8_gpus,
        model="m",
        gpu="g",
        precision="fp8",
        tp=1,
        load_type="batch",
        load_value=8,
        input_tokens=i,
        output_tokens=o,
        ttft_ms=ttft,
        itl_ms=itl,
        source_id="S",
    )


GRID = [
    _point(128, 128, 10, 5),
    _point(128, 2048, 12, 8),
    _point(2048, 128, 160, 6),
    _point(2048, 2048, 170, 10),
]


def test_exact_point_is_measured_and_repeats_are_averaged() -> None:
    value = value_at([*GRID, _point(128, 128, 20, 7)], 128, 128)
    assert isinstance(value, CurveValue)
    assert value.provenance == "measured"
    assert value.metrics["ttft_ms"] == 15 and value.metrics["itl_ms"] == 6


def test_between_lengths_is_log_log_interpolated() -> None:
    value = value_at(GRID, 128, 512)
    assert isinstance(value, CurveValue) and value.provenance == "interpolated"
    # 512 is halfway between 128 and 2048 in log space: the geometric mean of the neighbours.
    assert value.metrics["itl_ms"] == pytest.approx(math.sqrt(5 * 8))


def test_bilinear_in_both_lengths() -> None:
    value = value_at(GRID, 512, 512)
    assert isinstance(value, CurveValue)
    assert value.metrics["ttft_ms"] == pytest.approx((10 * 12 * 160 * 170) ** 0.25)
    assert len(value.points) == 4


def test_power_law_is_reproduced_exactly() -> None:
    pts = [_point(i, 128, 0.01 * i**1.3, 1) for i in (100, 1000)]
    value = value_at(pts, 400, 128)
    assert isinstance(value, CurveValue)
    assert value.metrics["ttft_ms"] == pytest.approx(0.01 * 400**1.3)


@pytest.mark.parametrize(("i", "o"), [(3500, 128), (64, 128), (128, 4096)])
def test_outside_the_measured_range_is_a_miss(i: float, o: float) -> None:
    miss = value_at(GRID, i, o)
    assert isinstance(miss, CurveMiss)
    assert "no extrapolation" in miss.reason


def test_published_throughput_is_only_used_at_measured_lengths() -> None:
    pts = [_point(128, 128, 10, 5, rps_per_8_gpus=50), _point(128, 2048, 12, 8, rps_per_8_gpus=4)]
    exact = value_at(pts, 128, 128)
    between = value_at(pts, 128, 512)
    assert isinstance(exact, CurveValue) and exact.metrics["rps_per_8_gpus"] == 50
    assert isinstance(between, CurveValue) and between.metrics["rps_per_8_gpus"] is None
