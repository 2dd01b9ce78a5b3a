"""The talk's configurations from the model alone (measured rows switched off).

Source: NVIDIA GTC 2024 talk S62797 "LLM Inference Sizing", the NeMo inference sizing calculator
screens: Llama-2-7B on H100, TP1, 128 in / 512 out: batch 64 -> TTFT 258 ms, ITL 14.8 ms,
65.6 prompts/s per 8 GPUs; batch 8 -> 42 ms, 8.7 ms, 14.3. Llama-2-70B: TP4 batch 128 -> 1517 ms,
41.6 ms, 11.2; TP8 batch 1 -> 37 ms, 17.2 ms. Tolerance: 15 %.

The talk measured NeMo behind PyTriton, slower than the TensorRT-LLM 0.9 sweep the default engine is
fitted on, so these use the `nemo-s62797` engine: the model fitted to the talk's own six rows (an
in-sample check of the model's form; `llmsize accuracy` reports the cross-validated error).
"""

from __future__ import annotations

import pytest

from llmsize.api import estimate

TALK = [
    ("llama-2-7b", 1, 64, 258.3, 14.8, 65.6),
    ("llama-2-7b", 1, 8, 42.2, 8.7, 14.3),
    ("llama-2-70b", 4, 128, 1516.7, 41.6, 11.2),
    ("llama-2-70b", 8, 1, 37.3, 17.2, None),
]


@pytest.mark.parametrize(("model", "tp", "batch", "ttft", "itl", "rps"), TALK)
def test_talk_points_from_the_model_alone(
    model: str, tp: int, batch: int, ttft: float, itl: float, rps: float | None
) -> None:
    r = estimate(
        model,
        "h100-sxm",
        tp,
        batch,
        128,
        512,
        "bf16",
        source="model",
        engine="nemo-s62797",
        mode="static",
    )
    assert r.provenance == "modelled"
    assert r.ttft_ms == pytest.approx(ttft, rel=0.15)
    assert r.itl_ms == pytest.approx(itl, rel=0.15)
    if rps is not None:
        assert r.rps_per_server == pytest.approx(rps, rel=0.15)
