"""The disaggregated twin (sim/disaggregated.py): a prefill pool, the KV transfer, a decode pool
in tandem."""

from __future__ import annotations

import statistics

import pytest

from llmsize.catalog import load_catalog
from llmsize.perf.calibration import load_calibration
from llmsize.perf.roofline import Setup, decode_work, pass_seconds
from llmsize.sim.disaggregated import run_disaggregated
from llmsize.sim.run import Traffic, TwinSetup
from llmsize.workload import Lengths

CATALOG = load_catalog()
MODEL = CATALOG.resolve_model("meta-llama/Llama-3.1-8B", "model")
GPU = CATALOG.gpus.get("h100", "gpu")
PARAMS = load_calibration(None).resolve("vllm", GPU, "fp8", CATALOG).params


def _pool(replicas: int) -> TwinSetup:
    return TwinSetup(
        MODEL, GPU, 1, "fp8", 8, replicas, PARAMS, max_batch=256, max_step_tokens=8192,
        chunked_prefill=True, engine="vllm",
    )  # fmt: skip


def _traffic(rate: float, requests: int = 600) -> Traffic:
    return Traffic(
        requests=requests, input_tokens=Lengths(2000.0), output_tokens=Lengths(200.0),
        rate=rate, warmup=60, seed=3,
    )  # fmt: skip


def test_every_measured_request_is_served_by_both_pools_in_order() -> None:
    outcome = run_disaggregated(_pool(1), _pool(2), _traffic(4.0), lambda prompt: 0.002)
    assert len(outcome.arrival) == 600 - 60
    for a, f, e in zip(outcome.arrival, outcome.first, outcome.end, strict=True):
        assert a < f < e
    assert outcome.replicas == 2 and outcome.rejected == 0


def test_the_transfer_delays_the_first_token_by_exactly_its_time() -> None:
    """The prefill pool does not see the transfer: every first token moves by it, no more."""
    fast = run_disaggregated(_pool(1), _pool(2), _traffic(2.0), lambda prompt: 0.0)
    slow = run_disaggregated(_pool(1), _pool(2), _traffic(2.0), lambda prompt: 0.05)
    for a, b in zip(fast.first, slow.first, strict=True):
        assert b - a == pytest.approx(0.05, abs=1e-9)


def test_decode_steps_carry_no_prefill_so_itl_is_a_decode_step() -> None:
    """At a light load the inter-token gap is the decode step at the pool's batch: the decode
    replicas never prefill the prompts they receive (only the one token each resumes with)."""
    outcome = run_disaggregated(_pool(1), _pool(1), _traffic(1.0, 300), lambda prompt: 0.0)
    itl = statistics.median(
        (e - f) / (o - 1) for f, e, o in zip(outcome.first, outcome.end, outcome.output,
                                             strict=True)
    )  # fmt: skip
    batch = outcome.batch_area / (outcome.end_time - outcome.first_arrival)
    setup = Setup.of(MODEL, GPU, _pool(1).layout, "fp8", 8, 50.0, engine="vllm")
    step = pass_seconds(decode_work(setup, batch, 2100), PARAMS, PARAMS.step_overhead_ms)
    assert itl == pytest.approx(step, rel=0.15)


def test_a_decode_replica_holds_what_it_receives_as_cached() -> None:
    """The decode pool's replicas find each received prompt cached but its last token."""
    from dataclasses import replace

    from llmsize.sim.engine import Arrival

    decoding = replace(_pool(1), prefix_caching=True).simulation()  # as run_disaggregated does
    decoding.transferred = True
    arrivals: list[Arrival] = [
        (0.01 * i, 2000, 50, ((i + 1, 2000),), None, None) for i in range(100)
    ]
    decoding.run(arrivals=iter(arrivals), warmup=0)
    assert decoding.prompt_tokens == 100 * 2000
    assert decoding.cached_tokens == 100 * 1999
