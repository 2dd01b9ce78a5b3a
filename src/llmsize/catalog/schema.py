"""Validated shapes of catalog entries: GPUs, servers and LLM architectures."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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

    kind: Literal["nvlink", "nvlink-bridge", "pcie", "infinity-fabric"]
    gb_s: float = Field(gt=0)


class Gpu(_Entry):
    """One accelerator: dense TFLOPS per math precision, memory and bandwidth (datasheet)."""

    generation: str
    tflops: dict[Literal["bf16", "fp16", "fp8", "fp4"], float]
    memory_gb: float = Field(gt=0)
    bandwidth_tb_s: float = Field(gt=0)
    link: Link
    pcie_gb_s: float = Field(default=64, gt=0)

    def supports(self, precision: str) -> bool:
        """Whether the GPU has tensor cores for the precision's math (int4 is weight-only with
        16-bit math, so every GPU with 16-bit tensor cores runs it)."""
        from llmsize.catalog.precisions import is_precision

        return is_precision(precision) and compute_rate(precision) in self.tflops


class Server(_Entry):
    """A purchasable unit: so many GPUs of one kind, some of them sharing an NVLink fabric."""

    gpu: str
    gpus: int = Field(default=8, ge=1, le=72)
    nvlink_domain: int = Field(ge=1)

    @model_validator(mode="after")
    def _domain_fits(self) -> Server:
        if self.nvlink_domain > self.gpus:
            raise ValueError("nvlink_domain cannot exceed gpus")
        return self


class LlmArch(_Entry):
    """A decoder-only transformer as its config.json describes it."""

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
        return self

    @property
    def dim_per_head(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden // self.heads

    @property
    def params(self) -> int:
        """Parameter count from the architecture (all experts, embeddings and LM head)."""
        d = self.dim_per_head
        attn = self.hidden * d * (self.heads + 2 * self.kv_heads) + self.heads * d * self.hidden
        mlp = (3 if self.ffn_kind == "gated" else 2) * self.hidden * self.ffn * self.experts
        router = self.hidden * self.experts if self.experts > 1 else 0
        return self.layers * (attn + mlp + router) + 2 * self.vocab * self.hidden
