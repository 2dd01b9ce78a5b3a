"""Regenerate src/llmsize/data/curves.csv from shared/data/measured-calibration.csv.

Numbers are copied as published; only labels are normalised to catalog ids (the raw labels are kept
in raw_model / raw_gpu / raw_precision) and lengths given as ShareGPT totals become per-request
means. Usage: python scripts/build_curves.py [SOURCE.csv] [OUT.csv]
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from llmsize.benchdb.schema import CurvePoint, write_curves
from llmsize.catalog import load_catalog

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "measured-calibration.csv"
DEFAULT_OUT = ROOT / "src" / "llmsize" / "data" / "curves.csv"

LOAD_TYPES = {"static_batch_size": "batch", "concurrency": "concurrency"}


def _precision(raw: str) -> str:
    text = raw.lower()
    for name in ("fp8", "bf16", "fp16"):
        if text.startswith(name) or f"({name})" in text:
            return name
    raise ValueError(f"unmapped precision {raw!r}")


def _length(raw: str, prompts: int) -> float | None:
    """A fixed length ('128', '200 (stddev 0)') or a ShareGPT total divided by the prompt count."""
    total = re.search(r"total_(?:input|output)_tokens=(\d+)", raw)
    if total:
        return int(total.group(1)) / prompts
    lead = re.match(r"\s*(\d+)", raw)
    return float(lead.group(1)) if lead else None


def _num(raw: str) -> float | None:
    return float(raw) if raw.strip() else None


def convert(row: dict[str, str]) -> tuple[CurvePoint | None, str]:
    """One source row as a curve point, or None and the reason it cannot be used."""
    catalog = load_catalog()
    model = catalog.models.find(row["model"])
    gpu = catalog.gpus.find(row["gpu"])
    if gpu is None:
        return None, f"unmapped gpu {row['gpu']!r}"
    prompts = int(m.group(1)) if (m := re.search(r"\((\d+) prompts", row["input_len"])) else 1
    input_tokens = _length(row["input_len"], prompts)
    output_tokens = _length(row["output_len"], prompts)
    if input_tokens is None or output_tokens is None:
        return None, f"length not stated (input {row['input_len']!r}, output {row['output_len']!r})"
    raw_load = row["load_type"]
    load_type = LOAD_TYPES.get(raw_load, "rate" if raw_load.startswith("request_rate") else "batch")
    # The talk's rows publish prompts/s per 8 GPUs (a DGX); the source keeps that figure in req_s.
    label = row["throughput_label_as_published"]
    per_server = "per 8 gpus" in label.lower() or "per DGX" in label
    published = _num(row["throughput_value_as_published"]) or _num(row["req_s"])
    per_8 = published if per_server else None
    req_s = None if per_server else _num(row["req_s"])
    notes = row["notes"]
    if prompts > 1:
        notes = f"lengths vary per prompt; mean of {prompts} prompts. {notes}".strip()
    point = CurvePoint(
        model=model.id if model else row["model"].lower(),
        gpu=gpu.id,
        precision=_precision(row["precision"]),
        tp=int(row["tp"]) if row["tp"].strip() else None,
        load_type=load_type,
        load_value=_num(row["load_value"]),
        input_tokens=round(input_tokens, 2),
        output_tokens=round(output_tokens, 2),
        ttft_ms=_num(row["ttft_ms"]),
        itl_ms=_num(row["itl_ms"]),
        e2e_ms=_num(row["e2e_latency_ms"]),
        req_s=req_s,
        rps_per_8_gpus=per_8,
        out_tok_s=_num(row["out_tok_s"]),
        latency_stat=row["ttft_stat"],
        source_id=row["source_id"],
        source=f"{row['source']} [{row['source_table']}]",
        source_row=row["row_id"],
        raw_model=row["model"],
        raw_gpu=row["gpu"],
        raw_precision=row["precision"],
        notes=notes,
    )
    return point, ""


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    out = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    points: list[CurvePoint] = []
    for row in rows:
        point, why = convert(row)
        if point is None:
            print(f"skipped row {row['row_id']} ({row['source_id']}): {why}")
        else:
            points.append(point)
    out.write_text("".join(write_curves(points)), encoding="utf-8")
    print(f"wrote {len(points)} of {len(rows)} rows to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
