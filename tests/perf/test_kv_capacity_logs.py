"""KV-capacity lines engines print at start-up, against the memory model (issue 11: "checked
against at least ten KV-capacity lines that engines print at start-up in published logs, each
test citing its source, within 5 %").

Two checks. Per token: the tokens an engine says fit in the KV memory it reports are what that
memory holds at the model's per-token size (MLA latents, GQA heads split over TP, FP8 caches
with their scales). Per GPU: each engine's budget rule (data/engines.yaml) gives the KV memory
the engine reported, from the GPU, the model's weights and the engine's fraction. vLLM's runtime
overhead was read off the three LMCache rows (in-sample, so they only show the rule reproduces
them); the vLLM line of vllm-project/vllm#21348 is predicted out of sample.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest

from llmsize.catalog import LlmArch, load_catalog
from llmsize.catalog.hf_config import arch_from_config_file
from llmsize.perf.kv_budget import kv_budget, memory_rule, visible_gib
from llmsize.perf.memory import GIB, index_bytes, kv_bytes_per_token, weight_bytes_per_gpu

TOLERANCE = 0.05
CATALOG = load_catalog()

LMCACHE_FAQ = (
    "LMCache/LMCache#1769 (docs FAQ, 'KV Cache Sizes for Popular Models': vLLM on H100, "
    "spare GPU RAM for KV cache and the tokens it holds)"
)

PUBLISHED_CONFIGS = {
    # Hugging Face config.json fields of models outside the bundled set (their model repos)
    "Qwen/Qwen3-14B": {
        "model_type": "qwen3",
        "architectures": ["Qwen3ForCausalLM"],
        "hidden_size": 5120,
        "intermediate_size": 17408,
        "num_hidden_layers": 40,
        "num_attention_heads": 40,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "vocab_size": 151936,
        "max_position_embeddings": 40960,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    },
    "TinyLlama/TinyLlama-1.1B-Chat-v1.0": {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 2048,
        "intermediate_size": 5632,
        "num_hidden_layers": 22,
        "num_attention_heads": 32,
        "num_key_value_heads": 4,
        "vocab_size": 32000,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    },
}


class CapacityLine(NamedTuple):
    engine: str
    model: str
    precision: str  # what the checkpoint serves at
    kv: str  # the KV cache's precision ('' : what the precision caches in)
    tp: int  # ranks the cache is split over (attention TP)
    kv_gib: float  # the KV memory the engine reports per GPU
    tokens: int  # the tokens it says that holds
    source: str
    indexer_counted: bool = True  # the reported memory includes a sparse-attention indexer


LINES = (
    CapacityLine(
        "vllm",
        "Qwen/Qwen3-235B-A22B-FP8",
        "fp8-block",
        "",
        4,
        8.11,
        178_880,
        "vllm-project/vllm#21348: 4x H100, 'Available KV cache memory: 8.11 GiB', "
        "'GPU KV cache size: 178,880 tokens'",
    ),
    CapacityLine(
        "sglang",
        "Qwen/Qwen3-235B-A22B-FP8",
        "fp8-block",
        "",
        4,
        8.23 * 2,  # SGLang prints K and V separately, in GiB labelled GB
        367_404,
        "vllm-project/vllm#21348: 4x H100, SGLang 'KV Cache is allocated. #tokens: 367404, "
        "K size: 8.23 GB, V size: 8.23 GB'",
    ),
    CapacityLine("vllm", "Qwen/Qwen3-8B", "bf16", "", 1, 50.32, 366_400, LMCACHE_FAQ),
    CapacityLine("vllm", "Qwen/Qwen3-32B", "bf16", "", 2, 33.66, 275_760, LMCACHE_FAQ),
    CapacityLine(
        "vllm", "meta-llama/Meta-Llama-3.1-70B", "bf16", "", 4, 32.06, 420_208, LMCACHE_FAQ
    ),
    CapacityLine(
        "vllm",
        "Qwen/Qwen3-14B",
        "bf16",
        "",
        1,
        6.51,
        42_656,
        "LMCache/LMCache#1739: 'Available KV cache memory: 6.51 GiB', "
        "'GPU KV cache size: 42,656 tokens'",
    ),
    CapacityLine(
        "sglang",
        "deepseek-ai/DeepSeek-V3.2",
        "fp8-block",
        "fp8",
        1,  # --tp 8 --dp 8 --enable-dp-attention: every rank caches whole latents
        43.67,
        975_424,
        "sgl-project/sglang#11309: DeepSeek-V3.2-Exp on 8x B200, 'KV Cache is allocated. "
        "#tokens: 975424, KV size: 43.67 GB' (latents and indexer keys)",
    ),
    CapacityLine(
        "sglang",
        "deepseek-ai/DeepSeek-V3.2",
        "fp8-block",
        "fp8",
        1,
        54.52,
        1_462_784,
        "sgl-project/sglang#11309: before the fix, 'KV Cache is allocated. #tokens: 1462784, "
        "KV size: 54.52 GB' (latents only; the indexer keys came on top)",
        indexer_counted=False,
    ),
    CapacityLine(
        "trtllm",
        "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "bf16",
        "",
        2,
        18.88,
        1_800_032,
        "ai-dynamo/dynamo examples/python_rs/llm/tensorrt_llm/README.md: TP2 workers, "
        "'[MemUsageChange] Allocated 18.88 GiB for max tokens in paged KV cache (1800032)'",
    ),
    CapacityLine(
        "trtllm",
        "meta-llama/Meta-Llama-3.1-8B",
        "bf16",
        "",
        1,
        26.91,
        220_480,
        "ai-dynamo/dynamo examples/python_rs/llm/tensorrt_llm/README.md, single-GPU worker of "
        "the example's DeepSeek-R1-Distill-Llama-8B (llm_api_config.yaml; Llama-3.1-8B's "
        "architecture): 'Allocated 26.91 GiB for max tokens in paged KV cache (220480)'",
    ),
)


def _model(name: str, tmp_path: Path) -> LlmArch:
    if name in PUBLISHED_CONFIGS:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(PUBLISHED_CONFIGS[name]), encoding="utf-8")
        return arch_from_config_file(path, "model", origin=name)
    return CATALOG.resolve_model(name, "model")


def test_there_are_ten_lines_from_three_engines() -> None:
    assert len(LINES) >= 10
    assert {line.engine for line in LINES} == {"vllm", "sglang", "trtllm"}


@pytest.mark.parametrize(
    "line", LINES, ids=lambda line: f"{line.engine}-{line.model}-{line.tokens}"
)
def test_reported_kv_memory_holds_the_reported_tokens(line: CapacityLine, tmp_path: Path) -> None:
    model = _model(line.model, tmp_path)
    per_token = kv_bytes_per_token(model, line.tp, line.precision, line.kv)
    if not line.indexer_counted:
        per_token -= sum(b.count * index_bytes(b.mixer) for b in model.structure)
    assert line.kv_gib * GIB / per_token == pytest.approx(line.tokens, rel=TOLERANCE), line.source


class BudgetLine(NamedTuple):
    engine: str
    model: str
    precision: str
    tp: int
    fraction: float | None  # the engine's flag when the run set it; None: its default
    kv_gib: float  # the KV memory the engine reported per GPU
    source: str


BUDGETS = (
    BudgetLine("vllm", "Qwen/Qwen3-8B", "bf16", 1, None, 50.32, LMCACHE_FAQ),
    BudgetLine("vllm", "Qwen/Qwen3-32B", "bf16", 2, None, 33.66, LMCACHE_FAQ),
    BudgetLine("vllm", "meta-llama/Meta-Llama-3.1-70B", "bf16", 4, None, 32.06, LMCACHE_FAQ),
    BudgetLine(
        "vllm",
        "Qwen/Qwen3-235B-A22B-FP8",
        "fp8-block",
        4,
        None,
        8.11,
        "vllm-project/vllm#21348 (out of sample: the default 0.9, 4x H100)",
    ),
    BudgetLine(
        "sglang",
        "Qwen/Qwen3-235B-A22B-FP8",
        "fp8-block",
        4,
        0.93,
        16.46,
        "vllm-project/vllm#21348 (--mem-fraction-static 0.93, 4x H100)",
    ),
)


@pytest.mark.parametrize("line", BUDGETS, ids=lambda line: f"{line.engine}-{line.model}")
def test_the_engine_rule_gives_the_reported_kv_memory(line: BudgetLine) -> None:
    model = CATALOG.resolve_model(line.model, "model")
    weights = weight_bytes_per_gpu(model, line.tp, line.precision) / GIB
    budget = kv_budget(
        CATALOG.gpus.get("h100-sxm", "gpu"), weights, line.tp, line.engine, line.fraction
    )
    assert budget.kv_gib == pytest.approx(line.kv_gib, rel=TOLERANCE), line.source


def test_tensorrt_llm_gives_the_cache_its_share_of_free_memory() -> None:
    """NVIDIA/TensorRT-LLM docs/source/performance/perf-benchmarking.md (Llama-2-7B FP8 on one
    H100, 'KV Memory Percentage: 99.0%'): 'Memory usage when calculating max tokens in paged kv
    cache: total: 79.10 GiB, available: 63.62 GiB', then 'Allocated 62.99 GiB' — 0.99 of what
    is free once the engine and its buffers are in place, not of the device."""
    free, allocated = 63.62, 62.99
    rule = memory_rule("trtllm")
    assert rule.rule == "share_of_free"
    assert allocated / free == pytest.approx(0.99, abs=0.001)
    h100 = CATALOG.gpus.get("h100-sxm", "gpu")
    weights = 6214 / 1024  # 'Loaded engine size: 6214 MiB'
    buffers = 79.10 - free - weights  # what that run held beside its engine (max batch 4096)
    budget = kv_budget(h100, weights, 1, "trtllm", 0.99)
    expected = 0.99 * (budget.visible_gib - weights - budget.overhead_gib)
    assert budget.kv_gib == pytest.approx(expected)
    assert budget.overhead_gib < buffers  # trtllm-serve's max batch 2048 holds less than 4096's


def test_the_device_total_is_what_engines_report() -> None:
    """79.10 GiB for an H100 "80 GB" (TensorRT-LLM's line above; PyTorch reports up to 79.19)
    and 178.35 GiB for a B200 "180 GB" (unslothai/unsloth#3411, 'Total VRAM: 178.35 GB')."""
    h100, b200 = CATALOG.gpus.get("h100-sxm", "gpu"), CATALOG.gpus.get("b200", "gpu")
    assert visible_gib(h100) == pytest.approx(79.10, rel=0.005)
    assert visible_gib(b200) == pytest.approx(178.35, rel=0.005)


def test_sglang_lowers_its_fraction_as_tp_grows() -> None:
    """sglang python/sglang/srt/server_args.py: 0.88 at TP1, 0.85 at TP4, 0.81 at TP8."""
    rule = memory_rule("sglang")
    assert (rule.fraction_at(1), rule.fraction_at(4), rule.fraction_at(8)) == (0.88, 0.85, 0.81)


def test_an_engine_version_uses_its_family_rule_and_an_unknown_one_the_default() -> None:
    assert memory_rule("vllm-0.11").label == memory_rule("vllm").label
    assert (
        memory_rule("vllm-0.8.5").label
        == memory_rule("vllm-0.8").label
        != memory_rule("vllm").label
    )
    assert memory_rule("").label == memory_rule("trtllm-0.9").label
