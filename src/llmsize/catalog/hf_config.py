"""Read a Hugging Face config.json (Llama, Mistral, Mixtral, Qwen, Falcon, GPT-J) as an LlmArch."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from llmsize.catalog.schema import LlmArch
from llmsize.errors import InputError, shown

# Each architecture field, and the config keys that carry it across model families.
_KEYS: dict[str, tuple[str, ...]] = {
    "layers": ("num_hidden_layers", "n_layer", "num_layers"),
    "hidden": ("hidden_size", "n_embd", "d_model"),
    "heads": ("num_attention_heads", "n_head"),
    "vocab": ("vocab_size",),
    "context_window": ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length"),
}


def _first(cfg: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if cfg.get(key) is not None:
            value = cfg[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise _WrongType(key, value)
            return value
    return None


class _WrongType(Exception):
    def __init__(self, key: str, value: object) -> None:
        super().__init__(key)
        self.key = key
        self.value = value


UNMODELLED: tuple[tuple[str, str], ...] = (
    ("kv_lora_rank", "MLA (low-rank KV) attention"),
    ("q_lora_rank", "MLA (low-rank KV) attention"),
    ("n_routed_experts", "DeepSeek-style MoE (routed and shared experts)"),
    ("n_shared_experts", "shared experts"),
    ("shared_expert_intermediate_size", "shared experts"),
    ("share_expert_dim", "shared experts"),
    ("first_k_dense_replace", "dense first layers in an MoE"),
    ("moe_layer_freq", "MoE on every n-th layer only"),
    ("num_nextn_predict_layers", "multi-token-prediction layers"),
    ("text_config", "a nested multimodal config (its text model)"),
    ("hybrid_override_pattern", "Mamba / hybrid layers"),
    ("layers_block_type", "Mamba / hybrid layers"),
    ("hybrid_layer_pattern", "hybrid attention layers"),
    ("mamba_num_heads", "Mamba (state-space) layers"),
    ("block_configs", "per-layer block configurations"),
    ("index_topk", "sparse attention (an indexer choosing tokens)"),
)
"""config.json fields whose architecture the model cannot represent yet: a file that sets one is
refused by name, never read as the dense transformer it would otherwise look like (DeepSeek-V3
would read as a 30 B model)."""


def unmodelled(cfg: dict[str, Any]) -> str:
    """Why this config.json cannot be read faithfully yet, or ''."""
    for key, what in UNMODELLED:
        value = cfg.get(key)
        if value not in (None, 0, False, [], {}):
            return f"{key} ({what}) is not modelled yet"
    kinds = {str(k) for k in cfg.get("layer_types") or []} - {"full_attention"}
    if kinds:
        return f"layer_types {sorted(kinds)} (mixed attention layers) is not modelled yet"
    if cfg.get("use_sliding_window") is True and cfg.get("sliding_window"):
        return "sliding_window (sliding-window attention) is not modelled yet"
    quantization = cfg.get("quantization_config")
    if isinstance(quantization, dict):
        method = str(quantization.get("quant_method", "?")).lower()
        if method != "fp8":
            return (
                f"quantization_config (a {method} checkpoint) is not modelled yet; size its base "
                "model with --precision"
            )
    return ""


def arch_from_config(cfg: dict[str, Any], origin: str, where: str) -> LlmArch:
    """Map config.json keys to an architecture; a missing field, or one that is not a whole
    number where one is meant, or one the model cannot represent yet, is an InputError naming
    it."""
    why = unmodelled(cfg)
    if why:
        raise InputError(where, f"{origin}: {why}")
    try:
        return _arch(cfg, origin, where)
    except _WrongType as exc:
        raise InputError(
            where, f"{origin}: {exc.key} must be a whole number >= 0, got {shown(exc.value)}"
        ) from None


def _arch(cfg: dict[str, Any], origin: str, where: str) -> LlmArch:
    values: dict[str, Any] = {}
    for field, keys in _KEYS.items():
        value = _first(cfg, keys)
        if value is None:
            raise InputError(where, f"{origin}: missing {' or '.join(keys)} (needed for {field})")
        values[field] = value
    model_type = str(cfg.get("model_type", "")).lower()
    heads = int(values["heads"])
    kv = _first(cfg, ("num_key_value_heads", "num_kv_heads", "n_head_kv"))
    if kv is None and model_type == "falcon" and cfg.get("multi_query", False):
        kv = 1
    values["kv_heads"] = int(kv) if kv is not None else heads
    ffn = _first(cfg, ("intermediate_size", "n_inner", "ffn_hidden_size", "ffn_dim"))
    hidden_act = str(cfg.get("hidden_act", cfg.get("activation_function", ""))).lower()
    gated = model_type in {
        "llama",
        "mistral",
        "mixtral",
        "qwen2",
        "qwen3",
        "qwen2_moe",
        "qwen3_moe",
    }
    gated = gated or hidden_act in {"silu", "swiglu"}
    if model_type in {"falcon", "gptj", "gpt_neox", "gpt2"}:
        gated = False
    if ffn is None:
        if model_type in {"falcon", "gptj", "gpt2", "gpt_neox"}:
            ffn = 4 * int(values["hidden"])
        else:
            raise InputError(where, f"{origin}: missing intermediate_size (needed for ffn)")
    values["ffn"] = int(ffn)
    values["ffn_kind"] = "gated" if gated else "plain"
    experts = _first(cfg, ("num_local_experts", "num_experts"))
    if experts:
        values["experts"] = int(experts)
        values["experts_per_token"] = int(_first(cfg, ("num_experts_per_tok",)) or 2)
        moe_ffn = cfg.get("moe_intermediate_size")
        if moe_ffn:
            values["ffn"] = int(moe_ffn)
    head_dim = _first(cfg, ("head_dim",))
    if head_dim:
        values["head_dim"] = head_dim
    values["parallel_attention"] = bool(cfg.get("parallel_attn", False) or model_type == "gptj")
    name = str(cfg.get("_name_or_path") or Path(origin).parent.name or "custom-model")
    values["id"] = re.sub(r"[^a-z0-9.\-]+", "-", name.lower()).strip("-.") or "custom-model"
    values["name"] = name
    values["source"] = f"config.json at {origin}"
    try:
        return LlmArch.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        raise InputError(where, f"{origin}: {loc}: {err['msg']}") from exc


def arch_from_config_file(path: Path, where: str) -> LlmArch:
    from llmsize.files import read_json

    try:
        cfg = read_json(path, "config.json", non_finite=True)
    except InputError as exc:
        raise InputError(where, f"cannot read {path} as JSON: {exc.message}") from None
    if not isinstance(cfg, dict):
        raise InputError(where, f"{path}: expected a JSON object")
    return arch_from_config(cfg, str(path), where)
