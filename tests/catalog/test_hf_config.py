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
