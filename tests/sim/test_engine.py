"""The simulator on cases with known answers: reproducibility, one request alone, M/D/1 queueing,
KV exhaustion, routing, closed loops and traces."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmsize.catalog import load_catalog
from llmsize.perf.calibration import shipped_calibration
from llmsize.perf.roofline import (
    Setup,
    decode_work,
    mixed_work,
    pass_seconds,
    prefill_work,
)
from llmsize.sim.engine import Scheduler, Simulation
from llmsize.sim.run import Traffic, TwinSetup, run, summarise
from llmsize.sim.steps import StepModel
from llmsize.workload import Lengths, read_trace

CATALOG = load_catalog()
MODEL = CATALOG.models.get("llama-3-8b", "m")
GPU = CATALOG.gpus.get("h100-sxm", "g")
PARAMS = shipped_calibration().resolve(None, GPU, "fp8", CATALOG).params
SETUP = Setup(MODEL, GPU, 1, "fp8", 8)


def _deployment(replicas: int = 1, **options: object) -> TwinSetup:
    return TwinSetup(MODEL, GPU, 1, "fp8", 8, replicas, PARAMS, **options)  # type: ignore[arg-type]


def _traffic(**options: object) -> Traffic:
    base: dict[str, object] = {
        "requests": 400,
        "input_tokens": Lengths(512, 128),
        "output_tokens": Lengths(256, 64),
        "rate": 20.0,
        "seed": 7,
    }
    base.update(options)
    return Traffic(**base)  # type: ignore[arg-type]


def test_same_seed_same_result_bit_for_bit() -> None:
    a, b = run(_deployment(2), _traffic()), run(_deployment(2), _traffic())
    assert (a.arrival, a.first, a.end, a.output) == (b.arrival, b.first, b.end, b.output)
    c = run(_deployment(2), _traffic(seed=8))
    assert c.first != a.first and c.arrival != a.arrival
    means = [
        summarise(run(_deployment(2), _traffic(seed=s)), _traffic()).ttft_ms.mean for s in range(5)
    ]
    assert len(set(means)) == 5 and max(means) / min(means) < 1.5  # vary, but not wildly


def test_one_request_alone_gives_the_models_ttft_and_itl() -> None:
    traffic = Traffic(requests=1, input_tokens=Lengths(1000), output_tokens=Lengths(300), rate=1.0)
    result = summarise(run(_deployment(), traffic), traffic)
    prefill = pass_seconds(prefill_work(SETUP, 1, 1000), PARAMS, PARAMS.prefill_overhead_ms) * 1e3
    decode = (
        pass_seconds(decode_work(SETUP, 1, 1000 + 300 / 2), PARAMS, PARAMS.step_overhead_ms) * 1e3
    )
    front_end = PARAMS.request_overhead_ms  # before the scheduler sees it: no GPU held
    assert result.ttft_ms.mean == pytest.approx(front_end + prefill, rel=1e-6)
    assert result.itl_ms.mean == pytest.approx(decode, rel=0.01)


def test_md1_mean_wait_matches_the_queueing_formula() -> None:
    """One request at a time (max batch 1) and one output token: a deterministic server of
    service time D under Poisson arrivals at rho = 0.7, whose mean wait is rho D / (2 (1 - rho)).
    The front end's delay holds no server: every request has it, queued or not."""
    deployment = _deployment(max_batch=1)
    front_end = PARAMS.request_overhead_ms / 1e3
    service = (
        summarise(
            run(
                deployment,
                Traffic(requests=1, input_tokens=Lengths(256), output_tokens=Lengths(1), rate=1),
            ),
            _traffic(),
        ).ttft_ms.mean
        / 1e3
        - front_end
    )
    rho = 0.7
    traffic = Traffic(
        requests=200_000,
        input_tokens=Lengths(256),
        output_tokens=Lengths(1),
        rate=rho / service,
        warmup=2000,
        seed=3,
    )
    waits = summarise(run(deployment, traffic), traffic).ttft_ms.mean / 1e3 - front_end - service
    assert waits == pytest.approx(rho * service / (2 * (1 - rho)), rel=0.05)


def test_kv_exhaustion_preempts_and_still_finishes_everything() -> None:
    steps = StepModel(SETUP, PARAMS)
    simulation = Simulation(steps, Scheduler(kv_capacity_tokens=6000, max_batch=64), replicas=1)
    outcome = simulation.run(closed_loop=(16, 64, lambda: (200, 400, ())))
    assert outcome.preemptions > 0
    assert len(outcome.end) == 64 and outcome.rejected == 0
    assert all(
        e > f > a for a, f, e in zip(outcome.arrival, outcome.first, outcome.end, strict=True)
    )


def test_requests_that_can_never_fit_are_counted_not_looped_on() -> None:
    simulation = Simulation(
        StepModel(SETUP, PARAMS), Scheduler(kv_capacity_tokens=1000), replicas=1
    )
    outcome = simulation.run(
        arrivals=iter([(0.0, 900, 200, (), None, None), (0.1, 100, 10, (), None, None)])
    )
    assert outcome.rejected == 1 and len(outcome.end) == 1


def test_closed_loop_keeps_concurrency_and_count() -> None:
    traffic = Traffic(
        requests=300, input_tokens=Lengths(200), output_tokens=Lengths(100), concurrency=10
    )
    result = summarise(run(_deployment(), traffic), traffic)
    assert result.requests == 300
    assert result.mean_batch == pytest.approx(10, rel=0.1)


def test_least_outstanding_balances_better_than_round_robin_under_skew(tmp_path: Path) -> None:
    traffic = _traffic(requests=2000, rate=60.0, output_tokens=Lengths(256, 250))
    rr = summarise(run(_deployment(4), traffic), traffic)
    lo = summarise(run(_deployment(4, router="least-outstanding"), traffic), traffic)
    assert lo.requests == rr.requests == 2000
    assert lo.e2e_ms.p99 <= rr.e2e_ms.p99 * 1.05


def test_trace_replay(tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("arrival_s,input_tokens,output_tokens\n0.5,100,10\n0.0,200,20\n1.0,50,5\n")
    rows = tuple(read_trace(trace))
    traffic = Traffic(requests=10, input_tokens=Lengths(1), output_tokens=Lengths(1), trace=rows)
    outcome = run(_deployment(), traffic)
    assert list(outcome.arrival) == [0.0, 0.5, 1.0]
    assert sorted(outcome.output) == [5, 10, 20]


def test_chunked_prefill_splits_long_prompts() -> None:
    traffic = Traffic(
        requests=50, input_tokens=Lengths(6000), output_tokens=Lengths(50), concurrency=8
    )
    whole = summarise(run(_deployment(max_step_tokens=2048), traffic), traffic)
    chunked = summarise(
        run(_deployment(max_step_tokens=2048, chunked_prefill=True), traffic), traffic
    )
    assert whole.requests == chunked.requests == 50
    assert chunked.ttft_ms.mean != whole.ttft_ms.mean


@settings(max_examples=200, deadline=None)
@given(
    d=st.integers(0, 300),
    context=st.floats(0, 2e6),
    prefill=st.integers(0, 8192),
    done=st.integers(0, 8),
    model=st.sampled_from(
        # gpt-oss's sliding-window layers cap their keys: its steps are summed per block, the
        # others' from linear coefficients worked out once
        ["llama-3-8b", "mixtral-8x7b", "falcon-180b", "gpt-j-6b", "llama-2-70b", "gpt-oss-120b"]
    ),
    tp=st.sampled_from([1, 2, 8]),
    per_sequence=st.sampled_from([0.0, 40.0]),
)
def test_closed_form_step_time_matches_the_roofline(
    d: int, context: float, prefill: int, done: int, model: str, tp: int, per_sequence: float
) -> None:
    if d == 0 and prefill == 0:
        return
    setup = Setup(CATALOG.resolve_model(model, "m"), GPU, tp, "fp8", 8)
    units = prefill * prefill / 2
    params = replace(PARAMS, sequence_overhead_us=per_sequence)
    steps = StepModel(setup, params)
    work = mixed_work(setup, d, context if d else 0.0, prefill, units, done if prefill else 0)
    overhead = params.prefill_overhead_ms if prefill else params.step_overhead_ms
    expected = pass_seconds(work, params, overhead)
    got = steps.mixed(d, context if d else 0.0, prefill, units, done if prefill else 0)
    assert got == pytest.approx(expected, rel=1e-9)
    if not prefill:
        assert steps.decode(d, context) == pytest.approx(expected, rel=1e-9)
