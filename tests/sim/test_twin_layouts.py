"""The twin runs every layout the model answers (issue 11): pipeline stages as micro-batch
schedulers whose steps add the hand-offs, attention-DP ranks as one scheduler over all their
caches, expert all-to-all in the step times; the closed-form steps still equal the roofline."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmsize.catalog import load_catalog
from llmsize.deployment import Deployment, Layout
from llmsize.perf.calibration import shipped_calibration
from llmsize.perf.estimate import StepBasis
from llmsize.perf.roofline import Setup, mixed_work, pass_seconds
from llmsize.sim.run import Traffic, TwinSetup, run, summarise
from llmsize.sim.steps import StepModel
from llmsize.workload import Lengths

CATALOG = load_catalog()
H100 = CATALOG.gpus.get("h100-sxm", "gpu")
DGX = CATALOG.servers.get("dgx-h100", "server")
PARAMS = shipped_calibration().resolve(None, H100, "fp8", CATALOG).params
LLAMA = CATALOG.models.get("llama-3-70b", "model")
MIXTRAL = CATALOG.models.get("mixtral-8x7b", "model")


def _twin(model: object, layout: Layout, workers: int = 1) -> TwinSetup:
    deployment = Deployment.aggregated(model, DGX, H100, layout, "fp8", workers=workers)  # type: ignore[arg-type]
    return TwinSetup.of(deployment, StepBasis(PARAMS, "model"))


@settings(max_examples=60, deadline=None)
@given(
    layout=st.sampled_from(
        [Layout(tp=4, pp=2), Layout(tp=2, attention_dp=4, ep=8), Layout(tp=8, ep=8)]
    ),
    d=st.integers(0, 64),
    context=st.floats(1, 8000),
    prefill=st.sampled_from([0, 128, 2048]),
)
def test_closed_form_steps_equal_the_roofline_for_every_layout(
    layout: Layout, d: int, context: float, prefill: int
) -> None:
    if d == 0 and prefill == 0:
        return
    setup = Setup(
        MIXTRAL,
        H100,
        layout.tp,
        "fp8",
        8,
        layout.pp,
        attention_dp=layout.attention_dp,
        ep=layout.ep,
    )
    steps = StepModel(setup, PARAMS)
    units = prefill * prefill / 2
    done = 1 if prefill else 0
    work = mixed_work(setup, d, context if d else 0.0, prefill, units, done)
    overhead = PARAMS.prefill_overhead_ms if prefill else PARAMS.step_overhead_ms
    expected = pass_seconds(work, PARAMS, overhead)
    hops = 0.0
    if layout.pp > 1:  # the twin's micro-batch step hands off between stages
        from llmsize.perf.pipeline import hop_ms

        hops = (layout.pp - 1) * hop_ms(MIXTRAL.hidden, d + prefill) * 1e-3
    got = steps.mixed(d, context if d else 0.0, prefill, units, done)
    assert got == pytest.approx(expected + hops, rel=1e-9)


def test_a_pipeline_replica_is_micro_batch_schedulers_with_a_stage_share_each() -> None:
    piped = _twin(LLAMA, Layout(tp=4, pp=2), workers=2)
    flat = _twin(LLAMA, Layout(tp=4), workers=2)
    assert (piped.pp, piped.schedulers, flat.schedulers) == (2, 4, 2)
    # a stage holds half the layers: the replica caches about twice the tokens of one TP4 group
    assert piped.kv_capacity_tokens() > 1.9 * flat.kv_capacity_tokens()


def test_attention_dp_ranks_pool_their_caches_in_one_scheduler() -> None:
    ranks = _twin(MIXTRAL, Layout(tp=2, attention_dp=4, ep=8))
    alone = _twin(MIXTRAL, Layout(tp=2))
    assert ranks.schedulers == 1
    simulation = ranks.simulation()
    assert simulation.scheduler.max_batch == 4 * ranks.max_batch
    assert ranks.kv_capacity_tokens() > 3 * alone.kv_capacity_tokens()


def test_a_pipelined_request_alone_waits_for_the_hand_offs_and_more_traffic_completes() -> None:
    from llmsize.perf.pipeline import hop_ms

    alone = Traffic(requests=1, input_tokens=Lengths(1000), output_tokens=Lengths(200), rate=1.0)
    piped = summarise(run(_twin(LLAMA, Layout(tp=4, pp=2)), alone), alone)
    flat = summarise(run(_twin(LLAMA, Layout(tp=4)), alone), alone)
    assert piped.itl_ms.mean == pytest.approx(flat.itl_ms.mean + hop_ms(LLAMA.hidden, 1), rel=0.01)
    busy = Traffic(
        requests=300, input_tokens=Lengths(1000), output_tokens=Lengths(200), rate=4.0, seed=3
    )
    result = summarise(run(_twin(LLAMA, Layout(tp=4, pp=2)), busy), busy)
    assert result.requests == 300 and result.errors == 0


def test_simulate_runs_an_expert_parallel_deployment() -> None:
    from tests.cli.helpers import run as cli

    usecase = "examples/usecases/deepseek-r1-reasoning.yaml"
    result = cli("simulate", usecase, "--server", "hgx-h200", "--requests", "300", "--json")
    assert result.exit_code in (0, 1), result.output
    import json

    deployment = json.loads(result.stdout)["deployment"]
    assert "layout" in deployment


def test_a_windowed_model_holds_each_sequences_window_only_while_it_runs() -> None:
    """gpt-oss (sliding-window layers) on one H100 under vLLM: about 2 GiB beside the weights.
    The twin charges each sequence it holds a full window of the windowed layers, as vLLM's
    hybrid cache allocates them per request; it used to set aside max_num_seqs windows up front,
    which left no cache at all, so every request was refused though the steady state (and vLLM)
    run a few dozen at once."""
    model = CATALOG.resolve_model("openai/gpt-oss-120b", "model")
    deployment = Deployment.aggregated(model, DGX, H100, Layout(tp=1), "mxfp4", engine="vllm")
    params = shipped_calibration().resolve("vllm", H100, "mxfp4", CATALOG).params
    twin = TwinSetup.of(deployment, StepBasis(params, "model"))
    fixed = twin.fixed_tokens_per_sequence()
    capacity = twin.kv_capacity_tokens()
    assert fixed > 0 and capacity > 0
    assert twin.max_batch * fixed > capacity  # the old up-front reservation left nothing
    prompt, out = 1000, 300
    traffic = Traffic(
        requests=400,
        input_tokens=Lengths(prompt),
        output_tokens=Lengths(out),
        concurrency=200,
        warmup=40,
    )
    outcome = run(twin, traffic)
    result = summarise(outcome, traffic)
    assert result.errors == 0 and result.requests == 360  # every measured one served
    longest = capacity / (fixed + prompt + out)  # sequences the cache holds at their longest
    shortest = capacity / (fixed + prompt)  # and just prefilled: more never fit at once
    assert result.mean_batch is not None and 0.5 * longest < result.mean_batch <= shortest
