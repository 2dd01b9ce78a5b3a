"""Read a Hugging Face config.json (and a quantized checkpoint's hf_quant_config.json) as an
LlmArch: dense transformers, MoE with routed and shared experts, MLA, sliding-window, chunked,
linear-attention and Mamba layers, multi-token-prediction layers and nested multimodal configs.

What cannot be represented is refused in one line naming the field; what is read but does not
change the sizing is listed in the model's notes (`llmsize model inspect` shows them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from llmsize.catalog.hf_layers import Get, NotAMultiple
from llmsize.catalog.schema import LlmArch
from llmsize.errors import InputError, shown

REFUSED: tuple[tuple[str, str], ...] = (
    ("block_configs", "per-layer NAS block configurations (Nemotron-NAS)"),
    ("compress_ratios", "compressed sparse attention (DeepSeek-V4)"),
    ("hc_mult", "hyper-connections (DeepSeek-V4)"),
    ("linear_attn_config", "Kimi linear (KDA) attention layers"),
    ("num_kv_shared_layers", "KV cache shared across layers"),
    ("hidden_size_per_layer_input", "per-layer input embeddings"),
    ("o_lora_rank", "low-rank output projections"),
)
"""config.json fields whose architecture llmsize cannot represent: a file that sets one is
refused by name, never read as the simpler model it would otherwise look like."""

IGNORED: tuple[tuple[str, str], ...] = (
    ("rope_scaling", "position encoding: no cost in memory or FLOPs"),
    ("rope_parameters", "position encoding: no cost in memory or FLOPs"),
    ("n_group", "grouped expert routing: the same experts are read"),
    ("topk_group", "grouped expert routing: the same experts are read"),
    ("routed_scaling_factor", "a routing weight: no cost"),
    ("norm_topk_prob", "a routing weight: no cost"),
    ("scoring_func", "the router's scoring: no cost"),
    ("router_aux_loss_coef", "training only"),
    ("attention_dropout", "training only"),
    ("final_logit_softcapping", "a scalar on the logits: no cost"),
    ("use_qk_norm", "norms: negligible parameters"),
    ("attention_bias", "biases: negligible parameters"),
    ("swiglu_limit", "an activation clamp: no cost"),
    ("partial_rotary_factor", "position encoding: no cost"),
    ("mlp_bias", "biases: negligible parameters"),
)
"""Fields that are read and deliberately not modelled, with why (`model inspect` lists them)."""

_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length")


class _WrongType(Exception):
    def __init__(self, key: str, value: object) -> None:
        super().__init__(key)
        self.key = key
        self.value = value


class _Missing(Exception):
    def __init__(self, keys: tuple[str, ...]) -> None:
        super().__init__(keys)
        self.keys = keys


def _getter(cfg: dict[str, Any]) -> Get:
    def get(*keys: str, default: int | None = None) -> int:
        for key in keys:
            if cfg.get(key) is not None:
                value = cfg[key]
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise _WrongType(key, value)
                return int(value)
        if default is None:
            raise _Missing(keys)
        return default

    return get


def refused(cfg: dict[str, Any]) -> str:
    """Why this (text) config cannot be read faithfully, or ''."""
    for key, what in REFUSED:
        if cfg.get(key) not in (None, 0, False, [], {}):
            return f"{key} ({what}) is not modelled yet"
    known = {"full_attention", "sliding_attention", "linear_attention"}
    kinds = {str(k) for k in cfg.get("layer_types") or []} - known
    if kinds:
        return f"layer_types {sorted(kinds)} is not modelled yet"
    pattern = cfg.get("hybrid_override_pattern")
    if isinstance(pattern, str) and set(pattern) - set("M*-E"):
        return f"hybrid_override_pattern symbols {sorted(set(pattern) - set('M*-E'))} are unknown"
    return ""


def _text_part(cfg: dict[str, Any], notes: list[str]) -> tuple[dict[str, Any], int]:
    """The language model's config, and an estimate of a multimodal model's encoder size."""
    text = cfg.get("text_config")
    if not isinstance(text, dict):
        return cfg, 0
    merged = dict(text)
    for key in ("quantization_config", "tie_word_embeddings", "_name_or_path"):
        if key in cfg and key not in merged:
            merged[key] = cfg[key]
    encoders = [cfg[k] for k in ("vision_config", "audio_config") if isinstance(cfg.get(k), dict)]
    encoder = sum(_encoder_params(e, int(text.get("hidden_size") or 0)) for e in encoders)
    notes.append(
        f"multimodal ({cfg.get('model_type', '?')}): sized for its text model (text_config); "
        + (
            f"the encoder ({encoder / 1e9:.2f} B parameters, estimated from its config) is "
            "counted in the total and in memory, not in the work per token"
            if encoder
            else "no encoder config to count"
        )
    )
    return merged, encoder


def _encoder_params(enc: dict[str, Any], text_hidden: int) -> int:
    """A ViT-style encoder: depth × (attention 4h² + MLP 2h·ffn) and its projection into the
    language model (after merging merge² patches)."""
    try:
        get = _getter(enc)
        depth = get("depth", "num_hidden_layers", "num_layers")
        hidden = get("hidden_size", "width")
        ffn = get("intermediate_size", default=4 * hidden)
        merge = get("spatial_merge_size", default=1)
        out = get("out_hidden_size", "projection_dim", "vision_output_dim", default=text_hidden)
    except (_Missing, _WrongType):
        return 0
    merged = hidden * merge * merge
    projector = merged * merged + merged * out if merge > 1 else hidden * out
    stacked = len(enc.get("deepstack_visual_indexes") or [])
    return depth * (4 * hidden * hidden + 2 * hidden * ffn) + projector * (1 + stacked)


_BLOCK_SYMBOLS = {"mamba": "M", "attention": "*", "mlp": "-", "moe": "E"}


def _block_types_as_pattern(text: dict[str, Any], origin: str, where: str) -> dict[str, Any]:
    """Nemotron-H's newer `layers_block_type` list, as the `hybrid_override_pattern` string."""
    kinds = text.get("layers_block_type")
    if not isinstance(kinds, list) or "hybrid_override_pattern" in text:
        return text
    unknown = sorted({str(k) for k in kinds} - set(_BLOCK_SYMBOLS))
    if unknown:
        raise InputError(where, f"{origin}: layers_block_type {unknown} is not modelled yet")
    pattern = "".join(_BLOCK_SYMBOLS[str(k)] for k in kinds)
    return {**text, "hybrid_override_pattern": pattern, "num_hidden_layers": len(kinds)}


def arch_from_config(
    cfg: dict[str, Any], origin: str, where: str, modelopt: dict[str, Any] | None = None
) -> LlmArch:
    """Map config.json to an architecture; a missing field, one that is not a whole number
    where one is meant, or one the model cannot represent, is an InputError naming it."""
    try:
        return _arch(cfg, origin, where, modelopt)
    except _WrongType as exc:
        raise InputError(
            where, f"{origin}: {exc.key} must be a whole number >= 0, got {shown(exc.value)}"
        ) from None
    except _Missing as exc:
        raise InputError(where, f"{origin}: missing {' or '.join(exc.keys)}") from None
    except NotAMultiple as exc:
        raise InputError(where, f"{origin}: {exc}") from None


def _arch(cfg: dict[str, Any], origin: str, where: str, modelopt: dict[str, Any] | None) -> LlmArch:
    from llmsize.catalog.hf_layers import LayerReader
    from llmsize.catalog.hf_quant import native_precision

    notes: list[str] = []
    text, encoder = _text_part(cfg, notes)
    why = refused(text) or refused(cfg)
    if why:
        raise InputError(where, f"{origin}: {why}")
    text = _block_types_as_pattern(text, origin, where)
    get = _getter(text)
    reader = LayerReader(text, get, notes)
    blocks = reader.blocks()
    context = get(*_CONTEXT_KEYS)
    native = native_precision(text.get("quantization_config"), modelopt, origin, where)
    mtp = reader.mtp_params()
    if mtp:
        notes.append(
            f"multi-token-prediction layers: {mtp / 1e9:.2f} B parameters in the checkpoint, "
            "loaded only when speculative decoding uses them (not counted in the total)"
        )
    if native is not None:
        notes.append(
            f"checkpoint precision (from {native.source}): attention {native.attention}, "
            f"MLP {native.mlp}, experts {native.experts}, KV cache {native.kv_cache}"
        )
    if text.get("sinks") or reader.model_type == "gpt_oss":
        notes.append("attention sinks: a few parameters per head, not counted")
    if reader.model_type not in _KNOWN_TYPES:
        notes.append(
            f"model_type {reader.model_type or '(none)'} is not a family llmsize knows: read "
            "from its standard fields as the layers above"
        )
    moe = next((b.ffn for b in blocks if b.ffn.kind == "moe"), None)
    kv_heads = reader.kv_heads if reader.heads % reader.kv_heads == 0 else reader.heads
    name = str(text.get("_name_or_path") or cfg.get("_name_or_path") or "")
    name = name or Path(origin).parent.name or "custom-model"
    values: dict[str, Any] = {
        "id": re.sub(r"[^a-z0-9.\-]+", "-", name.lower()).strip("-.") or "custom-model",
        "name": name,
        "source": f"config.json at {origin}",
        "layers": reader.layers,
        "hidden": reader.hidden,
        "heads": reader.heads,
        "kv_heads": kv_heads,
        "head_dim": reader.head_dim,
        "ffn": (reader.expert_ffn or reader.dense_size()) if moe else reader.dense_size(),
        "ffn_kind": "gated" if reader.gated else "plain",
        "vocab": get("vocab_size"),
        "experts": moe.experts if moe else 1,
        "experts_per_token": moe.top_k if moe else 1,
        "context_window": context,
        "parallel_attention": bool(text.get("parallel_attn", False) or reader.model_type == "gptj"),
        "blocks": blocks,
        "tied_embeddings": bool(text.get("tie_word_embeddings", reader.model_type == "gpt2")),
        "mtp_params": mtp,
        "vision_params": encoder,
        "native": native,
        "notes": tuple(notes),
        "ignored": tuple(
            f"{key}: {why}" for key, why in IGNORED if text.get(key) not in (None, False, 0)
        ),
    }
    try:
        return LlmArch.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        raise InputError(where, f"{origin}: {loc}: {err['msg']}") from exc


_KNOWN_TYPES = {
    "llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen2_moe", "qwen3_moe", "qwen3_vl",
    "qwen3_vl_text", "qwen3_vl_moe", "qwen3_vl_moe_text", "qwen3_5", "qwen3_5_text",
    "qwen3_5_moe", "qwen3_5_moe_text", "qwen3_next", "falcon", "gptj", "gpt2", "gpt_neox",
    "deepseek_v2", "deepseek_v3", "deepseek_v32", "kimi_k2", "llama4", "llama4_text", "gpt_oss",
    "gemma4", "gemma4_text", "nemotron_h", "mimo", "mimo_v2_flash", "step3p7", "glm4_moe",
    "minimax_m2",
}  # fmt: skip


def quant_file_beside(path: Path) -> Path | None:
    """ModelOpt's hf_quant_config.json next to a config.json (or owner--repo_config.json)."""
    name = path.name
    twin = (
        name[: -len("config.json")] + "hf_quant_config.json" if name.endswith("config.json") else ""
    )
    candidate = path.with_name(twin) if twin else None
    return candidate if candidate is not None and candidate.is_file() else None


def arch_from_config_file(path: Path, where: str, origin: str | None = None) -> LlmArch:
    from llmsize.files import read_json

    try:
        cfg = read_json(path, "config.json", non_finite=True)
    except InputError as exc:
        raise InputError(where, f"cannot read {path} as JSON: {exc.message}") from None
    if not isinstance(cfg, dict):
        raise InputError(where, f"{path}: expected a JSON object")
    modelopt = None
    beside = quant_file_beside(path)
    if beside is not None:
        found = read_json(beside, "config.json", non_finite=True)
        modelopt = found if isinstance(found, dict) else None
    return arch_from_config(cfg, origin or str(path), where, modelopt)
