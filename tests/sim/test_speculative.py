"""Speculative decoding: the expected accepted length, the model's step cost, and the twin, which
advances each sequence by the same expected length a step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmsize.api import plan
from llmsize.catalog import load_catalog
from llmsize.errors import InputError
from llmsize.perf.calibration import shipped_calibration
from llmsize.perf.roofline import Setup, inflight_times
from llmsize.sim.engine import Scheduler, Simulation
from llmsize.sim.run import Traffic, TwinSetup, run, summarise
from llmsize.sim.steps import StepModel
from llmsize.usecase import parse_usecase, resolve
from llmsize.workload import Lengths, Serving, Speculation
from tests.cli.helpers import run as cli

CATALOG = load_catalog()
MODEL = CATALOG.models.get("llama-3.1-70b", "m")
GPU = CATALOG.gpus.get("h100-sxm", "g")
PARAMS = shipped_calibration().resolve("vllm", GPU, "fp8", CATALOG).params
SETUP = Setup(MODEL, GPU, 4, "fp8", 8, engine="vllm")
EAGLE = Speculation("eagle", 3, 0.75, 0.03, 1e9, "given")
EXAMPLE = Path(__file__).parents[2] / "examples" / "usecases" / "deepseek-r1-mtp.yaml"


def test_tokens_per_step_is_the_expected_accepted_length() -> None:
    assert Speculation("mtp", 1, 0.85, 0.02, 0, "x").tokens_per_step == pytest.approx(1.85)
    assert EAGLE.tokens_per_step == pytest.approx(1 + 0.75 + 0.75**2 + 0.75**3)


def test_drafting_shortens_memory_bound_decode() -> None:
    """At low concurrency a step reads the weights whatever its rows: verifying 3 drafted
    tokens costs little more than one, and yields 2.73 tokens a step."""
    plain = inflight_times(SETUP, PARAMS, 2, 1000, 400)
    spec = inflight_times(SETUP, PARAMS, 2, 1000, 400, Serving(speculation=EAGLE))
    speedup = plain.itl_ms / spec.itl_ms
    assert 1.8 < speedup < EAGLE.tokens_per_step


def _twin_itl(speculation: Speculation | None, concurrency: int = 4) -> float:
    twin = TwinSetup(MODEL, GPU, 4, "fp8", 8, 1, PARAMS, engine="vllm", speculation=speculation)
    traffic = Traffic(
        requests=200, input_tokens=Lengths(1000), output_tokens=Lengths(400), concurrency=4
    )
    return summarise(run(twin, traffic), traffic).itl_ms.p50


def test_the_twin_and_the_model_agree_on_what_drafting_saves() -> None:
    modelled = (
        inflight_times(SETUP, PARAMS, 4, 1000, 400).itl_ms
        / inflight_times(SETUP, PARAMS, 4, 1000, 400, Serving(speculation=EAGLE)).itl_ms
    )
    simulated = _twin_itl(None) / _twin_itl(EAGLE)
    assert simulated == pytest.approx(modelled, rel=0.1)


def test_the_twin_finishes_every_request_under_kv_pressure_with_drafting() -> None:
    steps = StepModel(SETUP, PARAMS, draft_tokens=3, draft_share=0.03)
    scheduler = Scheduler(kv_capacity_tokens=6000, max_batch=64, tokens_per_step=2.73)
    outcome = Simulation(steps, scheduler, replicas=1).run(
        closed_loop=(16, 64, lambda: (200, 400, ()))
    )
    assert outcome.preemptions > 0
    assert len(outcome.end) == 64 and outcome.rejected == 0


def _usecase(**speculative: object) -> dict[str, object]:
    return {
        "model": "llama-3.1-70b",
        "input_tokens": 1000,
        "output_tokens": 400,
        "latency": {"first_token_ms": 1000, "inter_token_ms": 25},
        "load": {"peak_rps": 10},
        "hardware": {"server": "dgx-h100", "precision": "fp8"},
        "speculative": speculative,
    }


@pytest.mark.parametrize(
    ("speculative", "where", "fragment"),
    [
        ({"method": "mtp"}, "speculative.method", "no multi-token-prediction layers"),
        (
            {"method": "draft", "draft_model": "llama-3.1-8b"},
            "speculative.acceptance_rate",
            "give it for a draft model",
        ),
        (
            {"method": "draft", "draft_model": "llama-3.1-405b", "acceptance_rate": 0.6},
            "speculative.draft_model",
            "not smaller",
        ),
    ],
)
def test_a_drafter_the_model_cannot_use_is_refused_by_name(
    speculative: dict[str, object], where: str, fragment: str
) -> None:
    with pytest.raises(InputError) as info:
        resolve(parse_usecase(_usecase(**speculative)), CATALOG)
    assert info.value.where == where and fragment in info.value.message


def test_a_draft_method_without_its_model_is_one_line() -> None:
    with pytest.raises(InputError, match="needs draft_model"):
        parse_usecase(_usecase(method="draft"))


def _servers(rate: float) -> int:
    result = plan(parse_usecase(_usecase(method="eagle", acceptance_rate=rate)), method="peak")
    assert result.recommendation is not None and result.recommendation.servers is not None
    return result.recommendation.servers


@settings(max_examples=10, deadline=None)
@given(low=st.floats(0.05, 0.95), more=st.floats(0.0, 1.0))
def test_a_higher_acceptance_rate_never_needs_more_servers(low: float, more: float) -> None:
    assert _servers(low + (0.95 - low) * more) <= _servers(low)


def test_the_mtp_example_says_what_it_assumed() -> None:
    out = cli("plan", str(EXAMPLE), "--json", "--method", "peak")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    spec = doc["speculative"]
    assert spec["drafter"] == "mtp" and spec["tokens_per_step"] == pytest.approx(1.85)
    assert "DeepSeek-V3 technical report" in spec["acceptance_source"]
    assert any("published figure for mtp" in w for w in doc["warnings"])
    assert "speculative decoding" in doc["recommendation"]["note"]


def test_the_static_calculator_credits_no_drafting() -> None:
    data = {**_usecase(method="eagle"), "batching": "static"}
    result = plan(parse_usecase(data), method="peak")
    assert result.usecase.speculation is None
    assert "decodes a token a step" in result.usecase.speculation_note
