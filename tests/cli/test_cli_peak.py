"""`llmsize peak`: the talk's numbers (GTC S62797), JSON, and bad flags."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import assert_one_line_error, run


@pytest.mark.parametrize(("avg", "peak"), [("64", 77), ("7", 12)])
def test_peak_from_average(avg: str, peak: int) -> None:
    result = run("peak", "--avg", avg)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{peak} req/s peak")
    assert json.loads(run("peak", "--avg", avg, "--json").stdout)["peak_rps"] == peak


@pytest.mark.parametrize(("capacity", "avg"), [("65.6", "53.2"), ("11.2", "6.92")])
def test_average_from_capacity(capacity: str, avg: str) -> None:
    result = run("peak", "--capacity", capacity)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{avg} req/s average")
    doc = json.loads(run("peak", "--capacity", capacity, "--json").stdout)
    assert f"{doc['avg_rps']:.3g}" == avg


def test_percentile_flag() -> None:
    assert (
        json.loads(run("peak", "--avg", "64", "--percentile", "0.99", "--json").stdout)["peak_rps"]
        == 83
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--avg", "x"), "--avg"),
        (("--avg", "-1"), "--avg"),
        (("--avg", "3", "--capacity", "4"), "exactly one of --avg or --capacity"),
        ((), "exactly one of --avg or --capacity"),
        (("--avg", "3", "--percentile", "1.5"), "--percentile"),
    ],
)
def test_bad_flags(args: tuple[str, ...], fragment: str) -> None:
    assert_one_line_error(run("peak", *args), fragment)
