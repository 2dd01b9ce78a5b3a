"""Each layer of a Hugging Face config.json as a block: which token mixer it has (full, sliding,
chunked, MLA, linear attention, Mamba) and which feed-forward part (dense, MoE, none), following
each family's own fields. Layers alike are counted together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmsize.catalog.blocks import (
    Block,
    Ffn,
    Mixer,
    dense_ffn,
    gqa_mixer,
    linear_mixer,
    mamba_mixer,
    mla_mixer,
    mlp_params,
    moe_ffn,
)

Get = Callable[..., int]
"""Reads a whole-number field (the first of several names present), or a default."""


class NotAMultiple(Exception):
    """hidden_size is not a multiple of the head count and no head_dim says what a head is."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__(
            f"hidden_size ({hidden}) is not a multiple of heads (num_attention_heads {heads}): "
            "give head_dim"
        )


def _state_bytes(cfg: dict[str, Any]) -> float:
    dtype = str(cfg.get("mamba_ssm_cache_dtype") or cfg.get("mamba_ssm_dtype") or "")
    return 4.0 if "32" in dtype else 2.0


class LayerReader:
    """Knows one config's families of fields; `blocks()` gives the layers grouped."""

    def __init__(self, cfg: dict[str, Any], get: Get, notes: list[str]) -> None:
        self.cfg = cfg
        self.get = get
        self.notes = notes
        self.model_type = str(cfg.get("model_type", "")).lower().removesuffix("_text")
        self.hidden = get("hidden_size", "n_embd", "d_model")
        self.layers = get("num_hidden_layers", "n_layer", "num_layers")
        self.heads = get("num_attention_heads", "n_head")
        kv = get("num_key_value_heads", "num_kv_heads", "n_head_kv", default=0)
        if not kv and self.model_type == "falcon" and cfg.get("multi_query", False):
            kv = 1
        self.kv_heads = kv or self.heads
        self.head_dim = get("head_dim", default=0)
        if not self.head_dim and not cfg.get("kv_lora_rank"):
            if self.hidden % self.heads:
                raise NotAMultiple(self.hidden, self.heads)
            self.head_dim = self.hidden // self.heads
        self.head_dim = self.head_dim or get("qk_nope_head_dim", default=0) + get(
            "qk_rope_head_dim", default=0
        )
        self.gated = self._gated()
        self.experts = get("n_routed_experts", "num_local_experts", "num_experts", default=0)
        self.top_k = get(
            "num_experts_per_tok",
            "experts_per_token",
            "top_k_experts",
            "num_experts_per_token",
            default=2 if self.experts else 0,
        )
        self.expert_ffn = get("moe_intermediate_size", default=0)

    def _gated(self) -> bool:
        act = str(
            self.cfg.get("mlp_hidden_act")
            or self.cfg.get("hidden_act")
            or self.cfg.get("hidden_activation")
            or self.cfg.get("activation_function")
            or ""
        ).lower()
        plain_family = self.model_type in {"falcon", "gptj", "gpt_neox", "gpt2"}
        return not (plain_family or act in {"relu2", "gelu_new"})

    # --- token mixers -------------------------------------------------------------------

    def attention(self, kind: str = "full", window: int | None = None) -> Mixer:
        c, g = self.cfg, self.get
        if c.get("kv_lora_rank"):
            index = None
            if c.get("index_topk"):
                index = (g("index_n_heads"), g("index_head_dim"), g("index_topk"))
            return mla_mixer(
                self.hidden,
                self.heads,
                kv_lora_rank=g("kv_lora_rank"),
                q_lora_rank=g("q_lora_rank", default=0) or None,
                nope_dim=g("qk_nope_head_dim"),
                rope_dim=g("qk_rope_head_dim"),
                v_dim=g("v_head_dim"),
                index=index,
            )
        heads, kv_heads, head_dim = self.heads, self.kv_heads, self.head_dim
        v_dim = g("v_head_dim", default=0) or None
        shared_kv = False
        if self.model_type == "gemma4" and kind == "full":
            head_dim = g("global_head_dim", default=head_dim)
            kv_heads = g("num_global_key_value_heads", default=kv_heads)
            shared_kv = bool(c.get("attention_k_eq_v"))
        if self.model_type == "mimo_v2_flash" and kind == "sliding":
            heads = g("swa_num_attention_heads", default=heads)
            kv_heads = g("swa_num_key_value_heads", default=kv_heads)
            head_dim = g("swa_head_dim", default=head_dim)
            v_dim = g("swa_v_head_dim", default=0) or v_dim
        return gqa_mixer(
            self.hidden,
            heads,
            kv_heads,
            head_dim,
            v_head_dim=v_dim,
            kind=kind,  # type: ignore[arg-type]
            window=window,
            gated_output=bool(c.get("attn_output_gate")),
            shared_kv=shared_kv,
        )

    def linear(self) -> Mixer:
        g = self.get
        return linear_mixer(
            self.hidden,
            g("linear_num_key_heads"),
            g("linear_num_value_heads"),
            g("linear_key_head_dim"),
            g("linear_value_head_dim"),
            g("linear_conv_kernel_dim", default=4),
            _state_bytes(self.cfg),
        )

    def mamba(self) -> Mixer:
        g = self.get
        return mamba_mixer(
            self.hidden,
            g("mamba_num_heads"),
            g("mamba_head_dim"),
            g("ssm_state_size"),
            g("n_groups", default=1),
            g("conv_kernel", default=4),
            _state_bytes(self.cfg),
        )

    # --- feed-forward parts -------------------------------------------------------------

    def dense_size(self) -> int:
        """The dense MLP's width (GPT-style configs that omit it use 4 × hidden)."""
        keys = ("intermediate_size", "n_inner", "ffn_hidden_size", "ffn_dim")
        if self.model_type in {"falcon", "gptj", "gpt2", "gpt_neox"}:
            return self.get(*keys, default=4 * self.hidden)
        return self.get(*keys)

    def dense(self, ffn: int | None = None) -> Ffn:
        return dense_ffn(self.hidden, ffn or self.dense_size(), self.gated)

    def moe(self) -> Ffn:
        c, g = self.cfg, self.get
        expert_ffn = self.expert_ffn or g("intermediate_size")
        shared = 0
        if g("shared_expert_intermediate_size", default=0):  # Qwen: one shared expert and a gate
            shared = mlp_params(self.hidden, g("shared_expert_intermediate_size"), True)
            shared += self.hidden
        elif g("moe_shared_expert_intermediate_size", default=0):  # Nemotron-3
            shared = mlp_params(self.hidden, g("moe_shared_expert_intermediate_size"), self.gated)
        elif g("share_expert_dim", default=0):  # Step
            shared = mlp_params(self.hidden, g("share_expert_dim"), True)
        elif g("n_shared_experts", "num_shared_experts", default=0):  # DeepSeek, Kimi
            count = g("n_shared_experts", "num_shared_experts")
            shared = count * mlp_params(self.hidden, expert_ffn, self.gated)
        elif self.model_type == "llama4":  # one shared expert as wide as a routed one
            shared = mlp_params(self.hidden, expert_ffn, True)
        if self.model_type == "gemma4":  # a dense MLP beside the experts
            shared += mlp_params(self.hidden, g("intermediate_size"), True)
        latent = g("moe_latent_size", default=0) or None
        if c.get("router_bias") or self.model_type == "gpt_oss":
            shared += self.experts
        return moe_ffn(
            self.hidden,
            self.experts,
            self.top_k,
            expert_ffn,
            self.gated,
            shared_params=shared,
            latent=latent,
        )

    def is_moe_layer(self, i: int) -> bool:
        c, g = self.cfg, self.get
        if not self.experts:
            return False
        if self.model_type == "gemma4" and not c.get("enable_moe_block", True):
            return False
        freq = c.get("moe_layer_freq")
        if isinstance(freq, list):
            return bool(freq[i])
        if i < g("first_k_dense_replace", default=0):
            return False
        if i in (c.get("mlp_only_layers") or []):
            return False
        step = g("interleave_moe_layer_step", default=0)
        if step:
            return (i + 1) % step == 0
        every = g("moe_layer_freq", "decoder_sparse_step", default=1)
        return i % every == 0

    # --- layer kinds --------------------------------------------------------------------

    def mixer_kind(self, i: int) -> str:
        """full, sliding, chunked, linear, mamba or none for layer i."""
        c = self.cfg
        pattern = c.get("hybrid_override_pattern")
        if isinstance(pattern, str):
            return {"M": "mamba", "*": "full"}.get(pattern[i], "none")
        hybrid = c.get("hybrid_layer_pattern")
        if isinstance(hybrid, list):
            return "sliding" if hybrid[i] else "full"
        types = c.get("layer_types")
        if isinstance(types, list):
            name = str(types[i])
            return {"sliding_attention": "sliding", "linear_attention": "linear"}.get(name, "full")
        if self.model_type == "llama4" and c.get("attention_chunk_size"):
            rope = c.get("no_rope_layers")
            uses_rope = rope[i] if isinstance(rope, list) else (i + 1) % 4 != 0
            return "chunked" if uses_rope else "full"
        window = c.get("sliding_window")
        if window and self.model_type in {"mistral", "mixtral"}:
            return "sliding"
        if window and c.get("use_sliding_window"):
            return "sliding" if i >= self.get("max_window_layers", default=0) else "full"
        return "full"

    def ffn_kind(self, i: int) -> str:
        pattern = self.cfg.get("hybrid_override_pattern")
        if isinstance(pattern, str):
            return {"-": "dense", "E": "moe"}.get(pattern[i], "none")
        return "moe" if self.is_moe_layer(i) else "dense"

    def mixer(self, kind: str) -> Mixer:
        if kind == "linear":
            return self.linear()
        if kind == "mamba":
            return self.mamba()
        if kind == "none":
            return Mixer(kind="none", params=0)
        if kind == "chunked":
            return self.attention("chunked", self.get("attention_chunk_size"))
        if kind == "sliding":
            return self.attention("sliding", self.get("sliding_window", "sliding_window_size"))
        return self.attention()

    def ffn(self, kind: str) -> Ffn:
        if kind == "moe":
            return self.moe()
        if kind == "none":
            return Ffn(kind="none", params=0)
        dense = self.get("intermediate_size_mlp", default=0) if self.model_type == "llama4" else 0
        return self.dense(dense or None)

    def blocks(self) -> tuple[Block, ...]:
        counts: dict[tuple[str, str], int] = {}
        for i in range(self.layers):
            key = (self.mixer_kind(i), self.ffn_kind(i))
            counts[key] = counts.get(key, 0) + 1
        return tuple(
            Block(count=n, mixer=self.mixer(m), ffn=self.ffn(f)) for (m, f), n in counts.items()
        )

    def mtp_params(self) -> int:
        """Multi-token-prediction layers: each a full layer like the last, plus the projection
        joining the hidden state and the next token's embedding."""
        count = self.get("num_nextn_predict_layers", "mtp_num_hidden_layers", default=0)
        if not count:
            return 0
        last = self.layers - 1
        mixer = self.mixer(
            "full"
            if self.mixer_kind(last) in ("linear", "mamba", "none")
            else self.mixer_kind(last)
        )
        ffn = self.ffn("moe" if self.experts else "dense")
        per_layer = mixer.params + ffn.params + ffn.experts * ffn.expert_params
        own = 2 * self.hidden * self.hidden  # joins the hidden state and the next embedding
        if self.model_type.startswith(("deepseek", "kimi")):  # stores its own embedding and head
            own += 2 * self.get("vocab_size") * self.hidden
        return count * (per_layer + own)
