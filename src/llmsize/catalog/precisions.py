"""The one precision table: bytes per element, the math a precision runs on, which GPUs run it,
and what engines cache the KV in with it. Every other module asks here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Precision = Literal["bf16", "fp16", "fp8", "int4"]
"""Precisions llmsize plans with (weights and math; the KV cache follows, see `kv`)."""


@dataclass(frozen=True, slots=True)
class PrecisionInfo:
    name: str
    weight_bytes: float  # bytes per stored parameter
    compute: str  # the datasheet rate (Gpu.tflops key) its matmuls run at
    kv: str  # what engines cache K and V in with it
    weight_only: bool  # weights stored narrow, math and activations at 16 bits (W4A16)
    rate_class: str  # calibration groups: precisions that share rates and bytes share a fit
    note: str


TABLE: dict[str, PrecisionInfo] = {
    "fp8": PrecisionInfo("fp8", 1.0, "fp8", "fp8", False, "fp8", "FP8 weights, math and KV cache"),
    "bf16": PrecisionInfo("bf16", 2.0, "bf16", "bf16", False, "16bit", "16-bit weights and math"),
    "fp16": PrecisionInfo("fp16", 2.0, "fp16", "fp16", False, "16bit", "16-bit weights and math"),
    "int4": PrecisionInfo(
        "int4", 0.5, "fp16", "fp16", True, "16bit", "4-bit weights dequantized to 16-bit math"
    ),
}

PRECISIONS: tuple[Precision, ...] = ("fp8", "bf16", "fp16", "int4")
"""Precisions llmsize plans with, fastest-first on hardware that has FP8."""

FULL_QUALITY: tuple[Precision, ...] = ("fp8", "bf16")
"""What a plan compares when no precision is asked for: weight-only int4 changes answers, not
just speed, so it is modelled only when asked for."""

CURVE_PRECISIONS = (*PRECISIONS, "fp4")
"""Precisions a measured row may state (FP4 rows are kept, though not yet modelled)."""

KV_ELEMENT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0}
"""Bytes per cached K or V element, by KV precision."""

SAME_RATE: dict[str, tuple[str, ...]] = {"bf16": ("bf16", "fp16"), "fp16": ("fp16", "bf16")}
"""BF16 and FP16 run at the same datasheet rate and move the same bytes: a measurement in one
stands for the other."""


def checked(precision: str, where: str) -> Precision:
    """A precision a user named, or one InputError listing the allowed ones."""
    from llmsize.errors import InputError

    if precision not in PRECISIONS:
        raise InputError(where, f"{precision!r} is not one of {', '.join(PRECISIONS)}")
    return precision


def info(precision: str) -> PrecisionInfo:
    return TABLE[precision]


def is_precision(name: str) -> bool:
    return name in TABLE


def weight_bytes(precision: str) -> float:
    return TABLE[precision].weight_bytes


def compute_rate(precision: str) -> str:
    return TABLE[precision].compute


def kv_bytes(precision: str) -> float:
    """Bytes per cached element when serving at `precision` (FP8 engines cache in FP8)."""
    return KV_ELEMENT_BYTES[TABLE[precision].kv]


def rate_class(precision: str) -> str:
    return TABLE[precision].rate_class if precision in TABLE else precision
