"""The deployment type: layouts and their rules, whole servers per pool, precision specs; the
performance model refuses what it cannot represent instead of guessing."""

from __future__ import annotations

import json

import pytest

from llmsize.catalog import load_catalog
from llmsize.deployment import Deployment, Layout, Pool, PrecisionSpec
from llmsize.errors import InputError
from llmsize.perf.context import perf_context

CATALOG = load_catalog()
MIXTRAL = CATALOG.models.get("mixtral-8x7b", "model")
LLAMA = CATALOG.models.get("llama-3-70b", "model")
DGX = CATALOG.servers.get("dgx-h100", "server")
H100 = CATALOG.gpu_of(DGX)


def test_labels_name_every_axis_that_is_not_one() -> None:
    assert Layout(tp=4).label == "TP4"
    assert Layout(tp=4, pp=2).label == "TP4×PP2"
    assert Layout(tp=2, attention_dp=4, ep=8).label == "TP2×DP4 EP8"
    assert Layout(tp=8, ep=4).label == "TP8 EP4×MoE-TP2"
    assert Layout(tp=2, attention_dp=4, pp=2).gpus == 16


def test_the_moe_layout_covers_the_attention_gpus() -> None:
    assert Layout(tp=8, ep=8).moe_tp == 1 and Layout(tp=8, ep=8).problems(MIXTRAL) == []
    assert "must cover" in Layout(tp=4, ep=2, moe_tp=4).problems(MIXTRAL)[0]
    assert "dense" in Layout(tp=8, ep=8).problems(LLAMA)[0]
    assert any("EP3 does not divide" in p for p in Layout(tp=3, ep=3).problems(MIXTRAL))
    with pytest.raises(ValueError):
        Layout(tp=0)


def test_replicas_that_span_servers_count_whole_servers() -> None:
    wide = Pool(DGX, H100, Layout(tp=8, pp=2), workers=3)
    assert (wide.servers_per_replica, wide.servers, wide.gpus) == (2, 6, 48)
    narrow = Pool(DGX, H100, Layout(tp=2), workers=5)
    assert (narrow.replicas_per_server, narrow.servers) == (4, 2)
    assert "does not divide" in Pool(DGX, H100, Layout(tp=3), 1).problems(LLAMA)[-1]


def test_servers_hold_whole_replicas_the_inverse_of_pool_servers() -> None:
    for layout in (Layout(tp=8, pp=2), Layout(tp=2), Layout(tp=8), Layout(tp=4, pp=4)):
        for servers in (1, 2, 3, 6, 8):
            replicas = layout.replicas_on(servers, DGX.gpus)
            assert Pool(DGX, H100, layout, replicas).servers <= servers
            assert Pool(DGX, H100, layout, replicas + 1).servers > servers


def test_precision_specs() -> None:
    assert PrecisionSpec.named("fp8") == PrecisionSpec("fp8", "fp8", "fp8")
    assert PrecisionSpec.named("int4") == PrecisionSpec("int4", "fp16", "fp16")
    assert PrecisionSpec.named("bf16").label == "bf16"
    assert PrecisionSpec("fp8", "fp8", "bf16").label == "W fp8 A fp8 KV bf16"


def test_the_model_refuses_layouts_it_does_not_represent() -> None:
    context = perf_context({LLAMA.id})
    fine = Deployment.aggregated(LLAMA, DGX, H100, Layout(tp=4), "fp8", batch=8)
    answer = context.perf.answer(fine, 2000, 200)
    assert answer.estimate is not None and answer.estimate.label == "fp8 TP4 C8"
    piped = Deployment.aggregated(LLAMA, DGX, H100, Layout(tp=4, pp=2), "fp8", batch=8)
    answer = context.perf.answer(piped, 2000, 200)
    assert answer.estimate is not None and answer.estimate.label == "fp8 TP4×PP2 C8"
    assert answer.estimate.error_pct is None  # pipeline-parallel runs were never measured
    assert answer.estimate.rps_low is None and answer.estimate.range_note == "unvalidated"
    ranks = Deployment.aggregated(LLAMA, DGX, H100, Layout(tp=2, attention_dp=2), "fp8", batch=8)
    answer = context.perf.answer(ranks, 2000, 200)
    assert answer.estimate is not None and answer.estimate.label == "fp8 TP2×DP2 C8"
    assert (
        "attention data parallelism" in answer.typical_error and answer.estimate.error_pct is None
    )
    for deployment in (
        Deployment(LLAMA, PrecisionSpec("fp8", "bf16", "fp8"), fine.pools),
        Deployment(LLAMA, fine.precision, (fine.pool, fine.pool)),
    ):
        with pytest.raises(InputError, match="not modelled yet"):
            context.perf.answer(deployment, 2000, 200)


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--pp", "200"], "--pp"),
        (["--ep", "2"], "--ep: llama-3-70b is dense"),
    ],
)
def test_estimate_takes_a_layout_and_refuses_what_it_cannot_model(
    flags: list[str], fragment: str
) -> None:
    from tests.cli.helpers import assert_one_line_error, run

    args = ["estimate", "--model", "llama-3-70b", "--gpu", "h100-sxm", "--tp", "4", "--batch"]
    args += ["8", "--input-tokens", "1000", "--output-tokens", "100"]
    assert_one_line_error(run(*args, *flags), fragment)
    moe = [a if a != "llama-3-70b" else "mixtral-8x7b" for a in args]
    assert_one_line_error(run(*moe, "--ep", "2", "--moe-tp", "1"), "--ep", "must cover")
    assert run(*args, "--pp", "1", "--ep", "1").exit_code == 0
    ranks = run(*args, "--attention-dp", "2", "--json")
    assert ranks.exit_code == 0 and json.loads(ranks.stdout)["layout"] == "TP4×DP2"


@pytest.mark.parametrize("flag", ["--pp", "--attention-dp", "--ep", "--moe-tp"])
def test_layout_flags_out_of_range_are_one_line(flag: str) -> None:
    from tests.cli.helpers import assert_one_line_error, run

    args = ["estimate", "--model", "mixtral-8x7b", "--gpu", "h100-sxm", "--tp", "4", "--batch"]
    args += ["8", "--input-tokens", "1000", "--output-tokens", "100"]
    assert_one_line_error(run(*args, flag, "0"), flag)
    assert_one_line_error(run(*args, flag, "lots"), flag)
