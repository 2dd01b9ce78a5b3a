"""A model as a stack of blocks: each layer's token mixer (attention of some kind, or a
recurrent state) and its feed-forward part (dense, mixture of experts, or none).

Today's models mix layer kinds — DeepSeek's MLA with dense first layers and 256 routed experts,
gpt-oss's alternating sliding-window layers, Qwen3.5's linear-attention layers with a full one
every fourth, Nemotron-H's Mamba, attention and MoE layers — so memory, FLOPs and bytes are summed
over blocks rather than read off one layer. A block holds the numbers the performance model
needs (parameters, cached elements, FLOPs per query-key pair), worked out once when the model is
read (`hf_config` for config.json files, `dense_blocks` for the catalog's dense entries).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

MixerKind = Literal["full", "sliding", "chunked", "mla", "linear", "mamba", "none"]
MIXER_WORDS: dict[str, str] = {
    "full": "full attention",
    "sliding": "sliding-window attention",
    "chunked": "chunked attention",
    "mla": "multi-head latent attention (MLA)",
    "linear": "linear attention (gated DeltaNet)",
    "mamba": "Mamba-2 state-space",
    "none": "no token mixer",
}


class Mixer(BaseModel):
    """One layer's token mixer.

    `kv_elements` are the elements cached per token (K and V of the KV heads, or MLA's latent and
    rotary key), split over `kv_shards` tensor-parallel ranks at most (KV heads; 1 for MLA, whose
    latent every rank holds whole). A query reads at most `window` keys and the cache keeps at most
    `window` tokens (sliding window, chunk); sparse attention reads `topk` keys of a cache that
    keeps them all, chosen by an indexer that reads every key (`index_flops`, `index_elements`).
    Recurrent mixers keep `state_bytes` per sequence whatever its length. `rope_elements` of the
    cached elements are MLA's rotary key, which 8-bit sparse-MLA caches keep in 16 bits.
    """

    model_config = _STRICT

    kind: MixerKind
    params: int = Field(ge=0)
    heads: int = Field(default=0, ge=0)  # query heads: what tensor parallelism splits
    kv_elements: int = Field(default=0, ge=0)
    kv_shards: int = Field(default=1, ge=1)
    rope_elements: int = Field(default=0, ge=0)
    prefill_flops: float = Field(default=0, ge=0)  # per (query, key) pair, whole layer
    decode_flops: float = Field(default=0, ge=0)  # per pair in decode (MLA runs absorbed)
    window: int | None = Field(default=None, ge=1)
    topk: int | None = Field(default=None, ge=1)
    index_flops: float = Field(default=0, ge=0)
    index_elements: int = Field(default=0, ge=0)
    state_bytes: int = Field(default=0, ge=0)
    token_flops: float = Field(default=0, ge=0)  # per token, whatever the context (state update)


FfnKind = Literal["dense", "moe", "none"]


class Ffn(BaseModel):
    """One layer's feed-forward part: `params` always run (a dense MLP, or an MoE layer's shared
    experts and router); an MoE layer also has `experts` of `expert_params` each, `top_k` of them
    per token."""

    model_config = _STRICT

    kind: FfnKind
    params: int = Field(ge=0)
    experts: int = Field(default=0, ge=0)
    top_k: int = Field(default=0, ge=0)
    expert_params: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Ffn:
        if self.kind == "moe" and not (1 <= self.top_k <= self.experts and self.expert_params):
            raise ValueError("an MoE block needs experts, 1 <= top_k <= experts, expert_params")
        return self


class Block(BaseModel):
    """`count` layers with the same mixer and feed-forward part."""

    model_config = _STRICT

    count: int = Field(ge=1)
    mixer: Mixer
    ffn: Ffn

    @property
    def label(self) -> str:
        ffn = {"dense": "dense MLP", "moe": f"MoE {self.ffn.experts}×top{self.ffn.top_k}"}
        return f"{MIXER_WORDS[self.mixer.kind]} + {ffn.get(self.ffn.kind, 'no MLP')}"


Blocks = Annotated[tuple[Block, ...], Field(strict=False)]


def gqa_mixer(
    hidden: int,
    heads: int,
    kv_heads: int,
    head_dim: int,
    *,
    v_head_dim: int | None = None,
    kind: MixerKind = "full",
    window: int | None = None,
    gated_output: bool = False,
    shared_kv: bool = False,
) -> Mixer:
    """Grouped-query attention (MHA when kv_heads == heads): Q, K, V and output projections;
    `gated_output` adds a gate as wide as Q (Qwen3.5), `shared_kv` caches one tensor for K and V."""
    dv = v_head_dim or head_dim
    q = heads * head_dim * (2 if gated_output else 1)
    kv = kv_heads * (head_dim if shared_kv else head_dim + dv)
    return Mixer(
        kind=kind,
        params=hidden * (q + kv) + heads * dv * hidden,
        heads=heads,
        kv_elements=kv,
        kv_shards=kv_heads,
        prefill_flops=2.0 * heads * (head_dim + dv),
        decode_flops=2.0 * heads * (head_dim + dv),
        window=window,
    )


def mla_mixer(
    hidden: int,
    heads: int,
    *,
    kv_lora_rank: int,
    q_lora_rank: int | None,
    nope_dim: int,
    rope_dim: int,
    v_dim: int,
    index: tuple[int, int, int] | None = None,
) -> Mixer:
    """DeepSeek's multi-head latent attention: the cache holds one latent (kv_lora_rank) and one
    shared rotary key (rope_dim) per token and layer. Prefill expands the latent per head
    (nope + rope for QK, v for PV); decode runs absorbed, attending in the latent space.
    `index` = (index heads, index head dim, top-k) adds DeepSeek sparse attention's indexer."""
    qk = nope_dim + rope_dim
    q = hidden * q_lora_rank + q_lora_rank * heads * qk if q_lora_rank else hidden * heads * qk
    params = q + hidden * (kv_lora_rank + rope_dim) + kv_lora_rank * heads * (nope_dim + v_dim)
    params += heads * v_dim * hidden
    mixer = Mixer(
        kind="mla",
        params=params,
        heads=heads,
        kv_elements=kv_lora_rank + rope_dim,
        kv_shards=1,
        rope_elements=rope_dim,
        prefill_flops=2.0 * heads * (qk + v_dim),
        decode_flops=2.0 * heads * (kv_lora_rank + rope_dim + kv_lora_rank),
    )
    if index is None:
        return mixer
    index_heads, index_dim, topk = index
    index_params = (q_lora_rank or hidden) * index_heads * index_dim + hidden * index_dim
    index_params += hidden * index_heads
    return mixer.model_copy(
        update={
            "params": params + index_params,
            "topk": topk,
            "index_flops": 2.0 * index_heads * index_dim,
            "index_elements": index_dim,
        }
    )


def linear_mixer(
    hidden: int,
    key_heads: int,
    value_heads: int,
    key_dim: int,
    value_dim: int,
    conv_kernel: int,
    state_element_bytes: float,
) -> Mixer:
    """Gated DeltaNet (Qwen3-Next, Qwen3.5): Q, K, V, output gate and decay projections, a short
    convolution, and a value_heads × key_dim × value_dim state per sequence."""
    qkv = 2 * key_heads * key_dim + value_heads * value_dim
    params = hidden * (qkv + value_heads * value_dim + 2 * value_heads)
    params += qkv * conv_kernel + value_heads * value_dim * hidden
    state = value_heads * key_dim * value_dim * state_element_bytes
    conv_state = (conv_kernel - 1) * qkv * 2  # 16-bit
    return Mixer(
        kind="linear",
        params=params,
        heads=value_heads,
        state_bytes=round(state + conv_state),
        token_flops=6.0 * value_heads * key_dim * value_dim,
    )


def mamba_mixer(
    hidden: int,
    heads: int,
    head_dim: int,
    state_size: int,
    groups: int,
    conv_kernel: int,
    state_element_bytes: float,
) -> Mixer:
    """Mamba-2 (Nemotron-H): in/out projections, a short convolution and a heads × head_dim ×
    state_size state per sequence."""
    inner = heads * head_dim
    conv = inner + 2 * groups * state_size
    params = hidden * (2 * inner + 2 * groups * state_size + heads) + conv * conv_kernel
    params += inner * hidden + 3 * heads
    state = heads * head_dim * state_size * state_element_bytes
    return Mixer(
        kind="mamba",
        params=params,
        heads=heads,
        state_bytes=round(state + (conv_kernel - 1) * conv * 2),
        token_flops=6.0 * inner * state_size,
    )


def mlp_params(hidden: int, ffn: int, gated: bool) -> int:
    return (3 if gated else 2) * hidden * ffn


def dense_ffn(hidden: int, ffn: int, gated: bool) -> Ffn:
    return Ffn(kind="dense", params=mlp_params(hidden, ffn, gated))


def moe_ffn(
    hidden: int,
    experts: int,
    top_k: int,
    expert_ffn: int,
    gated: bool,
    *,
    shared_params: int = 0,
    latent: int | None = None,
) -> Ffn:
    """Routed experts (each an MLP of expert_ffn) with a router; `shared_params` run for every
    token (shared experts, a parallel dense MLP); `latent` experts work in a narrower space that
    two projections enter and leave (Nemotron-3's latent MoE)."""
    width = latent or hidden
    always = shared_params + hidden * experts + (2 * hidden * latent if latent else 0)
    return Ffn(
        kind="moe",
        params=always,
        experts=experts,
        top_k=top_k,
        expert_params=mlp_params(width, expert_ffn, gated),
    )
