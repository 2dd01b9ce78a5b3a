"""The curve CSV schema: round trip, validation naming file, line and column; user rows win."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmsize.benchdb.schema import COLUMNS, CurvePoint, parse_curves, write_curves
from llmsize.benchdb.store import bundled_store, load_store
from llmsize.errors import InputError

HEADER = "model,gpu,precision,tp,load_type,load_value,input_tokens,output_tokens,ttft_ms,itl_ms\n"


def test_round_trip() -> None:
    point = CurvePoint(
        model="llama-2-7b",
        gpu="h100-sxm",
        precision="fp8",
        tp=1,
        load_type="batch",
        load_value=8,
        input_tokens=128,
        output_tokens=512,
        ttft_ms=40.5,
        itl_ms=8.25,
        source_id="mine",
        source="my lab, 2026-11-01",
        origin="x.csv",
    )
    text = "".join(write_curves([point]))
    assert text.splitlines()[0].split(",") == list(COLUMNS)
    assert parse_curves(text, "x.csv") == [point]


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("llama-2-7b,h100-sxm,fp9,1,batch,8,128,512,40,8", "x.csv:2: precision"),
        ("llama-2-7b,h100-sxm,fp8,1,static,8,128,512,40,8", "x.csv:2: load_type"),
        ("llama-2-7b,h100-sxm,fp8,1.5,batch,8,128,512,40,8", "x.csv:2: tp"),
        ("llama-2-7b,h100-sxm,fp8,1,batch,8,0,512,40,8", "x.csv:2: input_tokens"),
        ("llama-2-7b,h100-sxm,fp8,1,batch,8,128,512,fast,8", "x.csv:2: ttft_ms"),
        (",h100-sxm,fp8,1,batch,8,128,512,40,8", "x.csv:2: model"),
    ],
)
def test_bad_rows_name_line_and_column(row: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        parse_curves(HEADER + row + "\n", "x.csv")


def test_unknown_column_is_rejected() -> None:
    with pytest.raises(InputError, match="unknown column"):
        parse_curves(HEADER.strip() + ",colour\n", "x.csv")


def test_bundled_store_holds_every_published_row() -> None:
    # shared/data: 2,540 rows, one of which (the talk's prefill/decode example) states no output
    # length and cannot be placed on a curve.
    assert bundled_store().size == 2539


def test_user_rows_replace_the_bundled_group(tmp_path: Path) -> None:
    mine = tmp_path / "mine.csv"
    mine.write_text(HEADER + "LLaMA v2 7B,H100,fp8,1,batch,8,128,128,1,1\n")
    store = load_store([mine])
    group = store.curves("llama-2-7b", "h100-sxm")[("llama-2-7b", "h100-sxm", "fp8", 1, "batch", 8)]
    assert [p.ttft_ms for p in group] == [1]
    assert group[0].raw_model == "LLaMA v2 7B"


def test_user_rows_with_unknown_gpu_fail(tmp_path: Path) -> None:
    mine = tmp_path / "mine.csv"
    mine.write_text(HEADER + "llama-2-7b,h1000,fp8,1,batch,8,128,128,1,1\n")
    with pytest.raises(InputError, match=r"mine\.csv:2: gpu.*did you mean"):
        load_store([mine])
