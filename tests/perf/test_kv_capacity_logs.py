"""KV-capacity lines engines print at start-up, against the memory model's bytes per token: the
tokens an engine says fit in the KV memory it reports must be what that memory holds at our
per-token size, within 5 %. (Issue 11 asks for ten such lines and each engine's budget rule; these
are the first, and they check the per-token part only — the budget is the engine's own figure.)"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from llmsize.catalog import load_catalog
from llmsize.perf.memory import GIB, kv_bytes_per_token

TOLERANCE = 0.05


class CapacityLine(NamedTuple):
    engine: str
    model: str
    precision: str  # what the checkpoint serves at (its KV cache follows: bf16 for FP8-block)
    tp: int
    kv_gib: float  # the KV memory the engine reports per GPU
    tokens: int  # the tokens it says that holds
    source: str


LINES = (
    CapacityLine(
        "vllm",
        "Qwen/Qwen3-235B-A22B-FP8",
        "fp8-block",
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
        4,
        8.23 * 2,  # SGLang prints K and V separately, in GiB labelled GB
        367_404,
        "vllm-project/vllm#21348: 4x H100, SGLang 'KV Cache is allocated. #tokens: 367404, "
        "K size: 8.23 GB, V size: 8.23 GB'",
    ),
)


@pytest.mark.parametrize("line", LINES, ids=lambda line: f"{line.engine}-{line.model}")
def test_reported_kv_memory_holds_the_reported_tokens(line: CapacityLine) -> None:
    model = load_catalog().resolve_model(line.model, "model")
    per_token = kv_bytes_per_token(model, line.tp, line.precision)
    assert line.kv_gib * GIB / per_token == pytest.approx(line.tokens, rel=TOLERANCE), line.source
