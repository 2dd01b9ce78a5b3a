"""`llmsize simulate` and `plan --method simulate` through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.helpers import assert_one_line_error, run
from tests.conftest import EXAMPLES

SEED = str(EXAMPLES / "seed-nemo-43b.yaml")


def test_simulate_json_has_the_shared_result_model() -> None:
    result = run("simulate", SEED, "--requests", "600", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    res = doc["result"]
    for key in ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms"):
        assert set(res[key]) == {"mean", "p50", "p90", "p95", "p99"}
    assert res["rate"] == 31 and res["requests"] == 540  # 10 % warm-up not measured
    assert doc["deployment"]["server"] == "dgx-h100" and doc["broken"] == []
    again = json.loads(run("simulate", SEED, "--requests", "600", "--json").stdout)
    assert again["result"] == res  # same seed, same numbers


def test_simulate_closed_loop_and_explicit_deployment() -> None:
    result = run(
        "simulate",
        SEED,
        "--concurrency",
        "16",
        "--requests",
        "200",
        "--tp",
        "8",
        "--servers",
        "1",
        "--precision",
        "bf16",
        "--json",
    )
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    assert doc["result"]["concurrency"] == 16 and doc["deployment"]["tp"] == 8


def test_simulate_reports_missed_limits_with_exit_1(write_usecase: Callable[..., Path]) -> None:
    path = write_usecase({"latency.first_token_ms": 3000, "load.peak_rps": 200})
    result = run("simulate", str(path), "--servers", "1", "--requests", "400")
    assert result.exit_code == 1
    assert "Misses the limits at p95" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--rate", "2", "--concurrency", "3"], "at most one of"),
        (["--rate", "0"], "--rate"),
        (["--router", "random"], "--router"),
        (["--warmup", "900", "--requests", "100"], "--warmup"),
        (["--tp", "3"], "--tp"),
        (["--server", "dgx-h1000"], "did you mean 'dgx-h100'"),
        (["--trace", "missing.csv"], "cannot read trace"),
    ],
)
def test_simulate_bad_flags(args: list[str], fragment: str) -> None:
    assert_one_line_error(run("simulate", SEED, *args), fragment)


def test_percentile_field_is_validated(write_usecase: Callable[..., Path]) -> None:
    path = write_usecase({"latency.percentile": 0.97})
    assert_one_line_error(run("simulate", str(path)), "latency.percentile")


def test_length_spread_in_the_checklist(write_usecase: Callable[..., Path]) -> None:
    path = write_usecase({"input_tokens": {"mean": 3000, "stddev": 400}})
    doc = json.loads(run("simulate", str(path), "--requests", "300", "--json").stdout)
    assert doc["traffic"]["input_tokens"] == {"mean": 3000, "stddev": 400.0}
    bad = write_usecase({"input_tokens": {"mean": 3000, "spread": 400}})
    assert_one_line_error(run("plan", str(bad)), "input_tokens.spread")


def test_plan_method_simulate_prints_both_answers() -> None:
    result = run("plan", SEED, "--method", "simulate")
    assert result.exit_code == 0, result.output
    assert "Steady state (Poisson peak): 13 × dgx-h100" in result.stdout
    assert "Recommendation (replayed in the digital twin):" in result.stdout
    assert "Why they differ" in result.stdout
    doc = json.loads(run("plan", SEED, "--method", "simulate", "--json").stdout)
    assert doc["recommendation"]["servers"] == 13
    sim = doc["simulated"]["recommendation"]
    assert sim["provenance"] == "simulated" and 1 <= sim["servers"] <= 13
    assert sim["result"]["ttft_ms"]["p95"] <= 3000
    assert_one_line_error(run("plan", SEED, "--method", "guess"), "--method")


def test_a_mooncake_trace_replays_and_says_what_it_leaves_out(tmp_path: Path) -> None:
    trace = tmp_path / "mooncake.jsonl"
    lines = [
        f'{{"timestamp": {i * 200}, "input_length": 600, "output_length": 40, '
        f'"hash_ids": [0, {i + 1}]}}'
        for i in range(12)
    ]
    trace.write_text("\n".join(lines) + "\n")
    case = str(EXAMPLES / "llama-2-7b-chat.yaml")
    result = run("simulate", case, "--trace", str(trace), "--requests", "12", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["traffic"]["trace"] == str(trace)
    assert doc["traffic"]["trace_note"].startswith("11 requests of the trace share prompt blocks")
    shown = run("simulate", case, "--trace", str(trace), "--requests", "12")
    assert "each replica's prefix cache serves the blocks it holds" in shown.output


def test_simulate_over_seeds_gives_each_seeds_own_replay() -> None:
    """--seeds 3: seeds 4, 5, 6, each the replay a single --seed run gives; on two worker
    processes the same (each replay is seeded on its own)."""
    args = ("simulate", SEED, "--requests", "400", "--json", "--seed", "4")
    doc = json.loads(run(*args, "--seeds", "3").stdout)
    spread = doc["across_seeds"]
    assert spread["seeds"] == [4, 5, 6]
    for i, seed in enumerate(spread["seeds"]):
        single = json.loads(run(*args[:-1], str(seed)).stdout)["result"]
        assert spread["ttft_ms_at_percentile"][i] == single["ttft_ms"]["p95"]
        assert spread["e2e_ms_at_percentile"][i] == single["e2e_ms"]["p95"]
    assert doc["result"] == json.loads(run(*args).stdout)["result"]  # the first is the result
    assert len(set(spread["ttft_ms_at_percentile"])) > 1  # the seeds do differ
    parallel = json.loads(run(*args, "--seeds", "3", "--workers", "2").stdout)
    assert parallel["across_seeds"] == spread


def test_simulate_seeds_table_shows_the_spread() -> None:
    result = run("simulate", SEED, "--requests", "300", "--seeds", "2")
    assert result.exit_code in (0, 1), result.output
    assert "Across 2 seeds" in result.stdout and "TTFT p95 ms" in result.stdout


@pytest.mark.parametrize("value", ["0", "1001"])
def test_simulate_seeds_out_of_range_is_one_line(value: str) -> None:
    assert_one_line_error(run("simulate", SEED, "--seeds", value), "--seeds")


def test_simulate_seeds_on_a_ray_cluster_are_the_serial_replays(ray_head: str) -> None:
    args = ("simulate", SEED, "--requests", "300", "--json", "--seeds", "2")
    serial = json.loads(run(*args).stdout)
    on_ray = run(*args, "--ray", ray_head)
    assert on_ray.exit_code == 0, on_ray.output
    assert json.loads(on_ray.stdout)["across_seeds"] == serial["across_seeds"]


DISAGGREGATED = str(EXAMPLES / "deepseek-r1-disaggregated-gb200.yaml")


def test_simulate_disaggregated_runs_the_planned_pools_in_the_disaggregated_twin() -> None:
    """simulate --disaggregated: the steady state's disaggregated answer (the fewest servers, as
    plan --disaggregated sizes it) run in the disaggregated twin, its pools in the JSON, under
    the use case's engine (trtllm here, not the default)."""
    from llmsize.api import plan

    result = run("simulate", DISAGGREGATED, "--disaggregated", "--requests", "800", "--json")
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    d = doc["deployment"]
    assert d["serving_mode"] == "disaggregated" and d["kv_link"] in ("nvlink", "network")
    assert d["prefill"]["workers"] >= 1 and d["decode"]["workers"] >= 1
    assert "trtllm" in d["step_times"]
    options = plan(DISAGGREGATED, method="peak", disaggregated=True).disaggregated
    fewest = min(
        (o.choice for o in options if o.choice is not None and o.decode_server is None),
        key=lambda c: (c.servers, c.gpus),
    )
    assert (d["server"], d["servers"], d["layout"]) == (fewest.where, fewest.servers, fewest.label)
    assert doc["result"]["requests"] == 800 - 80
    table = run("simulate", DISAGGREGATED, "--disaggregated", "--requests", "400").stdout
    assert "disaggregated:" in table and "a decode worker" in table


def test_simulate_disaggregated_replays_a_trace() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "trace.csv"
        rows = [f"{i * 0.05:.2f},8000,200" for i in range(200)]
        trace.write_text("arrival_s,input_tokens,output_tokens\n" + "\n".join(rows) + "\n")
        result = run("simulate", DISAGGREGATED, "--disaggregated", "--trace", str(trace), "--json")
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    assert doc["traffic"]["trace"] == str(trace) and doc["result"]["requests"] == 200 - 20
    closed = run(
        "simulate", DISAGGREGATED, "--disaggregated", "--concurrency", "64", "--requests", "400",
        "--json",
    )  # fmt: skip
    assert closed.exit_code in (0, 1), closed.output
    assert json.loads(closed.stdout)["traffic"]["concurrency"] == 64


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--tp", "4"], "--tp"),
        (["--servers", "2"], "--servers"),
        (["--router", "least-outstanding"], "--disaggregated"),
        (["--measured", "x.jsonl"], "--measured"),
    ],
)
def test_simulate_disaggregated_refuses_what_it_does_not_run(
    args: list[str], fragment: str
) -> None:
    assert_one_line_error(run("simulate", DISAGGREGATED, "--disaggregated", *args), fragment)
