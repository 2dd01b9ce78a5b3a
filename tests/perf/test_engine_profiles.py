"""Engine profiles: today's engines fitted once over every GPU they were measured on, and their
scheduler defaults as named data (data/engines.yaml)."""

from __future__ import annotations

import pytest

from llmsize.catalog import load_catalog
from llmsize.perf.calibration import PROFILE, shipped_calibration
from llmsize.perf.kv_budget import scheduler
from llmsize.perf.roofline import INFLIGHT_STEP_TOKENS, Params

CATALOG = load_catalog()


@pytest.mark.parametrize("engine", ["vllm", "sglang", "trtllm"])
def test_each_modern_engine_has_its_own_profile(engine: str) -> None:
    calibration = shipped_calibration()
    profile = calibration.groups[(engine, PROFILE, PROFILE)]
    assert profile.rows > 300 and "h100-sxm" in profile.gpus and "b200" in profile.gpus
    for gpu_id in profile.gpus:
        resolved = calibration.resolve(engine, CATALOG.gpus.get(gpu_id, "gpu"), "fp8", CATALOG)
        assert resolved.fit is profile and not resolved.borrowed
        assert resolved.params == profile.params  # the default engine's shared values stay out
        assert calibration.accuracy_for(gpu_id, engine)["ttft"] > 0


def test_a_gpu_the_engine_never_ran_on_borrows_and_says_so() -> None:
    resolved = shipped_calibration().resolve(
        "vllm", CATALOG.gpus.get("a100-sxm-80gb", "gpu"), "bf16", CATALOG
    )
    assert resolved.borrowed and "vllm profile" in resolved.label


def test_the_2024_engines_keep_their_per_gpu_fits() -> None:
    resolved = shipped_calibration().resolve(
        "nim", CATALOG.gpus.get("h100-sxm", "gpu"), "fp8", CATALOG
    )
    assert resolved.fit is not None and resolved.fit.gpu == "h100-sxm"


@pytest.mark.parametrize(
    ("engine", "gpu", "tokens"),
    [
        ("vllm", "h100-sxm", 8192),
        ("vllm", "a100-sxm-80gb", 2048),  # kept small on the A100 (vLLM PR #17885)
        ("vllm", "l40s", 2048),
        ("sglang", "l4", 2048),
        ("sglang", "l40s", 8192),
        ("sglang", "h200-sxm", 8192),
        ("sglang", "b200", 16384),
        ("trtllm", "b200", 8192),
        ("", "h100-sxm", INFLIGHT_STEP_TOKENS),
    ],
)
def test_step_budgets_follow_each_engines_defaults(engine: str, gpu: str, tokens: int) -> None:
    assert scheduler(engine).tokens_for(CATALOG.gpus.get(gpu, "gpu")) == tokens


def test_how_a_first_token_waits_follows_the_scheduler() -> None:
    """vLLM rides prompt chunks in its decode steps; SGLang and TensorRT-LLM prefill apart."""
    assert scheduler("vllm").mixed_prefill
    assert not scheduler("sglang").mixed_prefill and not scheduler("trtllm").mixed_prefill
    groups = shipped_calibration().groups
    assert groups[("vllm", PROFILE, PROFILE)].params.group_wait < 0.01
    assert groups[("trtllm", PROFILE, PROFILE)].params.group_wait == Params().group_wait


def test_an_engine_with_a_version_borrows_its_familys_profile_and_says_so() -> None:
    from llmsize.api import estimate
    from llmsize.errors import InputError

    e = estimate("llama-3.1-70b", "h200-sxm", 2, 32, 1500, 300, "fp8", engine="vllm-0.12.0")
    assert "vllm profile" in e.source and "none for vllm-0.12.0" in e.source
    assert e.typical_error == "error unknown (borrowed calibration)"
    with pytest.raises(InputError, match="unknown engine 'tgi'"):
        estimate("llama-3.1-70b", "h200-sxm", 2, 32, 1500, 300, "fp8", engine="tgi")
