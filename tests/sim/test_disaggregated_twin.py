"""The disaggregated twin (sim/disaggregated.py): a prefill pool, the KV cache's hand-over, a
decode pool, in one event loop."""

from __future__ import annotations

import math
import statistics
from dataclasses import replace

import pytest

from llmsize.catalog import load_catalog
from llmsize.perf.calibration import load_calibration
from llmsize.perf.roofline import Setup, decode_work, pass_seconds
from llmsize.sim.disaggregated import run_disaggregated
from llmsize.sim.engine import Request, Scheduler, Simulation
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


def test_the_transfer_delays_the_first_token_by_its_time() -> None:
    """At a light load the first token is delivered when the pull lands: a transfer of 50 ms
    moves it by 50 ms, give or take where the decode replica's step boundaries fall (it admits
    the request, and starts the pull, at the next one)."""
    fast = run_disaggregated(_pool(1), _pool(2), _traffic(2.0), lambda prompt: 0.0)
    slow = run_disaggregated(_pool(1), _pool(2), _traffic(2.0), lambda prompt: 0.05)
    moved = [b - a for a, b in zip(fast.first, slow.first, strict=True)]
    assert statistics.median(moved) == pytest.approx(0.05, abs=0.005)
    assert min(moved) > 0.05 - 0.02  # never by less than the transfer, but a decode step


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


def test_a_slow_decode_pool_holds_the_first_tokens_back() -> None:
    """Backpressure: a decode replica admits (and pulls) a request only when it has room in its
    batch, so a decode pool that cannot keep up delays the first tokens, which a tandem of two
    independent pools would not."""
    traffic = _traffic(6.0, 400)

    def ttft(decode: TwinSetup) -> float:
        o = run_disaggregated(_pool(1), decode, traffic, lambda prompt: 0.001)
        return statistics.median(f - a for a, f in zip(o.arrival, o.first, strict=True))

    ample, cramped = ttft(_pool(2)), ttft(replace(_pool(1), max_batch=4))
    assert cramped > 10 * ample


def test_a_prefill_replica_takes_no_prompt_while_its_memory_holds_unpulled_ones() -> None:
    """The prompts a prefill replica has finished keep their KV cache there until the decode
    pool pulls it: with that room taken, the next prompt waits until a pull frees it."""
    from llmsize.sim.steps import StepModel

    setup = Setup.of(MODEL, GPU, _pool(1).layout, "fp8", 8, 50.0, engine="vllm")
    prefill = Simulation(StepModel(setup, PARAMS), Scheduler(kv_capacity_tokens=5000), 1)
    first = Request(0, 0.0, 3000, 1, -1, True)
    prefill.arrive(first, 0.0)
    _step(prefill)  # it plans the prompt
    now, done = _step(prefill)
    assert done == [first]
    prefill.hold(first, 3000)  # its KV cache waits for the decode pool
    second = Request(1, now, 3000, 1, -1, True)
    prefill.arrive(second, now)
    _step(prefill)
    replica = prefill.replicas[0]
    assert replica.waiting[0] is second and not replica.busy  # no room: it waits
    assert prefill.next_event() == math.inf
    prefill.release(first, 3000, now + 1.0)  # pulled
    assert prefill.next_event() == pytest.approx(now + 1.0)
    _step(prefill)
    assert _step(prefill)[1] == [second]


def _step(simulation: Simulation) -> tuple[float, list[Request]]:
    """One replica event of a simulation, as its run loop takes it: applied, then planned on."""
    simulation.next_event()
    now, replica, done = simulation.advance()
    simulation.plan(replica, now)
    return now, done


def test_sessions_are_replayed_turn_after_turn_with_less_reuse_than_aggregated() -> None:
    """Each session's next turn is sent once its last answer has ended and the think time has
    passed; the prefill replica it sticks to holds its prompts but not the last answer (the
    decode pool computed it), so a turn reuses less history than on an aggregated replica."""
    from llmsize.sim.run import run
    from llmsize.workload import Sessions, SharedPrefix

    sessions = replace(
        _traffic(2.0, 300),
        input_tokens=Lengths(200.0),
        prefix=SharedPrefix(500, 1.0),
        sessions=Sessions(3, 2.0),
        system_tokens=500,
        warmup=0,
    )
    caching = replace(_pool(1), prefix_caching=True)
    outcome = run_disaggregated(caching, _pool(1), sessions, lambda prompt: 0.001)
    assert len(outcome.end) == 300  # 100 sessions of 3 turns
    turns = sorted(zip(outcome.rids, outcome.arrival, outcome.end, strict=True))
    starts = sorted(outcome.arrival)
    assert starts == sorted(a for _, a, _ in turns)
    aggregated = run(replace(caching, replicas=2), sessions)
    share = outcome.cached_tokens / outcome.prompt_tokens
    assert share < aggregated.cached_tokens / aggregated.prompt_tokens
    assert share > 0.5 * 500 / 1400  # the system prompt and the first question are reused


def _cached(rate: float, hit_rate: float, requests: int = 600) -> Traffic:
    from llmsize.workload import SharedPrefix

    return replace(_traffic(rate, requests), prefix=SharedPrefix(1000, hit_rate))


def test_a_shared_prefix_is_counted_at_the_use_cases_hit_rate_and_crosses_once() -> None:
    """Issue 14: the twin's hit counter within 2 points of the use case's hit rate over 10,000
    requests; a request that shares the prefix hands over only the rest of its KV cache."""
    prefill = replace(_pool(1), prefix_caching=True)
    crossed: list[int] = []

    def transfer(tokens: int) -> float:
        crossed.append(tokens)
        return 0.0

    outcome = run_disaggregated(prefill, _pool(2), _cached(4.0, 0.7, 10_000), transfer)
    assert outcome.prefix_lookups == 10_000 - 60  # the measured requests, warm-up left out
    assert outcome.prefix_hits / outcome.prefix_lookups == pytest.approx(0.7, abs=0.02)
    whole = sum(1 for tokens in crossed if tokens == 2000)  # misses: the whole prompt
    assert whole / len(crossed) == pytest.approx(0.3, abs=0.02)
    assert all(tokens in (1000, 2000) for tokens in crossed)


def test_a_cached_prefix_shortens_the_first_token_and_the_transfer() -> None:
    """Half of each prompt cached on both sides: the prefill pool computes half, and the
    first token (prefill plus a transfer proportional to what crosses) comes sooner."""
    prefill = replace(_pool(1), prefix_caching=True)

    def transfer(tokens: int) -> float:
        return tokens * 1e-5

    plain = run_disaggregated(prefill, _pool(2), _traffic(4.0), transfer)
    cached = run_disaggregated(prefill, _pool(2), _cached(4.0, 1.0), transfer)
    ttft = [statistics.median(f - a for a, f in zip(o.arrival, o.first, strict=True))
            for o in (plain, cached)]  # fmt: skip
    assert ttft[1] < 0.8 * ttft[0]  # both also wait for a decode step boundary to pull
    assert cached.cached_tokens == pytest.approx(0.5 * cached.prompt_tokens, rel=0.01)


def test_a_drafting_decode_pool_shortens_the_inter_token_gap() -> None:
    """Speculative decoding on the decode workers (the search hands them the use case's):
    each step yields more than one token, so the median gap after the first token drops."""
    from llmsize.workload import Speculation

    eagle = Speculation("eagle", 3, 0.75, 0.03, 1e9, "given")

    def gap(decode: TwinSetup) -> float:
        o = run_disaggregated(_pool(1), decode, _traffic(2.0, 300), lambda prompt: 0.0)
        return statistics.median(
            (e - f) / (n - 1) for f, e, n in zip(o.first, o.end, o.output, strict=True)
        )

    assert gap(replace(_pool(1), speculation=eagle)) < 0.6 * gap(_pool(1))


def test_a_first_token_from_the_decode_worker_waits_for_its_first_step() -> None:
    """vLLM's NIXL flow: the client's first token leaves with the decode replica's first step
    once the KV cache has landed, so it comes after the prefill and the transfer, by at least
    that step; the answer's last token is the decode pool's either way."""
    traffic = _traffic(2.0, 300)
    prefilled = run_disaggregated(_pool(1), _pool(2), traffic, lambda prompt: 0.001)
    decoded = run_disaggregated(_pool(1), _pool(2), traffic, lambda prompt: 0.001, True)
    assert len(decoded.first) == len(prefilled.first)
    step = 0.002  # reading the 8 GB of FP8 weights alone takes 2.4 ms at 3.35 TB/s
    for a, b in zip(prefilled.first, decoded.first, strict=True):
        assert b > a + step
    assert statistics.median(decoded.end) > statistics.median(prefilled.end)


def test_a_closed_loop_keeps_its_clients_busy_and_sends_every_request_once() -> None:
    """Closed loop (a silicon run's load): each of the clients sends its next request the
    moment its last one ends, `requests` in all; more clients, longer first tokens (they queue
    for the same pools)."""

    def ttft(concurrency: int) -> tuple[int, float]:
        traffic = replace(_traffic(1.0, 400), rate=None, concurrency=concurrency, warmup=40)
        o = run_disaggregated(_pool(1), _pool(1), traffic, lambda prompt: 0.001)
        return len(o.end), statistics.mean(f - a for a, f in zip(o.arrival, o.first, strict=True))

    (served, few), (_, many) = ttft(2), ttft(64)
    assert served == 400 - 40
    assert many > 2 * few
