"""Rows of one statistic per measured configuration: `bench` writes a row per statistic, and a
plan's limits at p95 are checked against the p95 rows, a file of means only with its means."""

from __future__ import annotations

from dataclasses import replace

from llmsize.benchdb.schema import CurvePoint
from llmsize.benchdb.store import pick_statistic

ROW = CurvePoint(
    model="llama-3-8b",
    gpu="h100-sxm",
    precision="bf16",
    tp=1,
    load_type="concurrency",
    load_value=8,
    input_tokens=256,
    output_tokens=32,
    ttft_ms=50.0,
    itl_ms=6.0,
    latency_stat="mean",
)


def stats(points: list[CurvePoint]) -> list[str]:
    return sorted(p.latency_stat for p in points)


def test_the_asked_percentile_where_rows_carry_it_else_the_means() -> None:
    rows = [replace(ROW, latency_stat=s, ttft_ms=t) for s, t in (("mean", 50), ("p95", 90))]
    assert stats(pick_statistic(rows, "p95")) == ["p95"]
    assert stats(pick_statistic(rows, "p99")) == ["mean"]  # no p99 row: its mean answers
    assert stats(pick_statistic(rows, "mean")) == ["mean"]


def test_each_configuration_is_picked_on_its_own() -> None:
    other = replace(ROW, load_value=16)
    rows = [ROW, replace(ROW, latency_stat="p95"), replace(other, latency_stat="")]
    picked = pick_statistic(rows, "p95")
    assert {(p.load_value, p.latency_stat) for p in picked} == {(8, "p95"), (16, "")}
