"""How a checkpoint is quantized, read from its config.json `quantization_config` or the
`hf_quant_config.json` NVIDIA's ModelOpt writes beside it: one precision per part (attention,
dense MLP and shared experts, routed experts) and the KV cache's."""

from __future__ import annotations

import re
from typing import Any

from llmsize.catalog.schema import NativePrecision
from llmsize.errors import InputError

_WIDE = "bf16"  # what quantizers leave excluded modules in


class UnreadableQuant(Exception):
    """A quantization this reader cannot represent; the message names it."""


def native_precision(
    config_quant: Any, modelopt: dict[str, Any] | None, origin: str, where: str
) -> NativePrecision | None:
    """The checkpoint's precisions, or None for an unquantized (16-bit) checkpoint."""
    try:
        if modelopt is not None:
            return _modelopt(modelopt.get("quantization") or modelopt, f"{origin} (hf_quant)")
        if isinstance(config_quant, dict):
            return _config(config_quant, f"{origin} quantization_config")
    except UnreadableQuant as exc:
        raise InputError(where, f"{origin}: {exc}; size its base model with --precision") from None
    return None


def _excluded(patterns: list[Any]) -> tuple[bool, bool]:
    """Whether the attention and the dense-MLP parts are left unquantized."""
    text = " ".join(str(p) for p in patterns)
    attention = bool(re.search(r"attn|mixer\.(q_proj|in_proj)|\.attention\b", text))
    mlp = bool(re.search(r"shared_expert|mlp\\?\.\(gate|mlp\.(gate|up|down)_proj", text))
    return attention, mlp


def _parts(
    quantized: str, patterns: list[Any], kv: str, source: str, *, experts_only: bool = False
) -> NativePrecision:
    wide_attention, wide_mlp = _excluded(patterns)
    attention = _WIDE if wide_attention or experts_only else quantized
    mlp = _WIDE if wide_mlp or experts_only else quantized
    return NativePrecision(
        name=quantized, attention=attention, mlp=mlp, experts=quantized, kv_cache=kv, source=source
    )


_ALGOS = {"FP8": "fp8", "NVFP4": "nvfp4", "FP8_BLOCK": "fp8-block", "W4A16_AWQ": "int4"}


def _modelopt(quant: dict[str, Any], source: str) -> NativePrecision:
    algo = str(quant.get("quant_algo", "?")).upper()
    if algo not in _ALGOS:
        raise UnreadableQuant(
            f"quant_algo {algo} (per-layer or unknown precisions) is not modelled"
        )
    kv = "fp8" if str(quant.get("kv_cache_quant_algo") or "").upper() == "FP8" else _WIDE
    return _parts(_ALGOS[algo], list(quant.get("exclude_modules") or []), kv, source)


def _config(quant: dict[str, Any], source: str) -> NativePrecision:
    method = str(quant.get("quant_method", "")).lower()
    ignored = list(
        quant.get("ignore")
        or quant.get("modules_to_not_convert")
        or quant.get("exclude_modules")
        or []
    )
    if "quant_algo" in quant and method in ("", "modelopt"):
        return _modelopt({**quant, "exclude_modules": ignored}, source)
    if method == "fp8":
        name = "fp8-block" if quant.get("weight_block_size") else "fp8"
        return _parts(name, ignored, _WIDE, source)
    if method == "mxfp4":
        return _parts("mxfp4", ignored, _WIDE, source, experts_only=True)
    if method == "compressed-tensors":
        return _compressed(quant, ignored, source)
    if method in ("awq", "gptq") and quant.get("bits") == 4:
        return _parts("int4", ignored, _WIDE, source)
    raise UnreadableQuant(f"quantization_config ({method or 'no quant_method'}) is not modelled")


def _compressed(quant: dict[str, Any], ignored: list[Any], source: str) -> NativePrecision:
    groups = quant.get("config_groups") or {}
    if len(groups) != 1:
        raise UnreadableQuant("quantization_config with several config_groups is not modelled")
    group = next(iter(groups.values()))
    weights = group.get("weights") or {}
    acts = group.get("input_activations")
    bits, kind = weights.get("num_bits"), weights.get("type")
    if bits == 4 and kind == "int" and not acts:
        name = "int4"
    elif bits == 4 and kind == "float":
        name = "mxfp4" if "mxfp4" in str(group.get("format", "")) else "nvfp4"
    elif bits == 8 and kind == "float":
        name = "fp8"
    elif bits == 8 and kind == "int" and acts:
        name = "int8"
    else:
        raise UnreadableQuant(f"compressed-tensors {bits}-bit {kind} weights are not modelled")
    scheme = quant.get("kv_cache_scheme")
    kv = "fp8" if isinstance(scheme, dict) and scheme.get("num_bits") == 8 else _WIDE
    return _parts(name, ignored, kv, source)
