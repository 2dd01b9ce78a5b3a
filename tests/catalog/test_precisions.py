"""One precision table: every other place asks it, so a new precision is added in one place."""

from __future__ import annotations

import re
from pathlib import Path

from llmsize.catalog.precisions import PRECISIONS, TABLE, kv_bytes, weight_bytes
from llmsize.cli._options import PrecisionChoice

SOURCES = Path(__file__).resolve().parents[2] / "src" / "llmsize"


def test_the_flag_offers_exactly_the_table() -> None:
    assert {c.name_in_table for c in PrecisionChoice} == set(PRECISIONS) == set(TABLE)
    assert {c.value for c in PrecisionChoice} - set(PRECISIONS) == {"fp4"}


def test_bytes_follow_the_table() -> None:
    assert [weight_bytes(p) for p in ("bf16", "fp8", "int4")] == [2.0, 1.0, 0.5]
    assert kv_bytes("fp8") == 1.0 and kv_bytes("int4") == 2.0  # weight-only: 16-bit cache


def test_no_other_module_lists_precisions() -> None:
    listing = re.compile(r"""\(\s*"(bf16|fp16|fp8|int4)"\s*,\s*"(bf16|fp16|fp8|int4)"\s*[,)]""")
    found = [
        p.relative_to(SOURCES).as_posix()
        for p in SOURCES.rglob("*.py")
        if p.name != "precisions.py" and listing.search(p.read_text())
    ]
    assert found == []


def test_the_kv_flag_offers_exactly_the_kv_table() -> None:
    from llmsize.catalog.precisions import KV_PRECISIONS
    from llmsize.cli._options import KvChoice

    assert [c.value for c in KvChoice] == list(KV_PRECISIONS)
