"""`llmsize show` over a saved run, and `simulate --measured` beside it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import assert_one_line_error, run
from tests.conftest import EXAMPLES

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "llmsize_bench" / "results.jsonl"
USECASE = str(EXAMPLES / "llama-2-70b-chat.yaml")


def test_table_lists_every_level() -> None:
    result = run("show", str(FIXTURE))
    assert result.exit_code == 0, result.output
    assert "concurrency 2" in result.stdout and "concurrency 8" in result.stdout
    assert "120 answered requests" in result.stdout


def test_one_level_as_json_matches_the_mock_timing() -> None:
    """The fixture was measured against serve-mock --ttft-ms 80 --itl-ms 12."""
    doc = json.loads(run("show", str(FIXTURE), "--level", "8", "--json").stdout)
    (level,) = doc["levels"]
    assert level["concurrency"] == 8 and level["requests"] == 60
    assert 80 <= level["ttft_ms"]["p50"] < 85
    assert 11.9 <= level["itl_ms"]["p50"] < 12.2


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run("show", str(tmp_path / "none.jsonl")), "does not exist")
    assert_one_line_error(run("show", str(FIXTURE), "--level", "3"), "--level", "concurrency 8")
    assert_one_line_error(run("show", str(FIXTURE), "--percentile", "2"), "--percentile")


def test_simulation_beside_a_measured_level() -> None:
    args = ("simulate", USECASE, "--concurrency", "8", "--requests", "300")
    table = run(*args, "--measured", str(FIXTURE), "--measured-level", "concurrency 8")
    assert table.exit_code == 0, table.output
    assert "Simulated vs measured concurrency 8" in table.stdout
    assert "Not the same experiment" in table.stdout  # the mock is not a 70B model
    doc = json.loads(
        run(*args, "--measured", str(FIXTURE), "--measured-level", "8", "--json").stdout
    )
    assert doc["measured"]["level"] == "measured concurrency 8"
    assert doc["measured"]["requests"] == 60


def test_measured_needs_one_level() -> None:
    args = ("simulate", USECASE, "--requests", "100")
    assert_one_line_error(run(*args, "--measured", str(FIXTURE)), "--measured-level", "name one")
    assert_one_line_error(run(*args, "--measured-level", "8"), "needs --measured")


def test_simulate_measured_runs_one_replica_like_the_measured_endpoint() -> None:
    """It compared a one-endpoint run with eight simulated replicas without a word (issue 13)."""
    args = ("simulate", USECASE, "--concurrency", "8", "--requests", "200", "--json")
    compared = ("--measured", str(FIXTURE), "--measured-level", "8")
    doc = json.loads(run(*args, *compared).stdout)
    assert doc["deployment"]["replicas"] == 1
    fleet = run(*args[:-1], *compared, "--servers", "2")
    assert "simulated replicas against one measured endpoint" in fleet.stdout
    assert_one_line_error(run(*args, "--replicas", "100000"), "--replicas")


def test_simulate_measured_says_when_the_set_ups_differ(tmp_path: Path) -> None:
    """A run measured on one GPU and TP compared with a twin of another is not like for like:
    the run's first line says what ran (bench --gpu --tp --precision) and simulate names the
    difference; a run that did not record it says that instead (issue 13)."""
    args = ("simulate", USECASE, "--concurrency", "8", "--requests", "200", "--json")
    compared = ("--measured-level", "8")
    unknown = json.loads(run(*args, "--measured", str(FIXTURE), *compared).stdout)
    assert "does not say what ran" in unknown["measured"]["unlike"][0]
    header = {"run": {"model": "llama-3-8b", "gpu": "l40s", "tp": 1, "precision": "fp8"}}
    end = {"run_end": {"complete": True}}
    tagged = tmp_path / "tagged.jsonl"
    records = FIXTURE.read_text().splitlines()
    tagged.write_text("\n".join([json.dumps(header), *records, json.dumps(end)]) + "\n")
    doc = json.loads(run(*args, "--measured", str(tagged), *compared).stdout)
    simulated = doc["deployment"]
    unlike = doc["measured"]["unlike"]
    assert f"GPU l40s measured, {simulated['gpu']} simulated" in unlike
    assert f"TP 1 measured, {simulated['tp']} simulated" in unlike
    table = run(*args[:-1], "--measured", str(tagged), *compared)
    assert "not like for like: GPU l40s measured" in table.stdout
