"""The one precision table: bytes per element, the math a precision runs on, which GPUs run it,
and what engines cache the KV in with it. Every other module asks here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Precision = Literal["bf16", "fp16", "fp8", "fp8-block", "nvfp4", "mxfp4", "int8", "int4"]
"""Precisions llmsize plans with (weights and math; the KV cache follows, see `kv`)."""

KvPrecision = Literal["bf16", "fp16", "fp8", "nvfp4", "int8"]
"""What a KV cache can be held in, apart from the weights (KV_ELEMENT_BYTES' keys)."""


@dataclass(frozen=True, slots=True)
class PrecisionInfo:
    name: str
    weight_bytes: float  # bytes per stored parameter, scales included
    compute: str  # the datasheet rate (Gpu.tflops key) its matmuls run at where native
    emulated: str  # the rate it runs at on a GPU without that math (weights dequantized), or
    kv: str  # what engines cache K and V in with it
    weight_only: bool  # weights stored narrow, math and activations at 16 bits (W4A16)
    rate_class: str  # calibration groups: precisions that share rates and bytes share a fit
    note: str


TABLE: dict[str, PrecisionInfo] = {
    "fp8": PrecisionInfo(
        "fp8", 1.0, "fp8", "", "fp8", False, "fp8", "FP8 per-tensor weights, math and KV cache"
    ),
    "fp8-block": PrecisionInfo(
        "fp8-block",
        1.0 + 4 / (128 * 128),
        "fp8",
        "",
        "bf16",
        False,
        "fp8",
        "FP8 weights with a scale per 128×128 block (DeepSeek, Qwen3 FP8); 16-bit KV cache",
    ),
    "nvfp4": PrecisionInfo(
        "nvfp4",
        0.5 + 1 / 16,
        "fp4",
        "bf16",
        "fp8",
        False,
        "fp4",
        "NVFP4: 4-bit weights and activations, an FP8 scale per 16; FP4 math on Blackwell",
    ),
    "mxfp4": PrecisionInfo(
        "mxfp4",
        0.5 + 1 / 32,
        "fp4",
        "bf16",
        "bf16",
        False,
        "fp4",
        "MXFP4: 4-bit weights, an 8-bit scale per 32; FP4 math on Blackwell, 16-bit elsewhere",
    ),
    "int8": PrecisionInfo(
        "int8", 1.0, "int8", "", "bf16", False, "int8", "INT8 weights and activations (W8A8)"
    ),
    "bf16": PrecisionInfo(
        "bf16", 2.0, "bf16", "bf16", "bf16", False, "16bit", "16-bit weights and math"
    ),
    "fp16": PrecisionInfo(
        "fp16", 2.0, "fp16", "fp16", "fp16", False, "16bit", "16-bit weights and math"
    ),
    "int4": PrecisionInfo(
        "int4",
        0.5,
        "fp16",
        "fp16",
        "fp16",
        True,
        "16bit",
        "4-bit weights dequantized to 16-bit math (W4A16)",
    ),
}

ALIASES = {"fp4": "nvfp4", "fp8-tensor": "fp8", "w4a16": "int4", "w8a8": "int8"}
"""Other names users and measurement files give the same precision."""

PRECISIONS: tuple[Precision, ...] = (
    "fp8",
    "bf16",
    "fp16",
    "int4",
    "fp8-block",
    "nvfp4",
    "mxfp4",
    "int8",
)
"""Precisions llmsize plans with (the first four were the 2024 set)."""

FULL_QUALITY: tuple[Precision, ...] = ("fp8", "bf16")
"""What a plan compares when neither the user nor the checkpoint names a precision: weight-only
int4 and 4-bit floats change answers, not just speed, so they are modelled when asked for (or
when the checkpoint is stored so)."""

CALIBRATED = ("fp8", "bf16", "fp16")
"""Precisions the bundled calibration data measured (the 2024 sets): error figures are shown
for these only."""

SHOWN_PRECISIONS = ("bf16", "fp8", "fp8-block", "nvfp4", "mxfp4", "int4", "int8")
"""What `model inspect` sizes the weights at (fp16 is bf16's size)."""

CURVE_PRECISIONS = (*PRECISIONS, "fp4")
"""Precisions a measured row may state."""

KV_ELEMENT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "nvfp4": 0.5 + 1 / 16, "int8": 1.0}
"""Bytes per cached K or V element, by KV precision."""

KV_PRECISIONS = tuple(KV_ELEMENT_BYTES)

SAME_RATE: dict[str, tuple[str, ...]] = {"bf16": ("bf16", "fp16"), "fp16": ("fp16", "bf16")}
"""BF16 and FP16 run at the same datasheet rate and move the same bytes: a measurement in one
stands for the other."""


def canonical(precision: str) -> str:
    """The table's name for a precision a user or a file gave (`fp4` is `nvfp4`)."""
    name = precision.strip().lower()
    return ALIASES.get(name, name)


def checked(precision: str, where: str) -> Precision:
    """A precision a user named, or one InputError listing the allowed ones."""
    from llmsize.errors import InputError

    name = canonical(precision)
    if name not in PRECISIONS:
        raise InputError(
            where, f"{precision!r} is not one of {', '.join(PRECISIONS)} (fp4 = nvfp4)"
        )
    return name


def checked_kv(precision: str, where: str) -> str:
    """A KV-cache precision a user named, or one InputError listing the allowed ones."""
    from llmsize.errors import InputError

    if precision not in KV_PRECISIONS:
        raise InputError(where, f"{precision!r} is not one of {', '.join(KV_PRECISIONS)}")
    return precision


def info(precision: str) -> PrecisionInfo:
    return TABLE[precision]


def is_precision(name: str) -> bool:
    return name in TABLE


def weight_bytes(precision: str) -> float:
    return TABLE[precision].weight_bytes


def compute_rate(precision: str) -> str:
    return TABLE[precision].compute


def math_rate(precision: str, rates: object) -> tuple[str, bool]:
    """The datasheet rate a precision's matmuls run at on a GPU with these `rates` (its tflops
    keys), and whether that is native (False: weights dequantized to wider math)."""
    entry = TABLE[precision]
    if entry.compute in rates:  # type: ignore[operator]
        return entry.compute, not entry.weight_only
    return entry.emulated, False


def kv_bytes(precision: str) -> float:
    """Bytes per cached element when serving at `precision` (FP8 engines cache in FP8)."""
    return KV_ELEMENT_BYTES[TABLE[precision].kv]


def rate_class(precision: str) -> str:
    return TABLE[precision].rate_class if precision in TABLE else precision
