"""Build a tiny Llama-architecture model with random weights, locally (no download), for the
real-engine check: a byte-level BPE tokenizer trained on local text, a small config.json, and
weights written with safetensors. Run with the vLLM environment's Python (it has torch,
tokenizers and safetensors): python tiny_model.py OUT_DIR"""

from __future__ import annotations

import json
import sys
from pathlib import Path

VOCAB = 2048
HIDDEN = 256
INTERMEDIATE = 688
LAYERS = 4
HEADS = 4
KV_HEADS = 2
HEAD_DIM = 64
CONTEXT = 2048
CONFIG: dict[str, object] = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": HIDDEN,
    "intermediate_size": INTERMEDIATE,
    "num_hidden_layers": LAYERS,
    "num_attention_heads": HEADS,
    "num_key_value_heads": KV_HEADS,
    "head_dim": HEAD_DIM,
    "hidden_act": "silu",
    "max_position_embeddings": CONTEXT,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "vocab_size": VOCAB,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)


def training_text() -> list[str]:
    """Local text to learn merges from: this repository's Python and Markdown files, ASCII only:
    with no byte above 0x7F in the vocabulary, every token decodes to whole characters (random
    weights otherwise pick lone UTF-8 continuation bytes, which a server streams as empty text)."""
    root = Path(__file__).resolve().parents[2]
    files = sorted(root.rglob("*.md"))[:200] + sorted((root / "src").rglob("*.py"))
    return [p.read_text(encoding="utf-8").encode("ascii", "ignore").decode() for p in files]


def build_tokenizer(out: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<unk>", "<s>", "</s>"])
    tokenizer.train_from_iterator(training_text(), trainer)
    tokenizer.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": "<s>",
                "eos_token": "</s>",
                "unk_token": "<unk>",
                "model_max_length": CONTEXT,
                "chat_template": CHAT_TEMPLATE,
            }
        ),
        encoding="utf-8",
    )


def build_weights(out: Path) -> None:
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    h, inter, heads, kv, d = HIDDEN, INTERMEDIATE, HEADS, KV_HEADS, HEAD_DIM
    dtype = torch.bfloat16

    def w(*shape: int) -> torch.Tensor:
        return (torch.randn(*shape) * 0.02).to(dtype)

    tensors = {"model.embed_tokens.weight": w(VOCAB, h), "lm_head.weight": w(VOCAB, h)}
    tensors["model.norm.weight"] = torch.ones(h, dtype=dtype)
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        tensors[p + "self_attn.q_proj.weight"] = w(heads * d, h)
        tensors[p + "self_attn.k_proj.weight"] = w(kv * d, h)
        tensors[p + "self_attn.v_proj.weight"] = w(kv * d, h)
        tensors[p + "self_attn.o_proj.weight"] = w(h, heads * d)
        tensors[p + "mlp.gate_proj.weight"] = w(inter, h)
        tensors[p + "mlp.up_proj.weight"] = w(inter, h)
        tensors[p + "mlp.down_proj.weight"] = w(h, inter)
        tensors[p + "input_layernorm.weight"] = torch.ones(h, dtype=dtype)
        tensors[p + "post_attention_layernorm.weight"] = torch.ones(h, dtype=dtype)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})


def main(out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(CONFIG, indent=2), encoding="utf-8")
    (out / "generation_config.json").write_text(
        json.dumps({"bos_token_id": 1, "eos_token_id": 2}), encoding="utf-8"
    )
    build_tokenizer(out)
    build_weights(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
