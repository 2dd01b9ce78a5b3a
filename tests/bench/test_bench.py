"""The load generator against a mock server started on 127.0.0.1 by the test."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from llmsize.api import bench
from llmsize.bench.results import curve_points
from llmsize.benchdb.schema import read_curve_file
from tests.bench.conftest import RunningMock
from tests.cli.helpers import assert_one_line_error, run

Start = Callable[..., RunningMock]


def test_measures_known_timing(mock_server: Start) -> None:
    mock = mock_server(ttft_ms=40, itl_ms=8)
    result = bench(mock.url, "mock", 64, 20, concurrency="4", requests=40)
    level = result.levels[0].run
    assert level.requests == 40 and level.errors == 0
    assert level.ttft_ms.p50 == pytest.approx(40, abs=5)
    assert level.itl_ms.p50 == pytest.approx(8, abs=1)
    assert result.levels[0].mean_output_tokens == 20
    assert result.levels[0].mean_prompt_tokens == pytest.approx(64, abs=1)  # calibrated prompts


def test_itl_and_e2e_end_at_the_last_token_not_at_the_answers_end(mock_server: Start) -> None:
    """The README's definitions: E2E ends at the last token, ITL is the mean gap after the
    first. A server that sends the usage chunk, [DONE] and the body's end 200 ms after the last
    token (as vLLM's busy front end did in CI, 14 % of ITL apart from an independent client)
    does not stretch them: they used to end at the answer's last byte (ITL 8 + 200 / 19 ms).
    The closed loop still re-issues after the answer's end."""
    mock = mock_server(ttft_ms=40, itl_ms=8, tail_ms=200)
    result = bench(mock.url, "mock", 64, 20, concurrency="2", requests=8)
    level = result.levels[0].run
    assert level.requests == 8 and level.errors == 0
    assert level.itl_ms.p50 == pytest.approx(8, abs=1)
    assert level.e2e_ms.p50 == pytest.approx(40 + 19 * 8, abs=10)
    records = [r for r in result.runs[0].records if not r.warmup]
    assert all(r.end - r.last_token >= 0.19 for r in records)  # the tail, kept in the record


def test_poisson_rate_is_kept_over_1000_requests(mock_server: Start) -> None:
    mock = mock_server(ttft_ms=2, itl_ms=1)
    result = bench(mock.url, "mock", 16, 3, rate="250", requests=1000, seed=1)
    level = result.levels[0].run
    assert level.requests == 1000
    assert level.achieved_rps == pytest.approx(250, rel=0.05)
    assert result.levels[0].dispatch_lag_ms["p50"] < 5


def test_injected_faults_are_counted_exactly(mock_server: Start) -> None:
    mock = mock_server(
        ttft_ms=5,
        itl_ms=2,
        error_rate=0.1,
        stall_rate=0.05,
        cut_rate=0.1,
        malformed_rate=0.1,
        seed=3,
    )
    result = bench(mock.url, "mock", 16, 10, concurrency="8", requests=200, warmup=0, timeout_s=1.0)
    kinds = result.levels[0].errors_by_kind
    faults = mock.server.faults
    assert kinds.get("http_5xx", 0) == faults["error"]
    assert kinds.get("timeout", 0) == faults["stall"]
    assert kinds.get("dropped_stream", 0) == faults["cut"]
    assert kinds.get("malformed_chunk", 0) == faults["malformed"]
    assert result.levels[0].run.requests + sum(kinds.values()) == 200


def test_curve_rows_feed_plan_calibrate_and_accuracy(mock_server: Start, tmp_path: Path) -> None:
    """The loop of the README: bench -> calibrate -> plan --bench --calibration."""
    mock = mock_server(ttft_ms=30, itl_ms=6)
    out = tmp_path / "m.csv"
    result = run(
        "bench",
        "--url",
        mock.url,
        "--model",
        "llama-3-8b",
        "--gpu",
        "h100-sxm",
        "--input-tokens",
        "256",
        "--output-tokens",
        "32",
        "--concurrency",
        "1,4,16",
        "--requests",
        "48",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [lv["concurrency"] for lv in doc["levels"]] == [1, 4, 16]
    for lv in doc["levels"]:
        assert {"requests", "errors", "achieved_rps"} <= set(lv)
        for key in ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms"):
            assert set(lv[key]) == {"mean", "p50", "p90", "p95", "p99"}
    rows = read_curve_file(out)
    assert len(rows) == 3 * 5 and rows[0].source_id == "llmsize-bench"  # a row per statistic
    assert [r.latency_stat for r in rows[:5]] == ["mean", "p50", "p90", "p95", "p99"]
    warmups = 4 + 4 + 16  # the default: one per stream, at least 4
    lines = out.with_suffix(".jsonl").read_text().splitlines()
    assert len(lines) == 1 + 3 * 48 + warmups + 1  # the run line, every request, the end line
    params = tmp_path / "p.yaml"
    assert run("calibrate", str(out), "--out", str(params)).exit_code == 0
    usecase = tmp_path / "uc.yaml"
    usecase.write_text(
        yaml.safe_dump(
            {
                "model": "llama-3-8b",
                "input_tokens": 256,
                "output_tokens": 32,
                "latency": {"first_token_ms": 500},
                "load": {"peak_rps": 50},
                "hardware": {"server": "dgx-h100", "precision": "bf16"},
            }
        )
    )
    planned = run("plan", str(usecase), "--bench", str(out), "--calibration", str(params), "--json")
    assert planned.exit_code == 0, planned.output
    rec = json.loads(planned.stdout)["recommendation"]
    assert rec["mode"] == "inflight"  # the measured rows are closed-loop runs
    assert rec["provenance"] in {"measured", "modelled"}
    measured = run("plan", str(usecase), "--bench", str(out), "--source", "measured", "--json")
    rec = json.loads(measured.stdout)["recommendation"]
    assert (rec["provenance"], rec["source"], rec["tp"]) == ("measured", "llmsize-bench", 1)
    # the limits hold at p95 (the default), so the p95 rows answered, and the citation says so
    cited = " ".join(rec["citations"])
    assert "p95" in cited and " mean" not in cited
    fitted = run(
        "estimate",
        "--model",
        "llama-3-8b",
        "--gpu",
        "h100-sxm",
        "--tp",
        "1",
        "--batch",
        "4",
        "--input-tokens",
        "256",
        "--output-tokens",
        "32",
        "--mode",
        "inflight",
        "--source",
        "model",
        "--calibration",
        str(params),
        "--json",
    )
    assert "llmsize-bench fit on h100-sxm" in json.loads(fitted.stdout)["source"]


UNREACHABLE = [
    "bench",
    "--url",
    "http://127.0.0.1:9/v1",
    "--model",
    "m",
    "--input-tokens",
    "10",
    "--output-tokens",
    "10",
]
"""A bench with a server nobody listens on: bad flags must be refused before it is tried."""


def test_bad_flags() -> None:
    base = UNREACHABLE
    assert_one_line_error(run(*base), "exactly one of --rate or --concurrency")
    assert_one_line_error(run(*base, "--rate", "2,x"), "--rate")
    assert_one_line_error(run(*base, "--concurrency", "1.5"), "--concurrency")
    assert_one_line_error(run(*base, "--rate", "1", "--out", "x.csv"), "--gpu")
    assert_one_line_error(run(*base, "--rate", "1", "--api", "grpc"), "--api")
    assert_one_line_error(
        run(
            "bench",
            "--url",
            "ftp://x",
            "--model",
            "m",
            "--input-tokens",
            "1",
            "--output-tokens",
            "1",
            "--rate",
            "1",
        ),
        "--url",
    )
    assert_one_line_error(run(*base, "--rate", "1"), "cannot reach")


def test_curve_points_carry_provenance() -> None:
    from datetime import date

    from llmsize.bench.results import Measured
    from llmsize.metrics import Distribution, RunResult

    d = Distribution.of([10.0, 12.0])
    run_result = RunResult("measured", "rate", 2.0, 2, 0, 1.0, d, d, d, 2.0, 40.0)
    rows = curve_points(
        [Measured(run_result, {}, {}, 100.0, 20.0)],
        "http://h:1/v1",
        "m",
        "l40s",
        2,
        "fp8",
        date(2026, 1, 2),
    )
    assert rows[0].source == "llmsize 0.1.0 bench of h:1 (model m) on 2026-01-02"
    assert (rows[0].tp, rows[0].load_type, rows[0].req_s) == (2, "rate", 2.0)


def test_stop_keeps_what_was_measured(mock_server: Start) -> None:
    """What Ctrl-C does (SIGINT sets the same event): no new requests, measured ones kept."""
    import asyncio

    from llmsize.bench.client import Endpoint
    from llmsize.bench.prompts import PromptMaker
    from llmsize.bench.runner import BenchPlan, Level, Stop, run_plan

    mock = mock_server(ttft_ms=5, itl_ms=5)
    plan = BenchPlan(Endpoint(mock.url, "mock"), 16, 20, (Level("rate", 20.0),), requests=10_000)

    async def go() -> list[object]:
        stop = Stop()
        asyncio.get_running_loop().call_later(1.5, stop.event.set)
        return await run_plan(plan, PromptMaker(16), stop=stop)  # type: ignore[return-value]

    [level] = asyncio.run(go())
    assert level.stopped_early  # type: ignore[attr-defined]
    done = level.records  # type: ignore[attr-defined]
    assert 10 < len(done) < 100 and all(r.end for r in done)


def test_duration_bounds_a_level(mock_server: Start) -> None:
    mock = mock_server(ttft_ms=5, itl_ms=2)
    result = bench(mock.url, "mock", 16, 4, concurrency="2", duration_s=1.0, requests=None)
    assert 20 < result.levels[0].run.requests < 200


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--rate", "1e-300"),
        ("--rate", "nan"),
        ("--rate", "inf"),
        ("--concurrency", "100000000"),
        ("--concurrency", "2.5"),
        ("--warmup", "1000000000"),
        ("--shared-prefix", "10"),  # all of the 10 input tokens
    ],
)
def test_out_of_range_flags_never_start(flag: str, value: str) -> None:
    """Unbounded flags used to start (a schedule of 1e300 s, 1e9 warm-up requests built up front,
    `nan` sending everything at once); each is one line naming its flag, exit 2."""
    load = [] if flag in ("--rate", "--concurrency") else ["--concurrency", "1"]
    assert_one_line_error(run(*UNREACHABLE, *load, flag, value), flag)
