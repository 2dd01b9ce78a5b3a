"""Planning: the talk's worked example, limits, ranking, and the monotonicity a planner owes."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from llmsize.benchdb.store import bundled_store
from llmsize.catalog import load_catalog
from llmsize.perf.measured import MeasuredCurves
from llmsize.search import PlanResult, plan, servers_needed
from llmsize.usecase import Resolved, parse_usecase, resolve

PERF = MeasuredCurves(bundled_store())


def _usecase(**changes: object) -> Resolved:
    data: dict[str, object] = {
        "model": "llama-2-70b",
        "input_tokens": 2000,
        "output_tokens": 128,
        "latency": {"first_token_ms": 2000},
        "load": {"peak_rps": 20},
        **changes,
    }
    return resolve(parse_usecase(data, "uc"), load_catalog())


def _servers(result: PlanResult) -> float:
    rec = result.recommendation
    return math.inf if rec is None or rec.servers is None else rec.servers


def test_talk_nemo_43b_example() -> None:
    # GTC S62797: NeMo 43B, 3500 in / 500 out, TTFT <= 3 s, 31 req/s peak; a DGX H100 serves
    # 2.4 req/s (TTFT 2606 ms, ITL 21.4 ms) -> 13 DGX H100. Exact: the row is used as published.
    uc = _usecase(
        model="nemo-gpt-43b",
        input_tokens=3500,
        output_tokens=500,
        latency={"first_token_ms": 3000},
        load={"peak_rps": 31},
        hardware={"server": "dgx-h100", "precision": "bf16"},
    )
    result = plan(uc, load_catalog(), PERF)
    rec = result.recommendation
    assert rec is not None and rec.best is not None
    assert (rec.server.id, rec.servers) == ("dgx-h100", 13)
    assert (rec.best.ttft_ms, rec.best.itl_ms, rec.best.rps_per_server) == (2606, 21.4, 2.4)
    assert rec.best.provenance == "measured"


def test_talk_llama_2_70b_point_is_the_throughput_optimum_in_bf16() -> None:
    # GTC S62797 Example 2: TP4, batch 128 -> 11.2 prompts/s per 8 GPUs with TTFT 1517 ms.
    uc = _usecase(
        input_tokens=128,
        output_tokens=512,
        latency={"first_token_ms": 2000},
        hardware={"server": "dgx-h100", "precision": "bf16"},
    )
    rec = plan(uc, load_catalog(), PERF).recommendation
    assert rec is not None and rec.best is not None
    assert (rec.best.tp, rec.best.batch, rec.best.rps_per_server) == (4, 128, 11.2)


def test_nothing_within_limits_is_a_result_with_reasons() -> None:
    uc = _usecase(latency={"first_token_ms": 1}, hardware={"server": ["dgx-h100", "dgx-b200"]})
    result = plan(uc, load_catalog(), PERF)
    assert result.recommendation is None
    by_id = {p.server.id: p for p in result.plans}
    assert by_id["dgx-h100"].status == "infeasible"
    assert any("TTFT" in r for r in by_id["dgx-h100"].reasons)
    assert by_id["dgx-b200"].status == "no_data"
    assert by_id["dgx-b200"].reasons == ["no measurements of llama-2-70b on b200"]


def test_every_feasible_config_is_within_every_limit() -> None:
    uc = _usecase(latency={"first_token_ms": 1500, "last_token_ms": 6000, "inter_token_ms": 40})
    for p in plan(uc, load_catalog(), PERF).plans:
        for e in p.feasible:
            assert e.ttft_ms <= 1500 and e.e2e_ms <= 6000 and (e.itl_ms or 0) <= 40


def test_servers_round_up_without_float_noise() -> None:
    assert servers_needed(31, 2.4) == 13
    assert servers_needed(24, 2.4) == 10
    assert servers_needed(0.01, 2.4) == 1


def _with_limit(usecase: Resolved, which: str, value: float) -> Resolved:
    if which == "first_token_ms":
        return replace(usecase, first_token_ms=value)
    if which == "last_token_ms":
        return replace(usecase, last_token_ms=value)
    return replace(usecase, inter_token_ms=value)


LENGTHS = st.sampled_from([(128, 128), (128, 512), (2000, 128), (500, 1000), (2048, 2048)])


@settings(max_examples=40, deadline=None)
@given(lengths=LENGTHS, low=st.floats(0.1, 500), extra=st.floats(0, 500))
def test_more_load_never_needs_fewer_servers(
    lengths: tuple[int, int], low: float, extra: float
) -> None:
    base = _usecase(input_tokens=lengths[0], output_tokens=lengths[1])
    light = plan(replace(base, peak_rps=low), load_catalog(), PERF)
    heavy = plan(replace(base, peak_rps=low + extra), load_catalog(), PERF)
    assert _servers(light) <= _servers(heavy)


@settings(max_examples=25, deadline=None)
@given(
    requests=st.integers(1, 5_000_000),
    extra=st.integers(0, 5_000_000),
    hours=st.floats(1, 24),
    shorter=st.floats(0, 0.9),
)
def test_a_bigger_batch_job_or_a_shorter_window_never_needs_fewer_servers(
    requests: int, extra: int, hours: float, shorter: float
) -> None:
    def job(count: int, window: float) -> float:
        batch = {"batch": {"requests": count, "window_hours": window}}
        return _servers(plan(_usecase(latency=None, load=batch), load_catalog(), PERF))

    base = job(requests, hours)
    assert job(requests + extra, hours) >= base
    assert job(requests, hours * (1 - shorter)) >= base


@settings(max_examples=40, deadline=None)
@given(
    lengths=LENGTHS,
    limit=st.floats(10, 5000),
    factor=st.floats(0.05, 1.0),
    which=st.sampled_from(["first_token_ms", "last_token_ms", "inter_token_ms"]),
)
def test_a_tighter_limit_never_needs_fewer_servers(
    lengths: tuple[int, int], limit: float, factor: float, which: str
) -> None:
    base = _usecase(input_tokens=lengths[0], output_tokens=lengths[1])
    loose = plan(_with_limit(base, which, limit), load_catalog(), PERF)
    tight = plan(_with_limit(base, which, limit * factor), load_catalog(), PERF)
    assert _servers(tight) >= _servers(loose)


def test_a_plan_gives_its_recommendation_as_a_deployment() -> None:
    from pathlib import Path

    from llmsize.api import plan

    examples = Path(__file__).resolve().parents[2] / "examples" / "usecases"
    result = plan(examples / "llama-2-70b-chat.yaml")
    rec, deployment = result.recommendation, result.deployment
    assert rec is not None and rec.best is not None and deployment is not None
    assert deployment.servers == rec.servers and deployment.pool.layout.tp == rec.best.tp
    assert deployment.pool.workers == rec.servers * rec.server.gpus // (rec.best.tp or 1)
    assert deployment.label == f"bf16 TP{rec.best.tp}"
    # the talk's row gives a per-server rate without TP or batch: no layout to state
    assert plan(examples / "seed-nemo-43b.yaml").deployment is None
