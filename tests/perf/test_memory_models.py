"""Today's models in memory, against what engines run (issue 11's checks): MLA's KV cache,
native MXFP4 experts, FP8 weights on 80 GiB and 141 GiB parts."""

from __future__ import annotations

import json

import pytest

from llmsize.catalog import LlmArch, load_catalog
from llmsize.perf.memory import GIB, cache_bytes_per_token, memory_fit

CATALOG = load_catalog()


def _model(name: str) -> LlmArch:
    return CATALOG.resolve_model(name, "--model")


def test_deepseek_v3_caches_70272_bytes_per_token_in_bf16() -> None:
    """61 layers × (kv_lora_rank 512 + rope 64) × 2 bytes: the MLA latent, not per head."""
    model = _model("deepseek-ai/DeepSeek-V3")
    assert cache_bytes_per_token(model, 1, "bf16") == 70_272
    assert cache_bytes_per_token(model, 8, "bf16") == 70_272  # every TP rank holds it whole


def test_gpt_oss_120b_at_its_native_precision_fits_one_h100() -> None:
    """The checkpoint is ~61 GiB (MXFP4 experts, BF16 attention) and serves on one H100."""
    model = _model("openai/gpt-oss-120b")
    assert model.native is not None and model.native.name == "mxfp4"
    fit = memory_fit(model, CATALOG.gpus.get("h100-sxm", "g"), 1, "mxfp4", 8192)
    assert fit.fits and 55 < fit.weights_gib < 65
    assert fit.max_batch > 8


def test_deepseek_r1_in_fp8_needs_h200s_not_h100s() -> None:
    model = _model("deepseek-ai/DeepSeek-R1")
    precision = model.native.name if model.native else "fp8"
    h100 = memory_fit(model, CATALOG.gpus.get("h100-sxm", "g"), 8, precision, 4096)
    h200 = memory_fit(model, CATALOG.gpus.get("h200-sxm", "g"), 8, precision, 4096)
    assert not h100.fits and "weights need" in h100.reason
    assert h200.fits and h200.max_batch > 64


def test_llama_3_70b_in_fp8_fits_one_h100() -> None:
    """TensorRT-LLM ran and published it; 80 GB of HBM is 80 GiB."""
    fit = memory_fit(
        CATALOG.models.get("llama-3-70b", "m"), CATALOG.gpus.get("h100-sxm", "g"), 1, "fp8", 2048
    )
    assert fit.fits
    assert fit.usable_gib == pytest.approx(80 * 0.99)  # what the device reports of 80 GiB
    for engine in ("trtllm", "trtllm-0.9"):
        fit = memory_fit(
            CATALOG.models.get("llama-3-70b", "m"),
            CATALOG.gpus.get("h100-sxm", "g"),
            1,
            "fp8",
            2048,
            engine=engine,
        )
        assert fit.fits, engine


def test_sliding_window_layers_keep_only_their_window() -> None:
    model = _model("openai/gpt-oss-120b")
    short = memory_fit(model, CATALOG.gpus.get("h100-sxm", "g"), 1, "mxfp4", 128)
    long = memory_fit(model, CATALOG.gpus.get("h100-sxm", "g"), 1, "mxfp4", 128_000)
    # 18 full layers grow 1,000-fold; the 18 window layers stay at 128 tokens
    full_per_token = 18 * 8 * 64 * 2 * 2
    grown = (long.kv_gib_per_sequence - short.kv_gib_per_sequence) * GIB
    assert grown == full_per_token * (128_000 - 128)


def test_recurrent_state_does_not_grow() -> None:
    model = _model("Qwen/Qwen3.5-397B-A17B")
    h200 = CATALOG.gpus.get("h200-sxm", "g")
    a = memory_fit(model, h200, 8, "bf16", 1000).kv_gib_per_sequence
    b = memory_fit(model, h200, 8, "bf16", 2000).kv_gib_per_sequence
    c = memory_fit(model, h200, 8, "bf16", 3000).kv_gib_per_sequence
    assert b - a == pytest.approx(
        c - b
    )  # linear in the context: only the 15 full-attention layers grow
    assert a > (b - a)  # the linear-attention states are a constant part


def test_an_fp8_kv_cache_halves_the_cache_of_bf16_weights() -> None:
    from tests.cli.helpers import run

    args = ["estimate", "--model", "llama-3-70b", "--gpu", "h100-sxm", "--tp", "4"]
    args += ["--batch", "8", "--input-tokens", "4000", "--output-tokens", "500", "--json"]
    wide = json.loads(run(*args, "--precision", "bf16").stdout)
    narrow = json.loads(run(*args, "--precision", "bf16", "--kv-precision", "fp8").stdout)
    assert narrow["kv_precision"] == "fp8" and wide["kv_precision"] == "bf16"
    assert narrow["kv_gib_per_sequence"] == pytest.approx(wide["kv_gib_per_sequence"] / 2)
    assert narrow["weights_gib_per_gpu"] == wide["weights_gib_per_gpu"]
    assert narrow["max_batch"] > wide["max_batch"]
