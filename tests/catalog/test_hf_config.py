"""Hugging Face config.json files of several families map to the same fields as the catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsize.catalog import load_catalog
from llmsize.catalog.hf_config import arch_from_config, arch_from_config_file
from llmsize.errors import InputError

LLAMA_2_70B = {
    "_name_or_path": "meta-llama/Llama-2-70b-hf",
    "model_type": "llama",
    "hidden_act": "silu",
    "hidden_size": 8192,
    "intermediate_size": 28672,
    "max_position_embeddings": 4096,
    "num_attention_heads": 64,
    "num_hidden_layers": 80,
    "num_key_value_heads": 8,
    "vocab_size": 32000,
}
MIXTRAL = {
    "model_type": "mixtral",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "max_position_embeddings": 32768,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
    "vocab_size": 32000,
}
GPTJ = {
    "model_type": "gptj",
    "n_embd": 4096,
    "n_head": 16,
    "n_layer": 28,
    "n_positions": 2048,
    "vocab_size": 50400,
    "activation_function": "gelu_new",
}


def test_llama_config_matches_catalog_entry() -> None:
    arch = arch_from_config(LLAMA_2_70B, "config.json", "model")
    cat = load_catalog().models.get("llama-2-70b", "model")
    assert arch.params == cat.params
    assert (arch.kv_heads, arch.ffn_kind, arch.context_window) == (8, "gated", 4096)


def test_mixtral_config_has_experts() -> None:
    arch = arch_from_config(MIXTRAL, "config.json", "model")
    assert (arch.experts, arch.experts_per_token) == (8, 2)
    assert arch.params == load_catalog().models.get("mixtral-8x7b", "model").params


def test_gptj_config_uses_gpt_field_names() -> None:
    arch = arch_from_config(GPTJ, "config.json", "model")
    assert (arch.layers, arch.ffn, arch.ffn_kind, arch.parallel_attention) == (
        28,
        16384,
        "plain",
        True,
    )


def test_missing_field_is_named() -> None:
    cfg = dict(LLAMA_2_70B)
    del cfg["num_hidden_layers"]
    with pytest.raises(InputError, match="num_hidden_layers"):
        arch_from_config(cfg, "config.json", "model")


def test_file_round_trip_and_bad_json(tmp_path: Path) -> None:
    good = tmp_path / "config.json"
    good.write_text(json.dumps(LLAMA_2_70B))
    assert arch_from_config_file(good, "model").layers == 80
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="cannot read"):
        arch_from_config_file(bad, "model")


MODEL_CONFIGS = Path(__file__).resolve().parents[3] / "shared" / "model-configs"


def test_an_architecture_it_cannot_represent_is_refused_by_name() -> None:
    """DeepSeek-V3 read as a dense transformer is a 30 B model; refusing is the honest answer
    until MLA and shared-expert MoE are modelled."""
    deepseek = {**LLAMA_2_70B, "kv_lora_rank": 512, "n_routed_experts": 256}
    with pytest.raises(InputError, match=r"kv_lora_rank \(MLA"):
        arch_from_config(deepseek, "deepseek.json", "--model")
    mixed = {**LLAMA_2_70B, "layer_types": ["sliding_attention", "full_attention"]}
    with pytest.raises(InputError, match="layer_types"):
        arch_from_config(mixed, "oss.json", "--model")
    quantized = {**LLAMA_2_70B, "quantization_config": {"quant_method": "mxfp4"}}
    with pytest.raises(InputError, match=r"quantization_config \(a mxfp4 checkpoint"):
        arch_from_config(quantized, "q.json", "--model")
    fp8 = {**LLAMA_2_70B, "quantization_config": {"quant_method": "fp8"}}
    assert arch_from_config(fp8, "fp8.json", "--model").layers == 80
    assert arch_from_config({**LLAMA_2_70B, "n_shared_experts": 0}, "x", "m").layers == 80


@pytest.mark.skipif(not MODEL_CONFIGS.is_dir(), reason="shared/model-configs is not beside")
def test_every_shared_config_reads_or_is_refused_in_one_line() -> None:
    read, refused = [], []
    for path in sorted(MODEL_CONFIGS.glob("*_config.json")):
        if path.name.endswith("_hf_quant_config.json"):
            continue
        try:
            arch = arch_from_config_file(path, "--model")
        except InputError as exc:
            assert "\n" not in str(exc)
            refused.append(path.name)
            continue
        read.append((path.name, arch.params))
    names = dict(read)
    assert names["meta-llama--Meta-Llama-3.1-405B_config.json"] == pytest.approx(405.9e9, rel=0.01)
    assert "deepseek-ai--DeepSeek-V3_config.json" in refused
    assert "openai--gpt-oss-120b_config.json" in refused
