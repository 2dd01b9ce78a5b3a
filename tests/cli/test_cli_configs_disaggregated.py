"""`llmsize configs --disaggregated`: every prefill/decode unit of a model on one server type."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.helpers import assert_one_line_error, run

QUESTION = (
    "configs", "--model", "deepseek-r1", "--gpu", "b200", "--server", "dgx-b200",
    "--input-tokens", "8000", "--output-tokens", "1000", "--engine", "sglang",
    "--disaggregated",
)  # fmt: skip
LIMITS = ("--first-token-ms", "2000", "--inter-token-ms", "50")


def _doc(*extra: str) -> dict[str, Any]:
    result = run(*QUESTION, *extra, "--json")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_every_unit_keeps_the_limits_and_the_optima_are_the_extremes() -> None:
    doc = _doc(*LIMITS)
    units = doc["configs"]
    assert len(units) > 10 and doc["engine"] == "sglang" and doc["frontier_metric"] == "ttft_ms"
    for u in units:
        assert u["ttft_ms"] <= 2000 and u["itl_ms"] <= 50 and u["provenance"] == "modelled"
        gpus = u["prefill"]["workers"] + u["decode"]["workers"]  # each layout here is 8 GPUs
        assert u["gpus"] == 8 * gpus
        per_gpu = u["deployment_rps"] * 1000 / u["gpus"]
        assert u["output_tokens_per_s_per_gpu"] == pytest.approx(per_gpu, rel=1e-3)
    best = max(u["output_tokens_per_s_per_gpu"] for u in units)
    assert doc["throughput_optimal"]["output_tokens_per_s_per_gpu"] == best
    assert doc["latency_optimal"]["ttft_ms"] == min(u["ttft_ms"] for u in units)
    front = [u for u in units if "frontier" in u["marks"]]
    front.sort(key=lambda u: u["ttft_ms"])
    rates = [u["output_tokens_per_s_per_gpu"] for u in front]
    assert rates == sorted(rates) and len(set(rates)) == len(rates)  # more latency buys more
    # measured where disaggregated SGLang runs of this network on this GPU were
    assert doc["typical_error"].startswith("median error TTFT")


def test_the_limits_bound_each_units_load() -> None:
    """A unit takes more concurrent requests when the limits are looser."""
    tight = {_key(u): u["concurrency"] for u in _doc(*LIMITS)["configs"]}
    loose = {_key(u): u["concurrency"] for u in _doc("--first-token-ms", "8000")["configs"]}
    assert tight.keys() <= loose.keys()
    assert all(loose[k] >= tight[k] for k in tight)
    assert any(loose[k] > tight[k] for k in tight)


def _key(unit: dict[str, Any]) -> tuple[str, ...]:
    return (
        unit["precision"], unit["prefill"]["layout"], str(unit["prefill"]["workers"]),
        unit["decode"]["layout"], str(unit["decode"]["workers"]),
    )  # fmt: skip


def test_the_table_marks_the_optima_and_says_how_accurate_it_is() -> None:
    result = run(*QUESTION, *LIMITS, "--frontier-only")
    assert result.exit_code == 0, result.output
    assert "T throughput-optimal" in result.stdout and "Model accuracy: median error" in (
        " ".join(result.stdout.split())
    )


def test_no_unit_within_impossible_limits_is_exit_1_with_the_reason() -> None:
    result = run(*QUESTION, "--first-token-ms", "1")
    assert result.exit_code == 1
    assert "No disaggregated unit meets the limits" in result.stdout


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (("--mode", "static"), "--mode"),
        (("--source", "measured"), "--source"),
    ],
)
def test_what_units_cannot_answer_is_one_line(extra: tuple[str, ...], flag: str) -> None:
    assert_one_line_error(run(*QUESTION, *extra), flag)
