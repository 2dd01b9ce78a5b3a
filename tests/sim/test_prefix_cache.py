"""The prefix cache: in the steady-state model (prefill work, memory) and in the twin (each
replica's cache, its hit counter, eviction before preemption)."""

from __future__ import annotations

import pytest

from llmsize.catalog import load_catalog
from llmsize.perf.calibration import shipped_calibration
from llmsize.perf.roofline import Setup, inflight_load, inflight_times, prefill_work
from llmsize.sim.engine import Scheduler, Segments, Simulation
from llmsize.sim.run import Traffic, TwinSetup, run, summarise
from llmsize.sim.steps import StepModel
from llmsize.workload import Lengths, Serving, SharedPrefix

CATALOG = load_catalog()
MODEL = CATALOG.models.get("llama-3-8b", "m")
GPU = CATALOG.gpus.get("h100-sxm", "g")
PARAMS = shipped_calibration().resolve(None, GPU, "fp8", CATALOG).params
SETUP = Setup(MODEL, GPU, 1, "fp8", 8, engine="vllm")


def test_a_cached_half_of_the_prompt_halves_the_prefill_matmuls() -> None:
    whole = prefill_work(SETUP, 4, 4000)
    half = prefill_work(SETUP, 4, 4000, cached=2000)
    assert half.tokens == pytest.approx(whole.tokens / 2)
    assert half.flops_linear == pytest.approx(whole.flops_linear / 2)
    # the uncached half's queries still attend to the cached half: 3/4 of the attention pairs
    assert half.flops_attention == pytest.approx(whole.flops_attention * 3 / 4, rel=1e-6)
    assert prefill_work(SETUP, 4, 4000, cached=0).flops_attention == whole.flops_attention


def test_a_cached_prefix_shortens_the_first_token_and_frees_the_cache() -> None:
    prefix = Serving(SharedPrefix(tokens=3000, hit_rate=1.0))
    plain = inflight_load(SETUP, 64, 4000, 200)
    cached = inflight_load(SETUP, 64, 4000, 200, prefix)
    assert cached.first.tokens == pytest.approx(1000)
    assert cached.running >= plain.running
    slow = inflight_times(SETUP, PARAMS, 16, 4000, 200)
    fast = inflight_times(SETUP, PARAMS, 16, 4000, 200, prefix)
    assert fast.ttft_ms < slow.ttft_ms
    assert fast.instance_rps >= slow.instance_rps


class _Counting(StepModel):
    """Step times as modelled, counting the prompt tokens each step prefills."""

    prefilled: float = 0.0

    def mixed(
        self, d: int, context_sum: float, prefill_tokens: float, units: float, done: int
    ) -> float:
        type(self).prefilled += prefill_tokens
        return super().mixed(d, context_sum, prefill_tokens, units, done)


def _prefilled(caching: bool, segments: Segments) -> float:
    _Counting.prefilled = 0.0
    steps = _Counting(SETUP, PARAMS)
    scheduler = Scheduler(kv_capacity_tokens=400_000, max_batch=64, prefix_caching=caching)
    arrivals = iter([(i * 0.5, 2000, 10, segments, None, None) for i in range(101)])
    Simulation(steps, scheduler, replicas=1).run(arrivals=arrivals)
    return _Counting.prefilled


def test_the_twin_prefills_half_when_half_of_each_prompt_is_a_cached_prefix() -> None:
    shared: Segments = ((0, 1000),)
    whole = _prefilled(False, shared)
    assert whole == 101 * 2000
    # the first request computes the prefix; the other 100 find it cached
    assert _prefilled(True, shared) == 2000 + 100 * 1000


def _run(hit_rate: float, replicas: int = 2, requests: int = 10_000) -> tuple[float, float]:
    deployment = TwinSetup(
        MODEL, GPU, 1, "fp8", 8, replicas, PARAMS, prefix_caching=True, engine="vllm"
    )
    traffic = Traffic(
        requests=requests,
        input_tokens=Lengths(3000, 500),
        output_tokens=Lengths(150),
        rate=20.0,
        seed=7,
        prefix=SharedPrefix(2000, hit_rate),
    )
    result = summarise(run(deployment, traffic), traffic)
    assert result.prefix_hit_rate is not None and result.cached_token_share is not None
    return result.prefix_hit_rate, result.cached_token_share


@pytest.mark.parametrize("hit_rate", [0.3, 0.75, 1.0])
def test_the_twins_hit_counter_matches_the_use_cases_hit_rate(hit_rate: float) -> None:
    """Over 10,000 requests the replicas' caches serve the shared prefix to the share of
    requests that repeat it, within 2 points (the first request on each replica misses)."""
    measured, tokens = _run(hit_rate)
    assert measured == pytest.approx(hit_rate, abs=0.02)
    assert tokens == pytest.approx(hit_rate * 2000 / 3000, abs=0.02)


def test_prefixes_no_one_holds_are_evicted_before_anyone_is_preempted() -> None:
    """A cache of 12,000 tokens: each request's own 2,000-token prefix stays cached after it
    ends, until a newcomer needs the room; no running request is preempted for it."""
    scheduler = Scheduler(kv_capacity_tokens=12_000, max_batch=8, prefix_caching=True)
    simulation = Simulation(StepModel(SETUP, PARAMS), scheduler, replicas=1)
    arrivals = iter([(i * 0.2, 2500, 20, ((-(i + 1), 2000),), None, None) for i in range(200)])
    outcome = simulation.run(arrivals=arrivals)
    assert len(outcome.end) == 200 and outcome.preemptions == 0
    assert outcome.prefix_hits == 0 and outcome.prefix_lookups == 200
    replica = simulation.replicas[0]
    assert replica.cache_tokens <= scheduler.kv_capacity_tokens
    assert 0 < len(replica.cache) < 200  # the oldest were evicted
    assert all(entry[1] == 0 for entry in replica.cache.values())  # no one holds them now


def test_without_prefix_caching_the_twin_ignores_segments() -> None:
    scheduler = Scheduler(kv_capacity_tokens=100_000, max_batch=8, prefix_caching=False)
    simulation = Simulation(StepModel(SETUP, PARAMS), scheduler, replicas=1)
    outcome = simulation.run(
        arrivals=iter([(i * 0.5, 2000, 5, ((0, 1000),), None, None) for i in range(20)])
    )
    assert outcome.prefix_lookups == 0 and outcome.cached_tokens == 0
    assert not simulation.replicas[0].cache
