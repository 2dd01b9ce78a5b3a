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


def test_an_architecture_it_cannot_represent_is_refused_by_name() -> None:
    """DeepSeek-V4's compressed attention read as MLA would be a different model: refused."""
    v4 = {**LLAMA_2_70B, "compress_ratios": [0, 4, 128]}
    with pytest.raises(InputError, match=r"compress_ratios \(compressed sparse attention"):
        arch_from_config(v4, "v4.json", "--model")
    odd = {**LLAMA_2_70B, "layer_types": ["cross_attention", "full_attention"]}
    with pytest.raises(InputError, match="layer_types"):
        arch_from_config(odd, "x.json", "--model")
    quantized = {**LLAMA_2_70B, "quantization_config": {"quant_method": "bitsandbytes"}}
    with pytest.raises(InputError, match=r"quantization_config \(bitsandbytes\)"):
        arch_from_config(quantized, "q.json", "--model")


DEEPSEEK_V3 = {
    **LLAMA_2_70B,
    "model_type": "deepseek_v3",
    "hidden_size": 7168,
    "intermediate_size": 18432,
    "moe_intermediate_size": 2048,
    "num_hidden_layers": 61,
    "num_attention_heads": 128,
    "num_key_value_heads": 128,
    "n_routed_experts": 256,
    "n_shared_experts": 1,
    "num_experts_per_tok": 8,
    "first_k_dense_replace": 3,
    "moe_layer_freq": 1,
    "kv_lora_rank": 512,
    "q_lora_rank": 1536,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "v_head_dim": 128,
    "vocab_size": 129280,
    "num_nextn_predict_layers": 1,
}


def test_deepseek_reads_as_mla_with_routed_and_shared_experts() -> None:
    """DeepSeek-V3 model card: 671 B total, 37 B activated (the MTP module, 14 B, apart)."""
    arch = arch_from_config(DEEPSEEK_V3, "config.json", "model")
    kinds = [(b.count, b.mixer.kind, b.ffn.kind) for b in arch.structure]
    assert kinds == [(3, "mla", "dense"), (58, "mla", "moe")]
    assert arch.params / 1e9 == pytest.approx(671, rel=0.01)
    assert arch.active_params / 1e9 == pytest.approx(37, rel=0.03)
    assert arch.mtp_params / 1e9 == pytest.approx(14, rel=0.15)


def test_gpt_oss_reads_its_mxfp4_experts_and_window_layers() -> None:
    cfg = {
        **LLAMA_2_70B,
        "model_type": "gpt_oss",
        "hidden_size": 2880,
        "intermediate_size": 2880,
        "head_dim": 64,
        "num_attention_heads": 64,
        "num_hidden_layers": 4,
        "num_local_experts": 128,
        "num_experts_per_tok": 4,
        "sliding_window": 128,
        "layer_types": ["sliding_attention", "full_attention"] * 2,
        "quantization_config": {
            "quant_method": "mxfp4",
            "modules_to_not_convert": ["model.layers.*.self_attn", "lm_head"],
        },
    }
    arch = arch_from_config(cfg, "config.json", "model")
    assert [(b.count, b.mixer.kind, b.mixer.window) for b in arch.structure] == [
        (2, "sliding", 128),
        (2, "full", None),
    ]
    assert arch.native is not None
    assert (arch.native.experts, arch.native.attention) == ("mxfp4", "bf16")


def test_nested_text_config_is_read_and_said() -> None:
    nested = {
        "model_type": "llama4",
        "text_config": {**LLAMA_2_70B},
        "vision_config": {"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128},
    }
    arch = arch_from_config(nested, "config.json", "model")
    assert arch.layers == 80
    assert arch.vision_params > 0
    assert any("text_config" in note for note in arch.notes)
