"""A bench run's records survive it (issue 13): appended as requests complete, so SIGINT,
SIGTERM and SIGHUP keep every request up to then, with the ones in flight counted as
interrupted, the run marked partial in every output and a non-zero exit; exit codes say whether
some or all requests failed; credentials never reach an output or a header."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from llmsize.bench.records_file import read_runs
from llmsize.benchdb.schema import read_curve_file
from llmsize.cli.bench import BENCH_ALL_FAILED, BENCH_SOME_FAILED, BENCH_STOPPED
from tests.bench.conftest import RunningMock
from tests.cli.helpers import assert_one_line_error, run

Start = Callable[..., RunningMock]
PROBES = 2


def _bench_args(url: str, out: Path, *extra: str) -> list[str]:
    return [
        "bench",
        "--url",
        url,
        "--model",
        "llama-3-8b",
        "--gpu",
        "h100-sxm",
        "--input-tokens",
        "32",
        "--output-tokens",
        "20",
        "--out",
        str(out),
        "--json",
        *extra,
    ]


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_keeps_every_request_and_marks_the_run_partial(
    mock_server: Start, tmp_path: Path, name: str
) -> None:
    mock = mock_server(ttft_ms=100, itl_ms=20)
    out = tmp_path / "run.csv"
    args = _bench_args(mock.url, out, "--concurrency", "8", "--requests", "100000")
    process = subprocess.Popen(
        [sys.executable, "-m", "llmsize", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    records = out.with_suffix(".jsonl")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until a few requests are recorded
        if records.exists() and len(records.read_text().splitlines()) > 12:
            break
        time.sleep(0.1)
    process.send_signal(getattr(signal, name))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == BENCH_STOPPED, stderr
    lines = _lines(records)
    end = lines[-1]["run_end"]
    assert isinstance(end, dict)
    assert end["complete"] is False and end["reason"] == f"stopped by {name}"
    requests = [row for row in lines if "level" in row]
    assert end["outcomes"]["interrupted"] >= 1
    assert len(requests) == mock.server.requests - PROBES  # every request sent, recorded once
    assert len({row["index"] for row in requests}) == len(requests)
    rows = read_curve_file(out)
    assert rows and all("PARTIAL run (stopped by" in (r.notes or "") for r in rows)
    assert all(r.stopped_early for r in read_runs(records))


def test_a_file_cut_short_by_a_kill_reads_as_partial(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    row = {"index": 0, "sent_ms": 0.0, "end_ms": 5.0, "first_token_ms": 1.0, "level": "rate 1"}
    path.write_text(json.dumps({"run": {"url": "x"}}) + "\n" + json.dumps(row) + "\n")
    assert all(r.stopped_early for r in read_runs(path))
    path.write_text(
        path.read_text() + json.dumps({"run_end": {"complete": True, "reason": None}}) + "\n"
    )
    assert not any(r.stopped_early for r in read_runs(path))


def test_exit_codes_say_whether_some_or_all_requests_failed(
    mock_server: Start, tmp_path: Path
) -> None:
    some = mock_server(ttft_ms=2, itl_ms=1, error_rate=0.3, seed=1)
    result = run(
        *_bench_args(some.url, tmp_path / "a.csv", "--concurrency", "4", "--requests", "40")
    )
    assert result.exit_code == BENCH_SOME_FAILED
    every = mock_server(ttft_ms=2, itl_ms=1, error_rate=1.0)
    result = run(
        *_bench_args(every.url, tmp_path / "b.csv", "--concurrency", "4", "--requests", "20")
    )
    assert result.exit_code == BENCH_ALL_FAILED
    doc = json.loads(result.stdout)
    assert doc["levels"][0]["errors_by_kind"] == {"http_5xx": 20}


def test_credentials_in_the_url_reach_no_output(mock_server: Start, tmp_path: Path) -> None:
    mock = mock_server(ttft_ms=2, itl_ms=1)
    secret_url = mock.url.replace("http://", "http://user:SECRET@")
    out = tmp_path / "c.csv"
    result = run(*_bench_args(secret_url, out, "--concurrency", "2", "--requests", "4"))
    assert result.exit_code == 0, result.output
    for text in (result.stdout, out.read_text(), out.with_suffix(".jsonl").read_text()):
        assert "SECRET" not in text
    assert "SECRET" not in " ".join(mock.server.hosts)  # the Host header carried no userinfo


def test_an_api_key_with_a_carriage_return_is_refused_unshown(
    mock_server: Start, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mock = mock_server(ttft_ms=2, itl_ms=1)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-TOPSECRET\r")
    result = run(*_bench_args(mock.url, tmp_path / "k.csv", "--concurrency", "1"))
    assert_one_line_error(result, "OPENAI_API_KEY")
    assert "TOPSECRET" not in result.output
    assert not (tmp_path / "k.jsonl").exists()


def test_an_out_named_like_its_records_is_refused(mock_server: Start, tmp_path: Path) -> None:
    mock = mock_server(ttft_ms=2, itl_ms=1)
    result = run(*_bench_args(mock.url, tmp_path / "x.jsonl", "--concurrency", "1"))
    assert_one_line_error(result, "--jsonl")


def test_connections_and_a_warm_up_come_before_the_measured_requests(
    mock_server: Start,
) -> None:
    from llmsize.api import bench

    mock = mock_server(ttft_ms=2, itl_ms=1)
    result = bench(mock.url, "m", 8, 2, concurrency="6", requests=12, timeout_s=10)
    records = result.runs[0].records
    assert sum(r.warmup for r in records) == 6  # one per stream by default
    assert sum(not r.warmup for r in records) == 12
    assert mock.server.requests == PROBES + 18


@pytest.mark.parametrize("load", [{"rate": "50"}, {"concurrency": "4"}])
def test_a_client_that_falls_behind_marks_its_level_unreliable(
    mock_server: Start, load: dict[str, str]
) -> None:
    """A closed loop's request is due when the previous answer ended (it used to be stamped when
    the worker resumed, so a slow re-issue never showed); a blocked client is caught either way."""
    from llmsize.api import bench

    mock = mock_server(ttft_ms=200, itl_ms=2)  # 5 % of it: 10 ms of the client's own delay

    def blocking(*_: object) -> None:
        time.sleep(0.06)  # the event loop stalls after every answer

    slow = bench(mock.url, "m", 8, 4, requests=30, warmup=0, sink=blocking, **load)  # type: ignore[arg-type]
    level = slow.levels[0]
    assert not level.reliable and "late" in (level.unreliable or "")
    fine = bench(mock.url, "m", 8, 4, requests=30, warmup=0, **load)  # type: ignore[arg-type]
    assert fine.levels[0].reliable, fine.levels[0].unreliable


def test_the_served_name_is_apart_from_the_catalog_model_and_the_engine_is_recorded(
    mock_server: Start, tmp_path: Path
) -> None:
    from llmsize import __version__

    mock = mock_server(ttft_ms=2, itl_ms=1, model="my-llama")
    out = tmp_path / "s.csv"
    args = _bench_args(mock.url, out, "--concurrency", "1", "--requests", "4")
    result = run(*args, "--served-model", "my-llama")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["server"] == f"llmsize-mock {__version__}"
    row = read_curve_file(out)[0]
    assert row.model == "llama-3-8b" and f"(llmsize-mock {__version__})" in row.source
    end = _lines(out.with_suffix(".jsonl"))[-1]["run_end"]
    assert end["server"] == f"llmsize-mock {__version__}"  # type: ignore[index]


def test_rows_for_a_model_the_catalog_lacks_are_refused_before_the_run(
    mock_server: Start, tmp_path: Path
) -> None:
    """They used to be written under the served name, and plan --bench skipped them silently."""
    mock = mock_server(ttft_ms=2, itl_ms=1)
    args = _bench_args(mock.url, tmp_path / "r.csv", "--concurrency", "1")
    args[args.index("--model") + 1] = "my-llama"
    result = run(*args)
    assert_one_line_error(result, "--model")
    assert mock.server.requests == 0 and not (tmp_path / "r.jsonl").exists()
