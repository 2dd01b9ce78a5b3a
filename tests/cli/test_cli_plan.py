"""`llmsize plan` end to end on the shipped examples, JSON, the CI gate and bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.helpers import assert_one_line_error, run
from tests.conftest import EXAMPLES


def test_seed_example_recommends_13_dgx_h100() -> None:
    # GTC S62797 worked example: 31 req/s / 2.4 req/s per DGX H100 -> 13 DGX H100.
    result = run("plan", str(EXAMPLES / "seed-nemo-43b.yaml"))
    assert result.exit_code == 0, result.output
    assert "Recommendation: 13 × dgx-h100" in result.output
    assert "measured" in result.output and "S62797" in result.output


def test_each_cost_line_names_the_server_count_it_prices() -> None:
    """The replayed answer can need fewer servers than the steady state; each cost line prices
    the count that type is answered with and says it was replayed."""
    result = run("plan", str(EXAMPLES / "llama-70b-chat-2026.yaml"), "--json")
    doc = json.loads(result.stdout)
    counts = {p["server"]: p["answered_servers"] for p in doc["alternatives"] if p.get("servers")}
    text = run("plan", str(EXAMPLES / "llama-70b-chat-2026.yaml")).output
    lines = [line for line in text.splitlines() if line.startswith("Cost: ")]
    assert len(lines) == len(counts) >= 2
    for server, n in counts.items():
        assert any(line.startswith(f"Cost: {n} x {server} (replayed) $") for line in lines)


def test_json_document_has_the_documented_keys() -> None:
    result = run("plan", str(EXAMPLES / "seed-nemo-43b.yaml"), "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1
    assert {
        "peak_rps",
        "avg_rps",
        "input_tokens_total",
        "output_tokens",
        "alternatives",
        "latency_optimal",
    } <= set(doc)
    rec = doc["recommendation"]
    assert {
        "server",
        "gpu",
        "servers",
        "precision",
        "tp",
        "batch",
        "ttft_ms",
        "itl_ms",
        "e2e_ms",
        "rps_per_server",
        "source",
    } <= set(rec)
    assert (rec["server"], rec["servers"], rec["rps_per_server"]) == ("dgx-h100", 13, 2.4)
    assert (doc["peak_rps"], doc["input_tokens_total"], doc["output_tokens"]) == (31, 3500, 500)


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_shipped_example_plans(example: str) -> None:
    result = run("plan", str(EXAMPLES / example), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["recommendation"]["servers"] >= 1


def test_talk_examples_use_the_talks_throughput_points() -> None:
    # GTC S62797: Llama-2-7B TP1 BS64 65.6 prompts/s; Llama-2-70B TP4 BS128 11.2 prompts/s.
    for name, tp, batch, rps in (
        ("llama-2-7b-chat", 1, 64, 65.6),
        ("llama-2-70b-chat", 4, 128, 11.2),
    ):
        path = str(EXAMPLES / f"{name}.yaml")
        doc = json.loads(run("plan", path, "--json", "--source", "measured").stdout)
        rec = doc["recommendation"]
        assert (rec["tp"], rec["batch"], rec["rps_per_server"], rec["servers"]) == (
            tp,
            batch,
            rps,
            1,
        )


def test_max_servers_gate_exits_3() -> None:
    result = run("plan", str(EXAMPLES / "seed-nemo-43b.yaml"), "--max-servers", "12")
    assert result.exit_code == 3
    assert "over --max-servers 12" in result.stderr
    assert run("plan", str(EXAMPLES / "seed-nemo-43b.yaml"), "--max-servers", "13").exit_code == 0


def test_no_configuration_within_limits_exits_1_with_reasons(
    write_usecase: Callable[..., Path],
) -> None:
    result = run("plan", str(write_usecase({"latency.first_token_ms": 100})))
    assert result.exit_code == 1
    assert "No configuration meets the limits" in result.output
    assert "TTFT 2606 ms > 100 ms" in result.output


def test_no_data_says_what_is_missing(write_usecase: Callable[..., Path]) -> None:
    path = write_usecase({"hardware.server": "mi300x-server"})
    result = run("plan", str(path), "--json", "--source", "measured")
    assert result.exit_code == 1
    alt = json.loads(result.stdout)["alternatives"][0]
    assert alt["status"] == "no_data"
    assert alt["reasons"] == ["no measurements of nemo-gpt-43b on mi300x"]


def test_the_model_answers_where_nothing_was_measured(write_usecase: Callable[..., Path]) -> None:
    path = write_usecase({"hardware.server": "mi300x-server"})
    result = run("plan", str(path), "--json")
    assert result.exit_code == 0, result.output
    rec = json.loads(result.stdout)["recommendation"]
    assert rec["provenance"] == "modelled"
    assert "borrowed" in rec["source"] and "error unknown" in rec["note"]


def test_user_bench_rows_win(tmp_path: Path, write_usecase: Callable[..., Path]) -> None:
    bench = tmp_path / "mine.csv"
    bench.write_text(
        "model,gpu,precision,tp,load_type,load_value,input_tokens,output_tokens,ttft_ms,itl_ms,"
        "source_id\nnemo-gpt-43b,h100-sxm,bf16,2,batch,16,3500,500,2500,20,my-lab\n"
    )
    result = run("plan", str(write_usecase()), "--bench", str(bench), "--json")
    rec = json.loads(result.stdout)["recommendation"]
    # 4 instances x 16 / (2.5 s + 499 x 20 ms) = 5.12 req/s per server -> ceil(31 / 5.12) = 7.
    assert (rec["source"], rec["tp"], rec["servers"]) == ("my-lab", 2, 7)


BAD_INPUTS = [
    ("malformed YAML", {"raw": "model: [oops\n"}, "not valid YAML"),
    ("wrong type", {"input_tokens": "lots"}, "input_tokens"),
    ("zero", {"output_tokens": 0}, "output_tokens"),
    ("negative", {"load.peak_rps": -3}, "load.peak_rps"),
    ("unknown key", {"latency.first_token": 5}, "did you mean 'first_token_ms'"),
    ("both alternatives", {"input_words": 100}, "either input_tokens or input_words"),
    ("neither alternative", {"input_tokens": None}, "give input_tokens"),
    ("absurd length", {"input_tokens": 50000}, "context window"),
    ("unknown model", {"model": "nemo-gtp-43b"}, "did you mean 'nemo-gpt-43b'"),
    ("unknown server", {"hardware.server": "dgx-h1000"}, "did you mean 'dgx-h100'"),
    ("bad precision", {"hardware.precision": "fp64"}, "hardware.precision"),
]


@pytest.mark.parametrize(
    ("label", "change", "fragment"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_input_is_one_line_exit_2(
    label: str, change: dict[str, object], fragment: str, write_usecase: Callable[..., Path]
) -> None:
    raw = change.pop("raw", None) if "raw" in change else None
    path = write_usecase(raw=raw) if raw is not None else write_usecase(change)
    assert_one_line_error(run("plan", str(path)), fragment)


def test_missing_file_and_bad_flags(tmp_path: Path) -> None:
    assert_one_line_error(run("plan", str(tmp_path / "nope.yaml")), "does not exist")
    example = str(EXAMPLES / "seed-nemo-43b.yaml")
    assert_one_line_error(run("plan", example, "--max-servers", "0"), "--max-servers")
    assert_one_line_error(run("plan", example, "--max-servers", "many"), "--max-servers")
    assert_one_line_error(run("plan", example, "--bench", str(tmp_path / "x.csv")), "x.csv")
    assert_one_line_error(run("plan", example, "--jsn"), "--jsn")


def test_a_batch_job_is_sized_for_throughput_over_its_window() -> None:
    """examples/usecases/overnight-batch-job.yaml: two million requests in 8 hours need 69.4
    req/s of throughput; no latency limit, no Poisson peak and no replay (its requests queue),
    and rented servers are paid for the window only."""
    result = run("plan", str(EXAMPLES / "overnight-batch-job.yaml"), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["peak_source"] == "batch" and doc["avg_rps"] is None
    assert doc["peak_rps"] == pytest.approx(2_000_000 / (8 * 3600))
    assert doc["batch_job"] == {
        "requests_per_day": 2_000_000,
        "tokens_per_day": None,
        "window_hours": 8,
    }
    assert set(doc["limits"].values()) == {None}
    rec = doc["recommendation"]
    assert rec["servers"] * rec["rps_per_server"] >= doc["peak_rps"]
    assert (rec["servers"] - 1) * rec["rps_per_server"] < doc["peak_rps"]
    assert doc["headline"]["method"] != "replay"
    for alt in doc["alternatives"]:
        if "cost_per_month_usd" in alt:
            assert alt["billed_hours_per_day"] == 8
            hours = 730 * 8 / 24
            assert alt["cost_per_month_usd"] == pytest.approx(
                alt["servers"] * alt["server_usd_per_hour"] * hours, rel=1e-6
            )


def test_a_row_without_a_measured_error_says_why_under_the_table() -> None:
    """gpt-oss-120b on H100 is planned with attention data parallelism, a layout no calibration
    run covers: its ±err cell says 'unval.' (it said '?', explained nowhere) and the caption
    under the table names the server and why; rows with a measured error show it."""
    out = run("plan", str(EXAMPLES / "gpt-oss-120b-chat.yaml"), "--method", "peak")
    assert out.exit_code == 0
    rows = {line.split()[0]: line for line in out.stdout.splitlines() if "fit vllm" in line}
    assert "unval." in rows["dgx-h100"] and "TP1×DP4" in rows["dgx-h100"]
    assert "unval." not in rows["dgx-b200"] and " %" in rows["dgx-b200"]
    assert (
        "unval. dgx-h100: error unknown (no calibration measurements of attention data "
        "parallelism)" in " ".join(out.stdout.split())
    )
