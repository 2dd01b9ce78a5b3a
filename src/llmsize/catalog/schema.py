"""Validated shapes of catalog entries: GPUs, servers and LLM architectures."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from llmsize.by_identity import ByIdentity
from llmsize.catalog.blocks import Block, Blocks, Ffn, dense_ffn, gqa_mixer, moe_ffn
from llmsize.catalog.precisions import PRECISIONS, Precision, compute_rate

__all__ = ["PRECISIONS", "Gpu", "LlmArch", "Precision", "Server"]


STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
"""Catalog files are typed as written: a boolean is not a number, NaN and infinity are refused."""


class _Entry(BaseModel):
    model_config = STRICT

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    aliases: Annotated[tuple[str, ...], Field(strict=False)] = ()
    source: str = Field(min_length=5)


class Link(BaseModel):
    model_config = STRICT

    kind: Literal["nvlink", "nvlink-bridge", "pcie", "infinity-fabric", "ethernet"]
    gb_s: float = Field(gt=0)


class Gpu(_Entry):
    """One accelerator: dense TFLOPS per math precision, memory and bandwidth (datasheet)."""

    generation: str
    tflops: dict[Literal["bf16", "fp16", "fp8", "fp4", "int8"], float]
    memory_gb: float = Field(gt=0)
    bandwidth_tb_s: float = Field(gt=0)
    link: Link
    pcie_gb_s: float = Field(default=64, gt=0)
    kv_cache_gib: float | None = Field(default=None, gt=0)
    """A KV cache engines are given outright on this device instead of a share of its memory
    (vLLM's CPU backend: VLLM_CPU_KVCACHE_SPACE); None for GPUs."""

    def supports(self, precision: str) -> bool:
        """Whether the GPU has tensor cores for the precision's math (int4 is weight-only with
        16-bit math, so every GPU with 16-bit tensor cores runs it)."""
        from llmsize.catalog.precisions import is_precision

        return is_precision(precision) and compute_rate(precision) in self.tflops

    def runs(self, precision: str) -> bool:
        """Whether engines run the precision here at all: natively, or with its weights
        dequantized to math the GPU has (MXFP4 and NVFP4 on Hopper run W4A16)."""
        from llmsize.catalog.precisions import is_precision, math_rate

        return is_precision(precision) and math_rate(precision, self.tflops)[0] in self.tflops

    def math(self, precision: str) -> tuple[str, bool]:
        """The rate (tflops key) a precision's matmuls run at here, and whether natively."""
        from llmsize.catalog.precisions import math_rate

        return math_rate(precision, self.tflops)

    def rate(self, precision: str) -> float:
        """Dense TFLOPS a precision's matmuls run at here (its own, or its emulation's)."""
        return float(self.tflops[self.math(precision)[0]])  # type: ignore[index]


class Server(_Entry):
    """A purchasable unit: so many GPUs of one kind, some of them sharing an NVLink fabric."""

    gpu: str
    gpus: int = Field(default=8, ge=1, le=72)
    nvlink_domain: int = Field(ge=1)
    network_gb_s: float = Field(default=50.0, gt=0)
    """Per GPU, one direction, to other servers (scale-out): one 400 Gb/s InfiniBand or RoCE
    port per GPU (DGX H100/B200's ConnectX-7) unless the server says otherwise."""

    @model_validator(mode="after")
    def _domain_fits(self) -> Server:
        if self.nvlink_domain > self.gpus:
            raise ValueError("nvlink_domain cannot exceed gpus")
        return self


class NativePrecision(BaseModel):
    """How a checkpoint is stored (its quantization_config): one precision per part, since
    quantized checkpoints keep some parts wide (gpt-oss: MXFP4 experts, BF16 attention)."""

    model_config = STRICT

    name: str  # what the checkpoint is called by (the experts' or, for dense models, the MLP's)
    attention: str
    mlp: str  # dense MLPs, shared experts, routers
    experts: str
    kv_cache: str
    source: str  # the file and field it was read from


class LlmArch(_Entry):
    """A decoder-only language model: the flat fields of a dense transformer (what the catalog's
    2024 entries give), and, for today's mixed models, its `blocks` (catalog/blocks.py) read from
    config.json. Every count below sums over the blocks."""

    layers: int = Field(ge=1)
    hidden: int = Field(ge=1)
    heads: int = Field(ge=1)
    kv_heads: int = Field(ge=1)
    head_dim: int | None = Field(default=None, ge=1)
    ffn: int = Field(ge=1)
    ffn_kind: Literal["gated", "plain"]
    vocab: int = Field(ge=1)
    experts: int = Field(default=1, ge=1)
    experts_per_token: int = Field(default=1, ge=1)
    context_window: int = Field(ge=1)
    parallel_attention: bool = False
    approximate: bool = False
    blocks: Blocks = ()
    tied_embeddings: bool = False
    mtp_params: int = Field(default=0, ge=0)  # multi-token-prediction layers in the checkpoint
    vision_params: int = Field(default=0, ge=0)  # a multimodal model's encoder (not planned for)
    native: NativePrecision | None = None
    notes: Annotated[tuple[str, ...], Field(strict=False)] = ()  # how it was read
    ignored: Annotated[tuple[str, ...], Field(strict=False)] = ()  # fields read and not used

    @model_validator(mode="after")
    def _consistent(self) -> LlmArch:
        if self.heads % self.kv_heads:
            raise ValueError("heads must be a multiple of kv_heads")
        if self.experts_per_token > self.experts:
            raise ValueError("experts_per_token cannot exceed experts")
        if self.head_dim is None and self.hidden % self.heads:
            raise ValueError(
                f"hidden ({self.hidden}) is not a multiple of heads ({self.heads}): give head_dim"
            )
        if not 4 <= self.dim_per_head <= 1024:
            raise ValueError(f"a head dimension of {self.dim_per_head} is not plausible")
        if self.blocks and sum(b.count for b in self.blocks) != self.layers:
            raise ValueError("blocks must add up to layers")
        return self

    @property
    def dim_per_head(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden // self.heads

    @property
    def structure(self) -> tuple[Block, ...]:
        """The layers as blocks: given, or the one block a dense (or Mixtral-style) entry is."""
        return self.blocks or _flat_blocks(self)

    @property
    def embedding_params(self) -> int:
        """Input embedding and LM head (one matrix when tied)."""
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    @property
    def head_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def params(self) -> int:
        """Parameters of the language model: every layer, every expert, embeddings and LM head
        (the encoder of a multimodal model and multi-token-prediction layers apart)."""
        layers = sum(b.count * (b.mixer.params + _ffn_total(b.ffn)) for b in self.structure)
        return layers + self.embedding_params

    @property
    def total_params(self) -> int:
        """What a model card calls the total: the language model and any vision encoder."""
        return self.params + self.vision_params

    @property
    def active_params(self) -> int:
        """Parameters one token runs through: all but the experts it is not routed to."""
        inactive = sum(
            b.count * (b.ffn.experts - b.ffn.top_k) * b.ffn.expert_params for b in self.structure
        )
        return self.params - inactive

    @property
    def is_moe(self) -> bool:
        return any(b.ffn.kind == "moe" for b in self.structure)


def _ffn_total(ffn: Ffn) -> int:
    return ffn.params + ffn.experts * ffn.expert_params


_FLAT: ByIdentity[tuple[Block, ...]] = ByIdentity(1024)


def _flat_blocks(model: LlmArch) -> tuple[Block, ...]:
    """The one block of a flat entry, built once per entry (asked for on every memory check)."""
    return _FLAT.get((model,), (), lambda: _build_flat_blocks(model))


def _build_flat_blocks(model: LlmArch) -> tuple[Block, ...]:
    gated = model.ffn_kind == "gated"
    mixer = gqa_mixer(model.hidden, model.heads, model.kv_heads, model.dim_per_head)
    if model.experts > 1:
        ffn = moe_ffn(model.hidden, model.experts, model.experts_per_token, model.ffn, gated)
    else:
        ffn = dense_ffn(model.hidden, model.ffn, gated)
    return (Block(count=model.layers, mixer=mixer, ffn=ffn),)
