"""Memory: weights by precision, KV per token with replicated heads, typed answers when it does
not fit."""

from __future__ import annotations

import pytest

from llmsize.catalog import load_catalog
from llmsize.perf.memory import kv_bytes_per_token, memory_fit

CATALOG = load_catalog()


def test_kv_bytes_per_token_llama_2_70b() -> None:
    # 2 x 80 layers x 8 KV heads x 128 dims x 2 bytes = 327,680 bytes per token (all GPUs);
    # at TP8 each GPU holds one KV head; at TP16 the head would be replicated, not split.
    model = CATALOG.models.get("llama-2-70b", "m")
    assert kv_bytes_per_token(model, 1, "bf16") == 327_680
    assert kv_bytes_per_token(model, 8, "bf16") == 40_960
    assert kv_bytes_per_token(model, 16, "bf16") == 40_960
    assert kv_bytes_per_token(model, 1, "fp8") == 163_840


def test_weights_by_precision() -> None:
    model = CATALOG.models.get("llama-2-70b", "m")
    gpu = CATALOG.gpus.get("h100-sxm", "g")
    sizes = {p: memory_fit(model, gpu, 1, p, 1024).weights_gib for p in ("bf16", "fp8", "int4")}
    # quantized checkpoints keep the embeddings and LM head (0.5 B parameters) in 16 bits
    assert sizes["bf16"] == pytest.approx(2 * sizes["fp8"], rel=0.01)
    assert sizes["bf16"] == pytest.approx(4 * sizes["int4"], rel=0.03)
    assert sizes["bf16"] == pytest.approx(137.95e9 / 2**30, rel=0.01)  # GiB


def test_not_fitting_is_a_result_with_numbers() -> None:
    fit = memory_fit(
        CATALOG.models.get("llama-3.1-405b", "m"),
        CATALOG.gpus.get("h100-sxm", "g"),
        8,
        "bf16",
        4096,
    )
    assert not fit.fits and fit.max_batch == 0
    assert "weights need 94.5 GiB per GPU at TP8 in bf16" in fit.reason


def test_batch_beyond_memory_names_the_largest() -> None:
    fit = memory_fit(
        CATALOG.models.get("llama-2-7b", "m"), CATALOG.gpus.get("l40s", "g"), 1, "bf16", 4096, 1000
    )
    assert not fit.fits and 0 < fit.max_batch < 1000
    assert f"max batch {fit.max_batch}" in fit.reason
