"""`llmsize model inspect`: how a model was read — parameters, layer kinds, weight bytes per part
at each precision, KV (or state) bytes per token, and what was ignored — as one document."""

from __future__ import annotations

from typing import Any

from llmsize.catalog import LlmArch
from llmsize.catalog.blocks import MIXER_WORDS
from llmsize.catalog.precisions import KV_PRECISIONS, PRECISIONS, SHOWN_PRECISIONS
from llmsize.perf.memory import GIB, cache_bytes_per_token, part_bytes


def model_document(model: LlmArch) -> dict[str, Any]:
    from llmsize.report.documents import versioned

    native = model.native
    precisions: list[str] = [p for p in PRECISIONS if p in SHOWN_PRECISIONS]
    if native is not None and native.name not in precisions:
        precisions.insert(0, native.name)
    layers = []
    for block in model.structure:
        mixer, ffn = block.mixer, block.ffn
        layers.append(
            {
                "count": block.count,
                "mixer": mixer.kind,
                "mixer_words": MIXER_WORDS[mixer.kind],
                "window": mixer.window,
                "sparse_topk": mixer.topk,
                "ffn": ffn.kind,
                "experts": ffn.experts or None,
                "top_k": ffn.top_k or None,
                "state_bytes_per_sequence": mixer.state_bytes or None,
            }
        )
    weights = {}
    for precision in precisions:
        parts = part_bytes(model, precision)
        weights[precision] = {
            "attention": parts.attention / GIB,
            "mlp": parts.mlp / GIB,
            "experts": parts.experts / GIB,
            "embeddings": parts.embeddings / GIB,
            "encoder": parts.encoder / GIB,
            "total": parts.total / GIB,
        }
    return versioned(
        {
            "model": model.id,
            "name": model.name,
            "source": model.source,
            "total_params": model.total_params,
            "active_params": model.active_params,
            "language_params": model.params,
            "encoder_params": model.vision_params,
            "mtp_params": model.mtp_params,
            "context_window": model.context_window,
            "layers": layers,
            "native_precision": None
            if native is None
            else {
                "attention": native.attention,
                "mlp": native.mlp,
                "experts": native.experts,
                "kv_cache": native.kv_cache,
                "source": native.source,
            },
            "weights_gib": weights,
            "kv_bytes_per_token": {kv: cache_bytes_per_token(model, 1, kv) for kv in KV_PRECISIONS},
            "state_bytes_per_sequence": sum(b.count * b.mixer.state_bytes for b in model.structure),
            "notes": list(model.notes),
            "ignored": list(model.ignored),
        }
    )


def model_text(doc: dict[str, Any]) -> str:
    """The document as a few readable lines."""
    lines = [
        f"{doc['model']} ({doc['name']}) — {doc['source']}",
        f"parameters   {doc['total_params'] / 1e9:,.2f} B total, "
        f"{doc['active_params'] / 1e9:,.2f} B active per token"
        + (f" (encoder {doc['encoder_params'] / 1e9:,.2f} B)" if doc["encoder_params"] else "")
        + (f"; MTP layers {doc['mtp_params'] / 1e9:,.2f} B" if doc["mtp_params"] else ""),
        "layers",
    ]
    for layer in doc["layers"]:
        extra = []
        if layer["window"]:
            extra.append(f"window {layer['window']:,}")
        if layer["sparse_topk"]:
            extra.append(f"top-{layer['sparse_topk']:,} keys")
        if layer["experts"]:
            extra.append(f"{layer['experts']} experts, top {layer['top_k']}")
        if layer["state_bytes_per_sequence"]:
            extra.append(f"state {layer['state_bytes_per_sequence'] / 2**20:,.2f} MiB/seq")
        more = f" ({', '.join(extra)})" if extra else ""
        lines.append(f"  {layer['count']:>3} × {layer['mixer_words']} + {layer['ffn']}{more}")
    native = doc["native_precision"]
    if native:
        lines.append(
            f"checkpoint   attention {native['attention']}, MLP {native['mlp']}, experts "
            f"{native['experts']}, KV {native['kv_cache']}"
        )
    lines.append("weights GiB  attention / MLP / experts / embeddings / encoder = total")
    for precision, parts in doc["weights_gib"].items():
        lines.append(
            f"  {precision:<9} {parts['attention']:,.1f} / {parts['mlp']:,.1f} / "
            f"{parts['experts']:,.1f} / {parts['embeddings']:,.1f} / {parts['encoder']:,.1f} = "
            f"{parts['total']:,.1f}"
        )
    kv = ", ".join(f"{k} {v:,.0f}" for k, v in doc["kv_bytes_per_token"].items())
    lines.append(f"KV bytes per token (growing layers, all GPUs): {kv}")
    if doc["state_bytes_per_sequence"]:
        lines.append(f"state per sequence: {doc['state_bytes_per_sequence'] / 2**20:,.1f} MiB")
    lines += [f"note: {n}" for n in doc["notes"]]
    lines += [f"ignored: {n}" for n in doc["ignored"]]
    return "\n".join(lines) + "\n"
