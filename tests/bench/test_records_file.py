"""The per-request JSONL is the whole run: reading it back reproduces every statistic bench
printed, exactly, and bad files get one line naming the file and line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from llmsize.bench.records_file import read_runs, select
from llmsize.errors import InputError
from tests.bench.conftest import RunningMock
from tests.cli.helpers import run

Start = Callable[..., RunningMock]
FIXTURE = Path(__file__).resolve().parent.parent / "data" / "llmsize_bench" / "results.jsonl"


def test_show_recomputes_what_bench_printed(mock_server: Start, tmp_path: Path) -> None:
    mock = mock_server(ttft_ms=25, itl_ms=5)
    out = tmp_path / "run.csv"
    measured = run(
        "bench",
        "--url",
        mock.url,
        "--model",
        "llama-3-8b",
        "--gpu",
        "h100-sxm",
        "--input-tokens",
        "64",
        "--output-tokens",
        "8",
        "--concurrency",
        "1,4",
        "--requests",
        "24",
        "--warmup",
        "2",
        "--out",
        str(out),
        "--json",
    )
    assert measured.exit_code == 0, measured.output
    shown = run("show", str(out.with_suffix(".jsonl")), "--json")
    assert shown.exit_code == 0, shown.output
    # The file keeps milliseconds to 3 decimals: statistics agree to that precision.
    for bench_level, show_level in zip(
        json.loads(measured.stdout)["levels"], json.loads(shown.stdout)["levels"], strict=True
    ):
        assert bench_level["requests"] == show_level["requests"] == 24
        for key in ("ttft_ms", "itl_ms", "e2e_ms"):
            for stat, value in bench_level[key].items():
                assert show_level[key][stat] == pytest.approx(value, abs=2e-3), (key, stat)


def test_each_send_is_on_the_wall_clock_as_well(mock_server: Start, tmp_path: Path) -> None:
    mock = mock_server(ttft_ms=5, itl_ms=1)
    out = tmp_path / "run.csv"
    before = time.time()
    measured = run(
        "bench",
        "--url",
        mock.url,
        "--model",
        "llama-3-8b",
        "--gpu",
        "h100-sxm",
        "--input-tokens",
        "64",
        "--output-tokens",
        "4",
        "--rate",
        "50",
        "--requests",
        "12",
        "--warmup",
        "1",
        "--out",
        str(out),
    )
    after = time.time()
    assert measured.exit_code == 0, measured.output
    lines = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
    rows = [row for row in lines if "sent_ms" in row]
    assert len(rows) == 13
    for row in rows:
        assert before <= row["sent_unix_s"] <= after
    # Both clocks tell the same gaps between sends (to the file's rounding).
    first = rows[0]
    for row in rows[1:]:
        wall_gap_ms = (row["sent_unix_s"] - first["sent_unix_s"]) * 1e3
        assert wall_gap_ms == pytest.approx(row["sent_ms"] - first["sent_ms"], abs=0.01)


def test_levels_come_back_in_order_and_can_be_picked() -> None:
    runs = read_runs(FIXTURE)
    assert [r.level.label for r in runs] == ["concurrency 2", "concurrency 8"]
    assert all(len(r.records) == 60 for r in runs)
    assert select(runs, "8")[0].level.label == "concurrency 8"
    assert select(runs, "concurrency 2")[0].level.value == 2
    with pytest.raises(InputError, match="--level: unknown level 'rate 8'"):
        select(runs, "rate 8")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no request records"),
        ("not json\n", "line 1: not JSON"),
        ('{"index": 0}\n', "line 1: missing 'level'"),
        ("[1, 2]\n", "line 1: each line must be a JSON object"),
        ('{"level": "burst 3", "sent_ms": 0, "end_ms": 1}\n', "'rate N' or 'concurrency N'"),
        ('{"level": "rate 3", "sent_ms": "x", "end_ms": 1}\n', "'sent_ms' must be a number"),
    ],
)
def test_bad_files_name_the_line(text: str, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(text)
    with pytest.raises(InputError, match=fragment.replace("(", r"\(")) as info:
        read_runs(path)
    assert str(path) in str(info.value)
