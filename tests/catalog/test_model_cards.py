# ruff: noqa: E501  (a table of model-card citations, one model per line)
"""Every bundled config.json (data/hf-configs, copied from shared/model-configs) reads with the parameter counts its model card
publishes (within 3 %), or is refused in one line naming the field it cannot represent.

Model cards count "active" parameters two ways: most (Qwen3, DeepSeek, Kimi, Llama 4, Gemma 4,
Nemotron) include the input embedding; OpenAI's gpt-oss table leaves it out (it is a lookup, no
math). `embedding_in_active` records which convention each card uses. Multimodal models are
compared on their text model (`text_params`), which is the architecture of a text-only card
(Qwen3-VL-8B's text model is Qwen3-8B's), since their cards give only rounded names.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from llmsize.catalog.hf_bundle import bundle_dir
from llmsize.catalog.hf_config import arch_from_config_file
from llmsize.errors import InputError

MODEL_CONFIGS = bundle_dir()
SHARED = Path(__file__).resolve().parents[3] / "shared" / "model-configs"
TOLERANCE = 0.03


class Card(NamedTuple):
    total_b: float
    active_b: float | None  # None: the card publishes no active figure
    source: str
    embedding_in_active: bool = True
    text_only: bool = False  # compare the text model (multimodal cards give rounded names)
    with_mtp: bool = False  # the card's total includes the multi-token-prediction layers


QWEN3 = "Qwen3 model cards (huggingface.co/Qwen/<repo>): 'Number of Parameters'"
DEEPSEEK = "DeepSeek-V3 model card: 671B total, 37B activated (MTP module apart)"
V32 = "DeepSeek-V3.2 model card: 685B parameters with the MTP module; no active figure"
KIMI = "Kimi K2 model card (moonshotai/Kimi-K2-Instruct): 1T total, 32B activated"
NEMO3 = "NVIDIA Nemotron 3 model cards (huggingface.co/nvidia/<repo>)"
CARDS: dict[str, Card] = {
    "Qwen--Qwen3-0.6B": Card(0.6, 0.6, QWEN3),
    "Qwen--Qwen3-1.7B": Card(1.7, 1.7, QWEN3),
    "Qwen--Qwen3-8B": Card(8.2, 8.2, QWEN3),
    "Qwen--Qwen3-32B": Card(32.8, 32.8, QWEN3),
    "Qwen--Qwen3-32B-FP8": Card(32.8, 32.8, QWEN3),
    "Qwen--Qwen3-32B-FP8-Static-PerTensor": Card(32.8, 32.8, QWEN3 + " (Qwen3-32B)"),
    "Qwen--Qwen3-30B-A3B": Card(30.5, 3.3, QWEN3),
    "Qwen--Qwen3-30B-A3B-FP8": Card(30.5, 3.3, QWEN3),
    "Qwen--Qwen3-235B-A22B": Card(235, 22, QWEN3),
    "Qwen--Qwen3-235B-A22B-FP8": Card(235, 22, QWEN3),
    "nvidia--Qwen3-235B-A22B-NVFP4": Card(235, 22, QWEN3 + " (Qwen3-235B-A22B)"),
    "Qwen--Qwen3-Coder-480B-A35B-Instruct": Card(480, 35, QWEN3),
    "Qwen--Qwen3-VL-2B-Instruct": Card(1.7, 1.7, QWEN3 + " (text model = Qwen3-1.7B)", True, True),
    "Qwen--Qwen3-VL-4B-Instruct": Card(4.0, 4.0, QWEN3 + " (text model = Qwen3-4B)", True, True),
    "Qwen--Qwen3-VL-8B-Instruct": Card(8.2, 8.2, QWEN3 + " (text model = Qwen3-8B)", True, True),
    "Qwen--Qwen3-VL-32B-Instruct": Card(32.8, 32.8, QWEN3 + " (text = Qwen3-32B)", True, True),
    "Qwen--Qwen3-VL-32B-Thinking": Card(32.8, 32.8, QWEN3 + " (text = Qwen3-32B)", True, True),
    "Qwen--Qwen3-VL-30B-A3B-Instruct": Card(30.5, 3.3, QWEN3 + " (text = Qwen3-30B-A3B)", True, True),
    "Qwen--Qwen3-VL-235B-A22B-Instruct": Card(235, 22, QWEN3 + " (text = 235B-A22B)", True, True),
    "Qwen--Qwen3.5-27B": Card(27, 27, "Qwen3.5 model card: 27B", True, True),
    "Qwen--Qwen3.5-35B-A3B": Card(35, 3, "Qwen3.5 MoE docs (transformers): 35B total / 3B active", False, True),
    "Qwen--Qwen3.5-122B-A10B": Card(122, 10, "Qwen3.5 model card: 122B in total, 10B activated", True, True),
    "Qwen--Qwen3.5-397B-A17B": Card(397, 17, "Qwen3.5 model card: 397B in total, 17B activated", True, True),
    "nvidia--Qwen3.5-122B-A10B-NVFP4": Card(122, 10, "Qwen3.5-122B-A10B card", True, True),
    "nvidia--Qwen3.5-397B-A17B-NVFP4": Card(397, 17, "Qwen3.5-397B-A17B card", True, True),
    "XiaomiMiMo--MiMo-V2-Flash": Card(309, 15, "MiMo-V2-Flash model card: 309B total, 15B active"),
    "deepseek-ai--DeepSeek-V3": Card(671, 37, DEEPSEEK),
    "deepseek-ai--DeepSeek-R1": Card(671, 37, "DeepSeek-R1 model card: 671B total, 37B activated"),
    "deepseek-ai--DeepSeek-V3.2": Card(685, None, V32, with_mtp=True),
    "nvidia--DeepSeek-V3.1-NVFP4": Card(671, 37, DEEPSEEK + " (V3.1 shares it)"),
    "nvidia--DeepSeek-V3.2-NVFP4": Card(685, None, V32, with_mtp=True),
    "google--gemma-4-26B-A4B": Card(25.2, 3.8, "Gemma 4 model card: 25.2B total, 3.8B active", True, True),
    "nvidia--Gemma-4-26B-A4B-NVFP4": Card(25.2, 3.8, "Gemma 4 26B A4B card", True, True),
    "nvidia--Gemma-4-31B-IT-NVFP4": Card(30.7, 30.7, "Gemma 4 model card: 30.7B dense", True, True),
    "meta-llama--Llama-4-Scout-17B-16E-Instruct": Card(109, 17, "Llama 4 model card: 17B active, 109B total"),
    "meta-llama--Llama-4-Maverick-17B-128E-Instruct": Card(400, 17, "Llama 4 model card: 17B active, 400B total"),
    "meta-llama--Meta-Llama-3.1-8B": Card(8.03, 8.03, "Llama 3.1 8B (HF: 8.03B params)"),
    "meta-llama--Meta-Llama-3.1-70B": Card(70.6, 70.6, "Llama 3.1 70B (HF: 70.6B params)"),
    "meta-llama--Meta-Llama-3.1-405B": Card(406, 406, "Llama 3.1 405B (HF: 406B params)"),
    "nvidia--Llama-3.1-70B-Instruct-FP8": Card(70.6, 70.6, "Llama 3.1 70B (HF: 70.6B params)"),
    "mistralai--Mixtral-8x7B-v0.1": Card(46.7, 12.9, "Mistral AI, Mixtral of experts: 46.7B total, 12.9B per token"),
    "mistralai--Mixtral-8x22B-v0.1": Card(141, 39, "Mistral AI, Mixtral 8x22B: 141B total, 39B active"),
    "moonshotai--Kimi-K2-Instruct": Card(1040, 32, KIMI + " (1.04T exactly, issue 11)"),
    "moonshotai--Kimi-K2.5": Card(1040, 32, KIMI + " (K2.5 shares the architecture)"),
    "nvidia--Kimi-K2.5-NVFP4": Card(1040, 32, KIMI),
    "nvidia--Kimi-K2.6-NVFP4": Card(1040, 32, KIMI),
    "nvidia--Kimi-K2.7-Code-NVFP4": Card(1040, 32, KIMI),
    "nvidia--NVIDIA-Nemotron-3-Nano-30B-A3B-BF16": Card(31.6, 3.6, NEMO3 + ": 31.6B total, 3.6B active"),
    "nvidia--NVIDIA-Nemotron-3-Nano-30B-A3B-NVFP4": Card(31.6, 3.6, NEMO3 + ": 31.6B / 3.6B"),
    "nvidia--NVIDIA-Nemotron-3-Super-120B-A12B-FP8": Card(120, 12, NEMO3 + ": 120B total, 12B active", False),
    "nvidia--NVIDIA-Nemotron-3-Super-120B-A12B-NVFP4": Card(120, 12, NEMO3 + ": 120B / 12B", False),
    "nvidia--NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16": Card(550, 55, NEMO3 + ": 550B total, 55B active", False),
    "nvidia--NVIDIA-Nemotron-3-Ultra-550B-A55B-FP8": Card(550, 55, NEMO3 + ": 550B / 55B", False),
    "nvidia--NVIDIA-Nemotron-3-Ultra-550B-A55B-NVFP4": Card(550, 55, NEMO3 + ": 550B / 55B", False),
    "nvidia--Nemotron-H-56B-Base-8K": Card(56, 56, "Nemotron-H model card: 56B"),
    "openai--gpt-oss-120b": Card(116.83, 5.13, "gpt-oss model card: 116.83B total, 5.13B active", False),
    "openai--gpt-oss-20b": Card(20.91, 3.61, "gpt-oss model card: 20.91B total, 3.61B active", False),
    "stepfun-ai--Step-3.7-Flash": Card(196, 11, "Step 3.7 Flash (vLLM recipe): 196B language backbone, 11B active", True, True),
    "stepfun-ai--Step-3.7-Flash-FP8": Card(196, 11, "Step 3.7 Flash: 196B backbone, 11B active", True, True),
    "XiaomiMiMo--MiMo-7B-Base": Card(7.8, 7.8, "MiMo-7B (HF: 7.83B params)"),
}  # fmt: skip

REFUSED = {
    "deepseek-ai--DeepSeek-V4-Flash": "compress_ratios",
    "deepseek-ai--DeepSeek-V4-Pro": "compress_ratios",
    "nvidia--DeepSeek-V4-Flash-NVFP4": "compress_ratios",
    "nvidia--DeepSeek-V4-Pro-NVFP4": "compress_ratios",
    "sgl-project--DeepSeek-V4-Flash-FP8": "compress_ratios",
    "sgl-project--DeepSeek-V4-Pro-FP8": "compress_ratios",
    "moonshotai--Kimi-K3": "linear_attn_config",
    "nvidia--Llama-3_3-Nemotron-Super-49B-v1": "block_configs",
    "nvidia--NVIDIA-Nemotron-3.5-Lightning-30B-A3B-NVFP4": "quant_algo MIXED_PRECISION",
    "nvidia--Qwen3.6-27B-NVFP4": "quant_algo MIXED_PRECISION",
    "nvidia--Qwen3.6-35B-A3B-NVFP4": "quant_algo MIXED_PRECISION",
}
"""What cannot be represented yet, and the field each refusal must name."""


def _configs() -> list[Path]:
    return sorted(
        p
        for p in MODEL_CONFIGS.glob("*_config.json")
        if not p.name.endswith("_hf_quant_config.json")
    )


def test_every_bundled_config_is_accounted_for() -> None:
    names = {p.name.removesuffix("_config.json") for p in _configs()}
    assert names == set(CARDS) | set(REFUSED)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/model-configs is not beside the checkout")
def test_the_bundle_is_the_shared_set() -> None:
    shared = {p.name: p.read_bytes() for p in SHARED.glob("*.json")}
    bundled = {p.name: p.read_bytes() for p in MODEL_CONFIGS.glob("*.json")}
    assert bundled == shared


@pytest.mark.parametrize("name", sorted(CARDS))
def test_parameters_match_the_model_card(name: str) -> None:
    card = CARDS[name]
    model = arch_from_config_file(MODEL_CONFIGS / f"{name}_config.json", "--model")
    total = model.params if card.text_only else model.total_params
    total += model.mtp_params if card.with_mtp else 0
    assert total / 1e9 == pytest.approx(card.total_b, rel=TOLERANCE), card.source
    if card.active_b is not None:
        active = model.active_params - (0 if card.embedding_in_active else model.head_params)
        assert active / 1e9 == pytest.approx(card.active_b, rel=TOLERANCE), card.source


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_cannot_be_represented_is_refused_in_one_line(name: str) -> None:
    with pytest.raises(InputError) as caught:
        arch_from_config_file(MODEL_CONFIGS / f"{name}_config.json", "--model")
    assert REFUSED[name] in caught.value.message
    assert "\n" not in str(caught.value)
