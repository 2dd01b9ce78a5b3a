"""`llmsize estimate --prefill SPEC --decode SPEC`: a disaggregated deployment from the CLI."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import assert_one_line_error, run

BASE = (
    "estimate", "--model", "deepseek-r1", "--gpu", "gb200", "--server", "gb200-nvl72",
    "--input-tokens", "1024", "--output-tokens", "1024", "--precision", "nvfp4",
    "--engine", "trtllm",
)  # fmt: skip
POOLS = ("--prefill", "attention_dp=4,ep=4,workers=1,batch=1", "--decode",
         "attention_dp=8,ep=8,workers=4,batch=32")  # fmt: skip


def test_the_json_is_the_library_answer() -> None:
    from llmsize.api import estimate_disaggregated

    result = run(*BASE, *POOLS, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    same = estimate_disaggregated(
        "deepseek-r1", "gb200", 1024, 1024, "nvfp4", engine="trtllm", server="gb200-nvl72",
        prefill={"attention_dp": 4, "ep": 4, "workers": 1, "batch": 1},
        decode={"attention_dp": 8, "ep": 8, "workers": 4, "batch": 32},
    )  # fmt: skip
    assert doc["ttft_ms"] == pytest.approx(same.ttft_ms)
    assert doc["concurrency"] == 1024 and doc["gpus"] == 36 and doc["kv_link"] == "nvlink"
    assert doc["prefill"]["layout"] == "TP1×DP4 EP4" and doc["decode"]["workers"] == 4


def test_the_table_names_both_pools_and_the_pace() -> None:
    result = run(*BASE, *POOLS, "--concurrency", "512")
    assert result.exit_code == 0, result.output
    for text in ("prefill", "decode", "TP1×DP8 EP8", "closed loop of 512", "set by", "nvlink"):
        assert text in result.stdout, text


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (("--prefill", "tp=4"), ("--decode", "needs its other pool")),
        (("--prefill", "tp4", "--decode", "tp=4"), ("--prefill", "key=value")),
        (("--prefill", "wokers=2", "--decode", "tp=4"), ("--prefill", "workers")),
        (("--prefill", "tp=x", "--decode", "tp=4"), ("--prefill", "whole number")),
        ((*POOLS, "--tp", "8"), ("--tp", "aggregated")),
        ((*POOLS, "--attention-dp", "2"), ("--attention-dp", "aggregated")),
        (("--prefill", "tp=4", "--decode", "tp=4"), ("concurrency",)),
        ((*POOLS, "--source", "measured"), ("--source", "model only")),
        (("--batch", "8"), ("--tp", "required")),
        (("--tp", "8", "--batch", "8", "--concurrency", "4"), ("--concurrency",)),
    ],
)
def test_bad_disaggregated_flags_are_one_line(
    extra: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    assert_one_line_error(run(*BASE, *extra), *fragments)
