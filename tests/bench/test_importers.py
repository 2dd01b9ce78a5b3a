"""Importers turn real files of other tools (tests/data, see its README) into curve rows that
plan --bench accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from llmsize.benchdb.importers import MeasuredOn, detect, import_file
from llmsize.benchdb.schema import read_curve_file
from tests.cli.helpers import assert_one_line_error, run

DATA = Path(__file__).resolve().parents[1] / "data"
HW = MeasuredOn("llama-3-8b", "h100-sxm", 1, "bf16")


def test_aiperf_concurrency_and_rate() -> None:
    [c] = import_file(DATA / "aiperf_concurrency" / "profile_export_aiperf.json", HW)
    assert (c.load_type, c.load_value, c.input_tokens, c.output_tokens) == (
        "concurrency",
        4,
        64,
        16,
    )
    assert c.ttft_ms == pytest.approx(24.2485, rel=1e-4)  # ms, as AIPerf reports
    assert c.itl_ms == pytest.approx(5.0955, rel=1e-4) and c.req_s == pytest.approx(36.05, rel=1e-3)
    [r] = import_file(DATA / "aiperf_rate" / "profile_export_aiperf.json", HW)
    assert (r.load_type, r.load_value) == ("rate", 20)


def test_guidellm_converts_seconds_and_uses_itl_not_tpot() -> None:
    [g] = import_file(DATA / "guidellm" / "benchmarks.json", HW)
    raw = json.loads((DATA / "guidellm" / "benchmarks.json").read_text())["benchmarks"][0][
        "metrics"
    ]
    assert (g.load_type, g.load_value) == ("concurrency", 4)
    assert g.e2e_ms == pytest.approx(raw["request_latency"]["successful"]["mean"] * 1000)  # s -> ms
    assert g.itl_ms == pytest.approx(raw["inter_token_latency_ms"]["successful"]["mean"])
    assert g.itl_ms != pytest.approx(raw["time_per_output_token_ms"]["successful"]["mean"])


@pytest.mark.parametrize(
    ("name", "load"),
    [
        ("aiperf_vllm_concurrency/profile_export_aiperf.json", ("concurrency", 4)),
        ("aiperf_vllm_rate/profile_export_aiperf.json", ("rate", 8)),
        ("guidellm_vllm/benchmarks.json", ("concurrency", 4)),
    ],
)
def test_files_measured_against_real_vllm_import(name: str, load: tuple[str, float]) -> None:
    """AIPerf 0.13.0 and GuideLLM 0.8.1 run against vLLM 0.32.0's CPU build serving the tiny
    model of scripts/real_engine (issue 13; tests/data/README.md has the commands): what a user's
    files look like, not a mock's. 128 tokens in, 32 out were asked."""
    [row] = import_file(DATA / name, HW)
    assert (row.load_type, row.load_value) == load
    assert row.input_tokens == pytest.approx(128, rel=0.1)
    assert row.output_tokens == pytest.approx(32, rel=0.15)
    assert row.ttft_ms and row.itl_ms and row.req_s
    assert 0 < row.itl_ms < row.ttft_ms < 1000  # a tiny model on one CPU core
    text = (DATA / name).read_text()
    assert '"tiny"' in text  # the served model name of the check


VLLM = (
    DATA
    / "vllm"
    / "vllm_200prompts16qps_DeepSeek-R1-Distill-Llama-8B_sharegpt_1xNVIDIA-H100-PCIe.json"
)


def test_vllm_result_means_per_request_lengths_and_tpot() -> None:
    [v] = import_file(VLLM, MeasuredOn("llama-3.1-8b", "h100-pcie", 1, "fp16"))
    assert (v.load_type, v.load_value) == ("rate", 16)
    # mean lengths, rounded to 2 decimals like every curve row
    assert (v.input_tokens, v.output_tokens) == (round(41169 / 200, 2), round(42322 / 200, 2))
    assert v.ttft_ms == pytest.approx(24.1535, rel=1e-4)
    assert v.itl_ms == pytest.approx(12.2428, rel=1e-4)  # vLLM's TPOT: first token excluded
    assert v.req_s == pytest.approx(10.1223, rel=1e-4)


def test_detection() -> None:
    for name, fmt in (
        ("aiperf_rate/profile_export_aiperf.json", "aiperf"),
        ("guidellm/benchmarks.json", "guidellm"),
    ):
        assert detect(json.loads((DATA / name).read_text())) == fmt
    assert detect(json.loads(VLLM.read_text())) == "vllm" and detect([1]) is None


@pytest.mark.parametrize(
    "name", ["aiperf_concurrency/profile_export_aiperf.json", "guidellm/benchmarks.json"]
)
def test_imported_rows_feed_plan(name: str, tmp_path: Path) -> None:
    out = tmp_path / "curves.csv"
    result = run(
        "import", str(DATA / name), "--out", str(out), "--gpu", "h100-sxm", "--model", "llama-3-8b"
    )
    assert result.exit_code == 0, result.output
    [row] = read_curve_file(out)
    usecase = tmp_path / "uc.yaml"
    usecase.write_text(
        yaml.safe_dump(
            {
                "model": "llama-3-8b",
                "input_tokens": round(row.input_tokens),
                "output_tokens": round(row.output_tokens),
                "latency": {"last_token_ms": 5000},
                "load": {"peak_rps": 10},
                "hardware": {"server": "dgx-h100", "precision": "bf16"},
            }
        )
    )
    planned = run("plan", str(usecase), "--bench", str(out), "--json")
    assert planned.exit_code == 0, planned.output  # accepted
    expected_mode = "inflight" if row.load_type == "concurrency" else "static"
    assert json.loads(planned.stdout)["recommendation"]["mode"] == expected_mode
    if row.input_tokens == round(row.input_tokens):  # exact lengths: the measured row answers
        measured = run("plan", str(usecase), "--bench", str(out), "--source", "measured", "--json")
        rec = json.loads(measured.stdout)["recommendation"]
        assert rec["provenance"] == "measured" and rec["source"] == row.source_id


def test_import_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    assert_one_line_error(run("import", str(bad), "--out", "o.csv", "--gpu", "h100-sxm"), "--from")
    bad.write_text("not json")
    assert_one_line_error(
        run("import", str(bad), "--out", "o.csv", "--gpu", "h100-sxm"), "not JSON"
    )
    good = str(DATA / "guidellm" / "benchmarks.json")
    assert_one_line_error(run("import", good, "--out", "o.csv", "--gpu", "h1"), "--gpu")
    assert_one_line_error(
        run("import", good, "--out", "o.csv", "--gpu", "l40s", "--from", "csv"), "--from"
    )
    assert_one_line_error(
        run("import", good, "--out", "o.csv", "--gpu", "l40s", "--from", "vllm"),
        "not a vLLM result",
    )


def test_the_served_model_is_read_where_each_tool_writes_it() -> None:
    """GuideLLM 0.8 writes it under each benchmark's config.backend; the rows said '?'."""
    unnamed = MeasuredOn(None, "h100-sxm", 1, "bf16")
    [g] = import_file(DATA / "guidellm_vllm" / "benchmarks.json", unnamed)
    [a] = import_file(DATA / "aiperf_vllm_rate" / "profile_export_aiperf.json", unnamed)
    [v] = import_file(VLLM, unnamed)
    assert (g.model, a.model) == ("tiny", "tiny")
    assert v.model == "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"


def test_a_file_that_names_no_model_is_refused_naming_the_flag(tmp_path: Path) -> None:
    raw = json.loads(VLLM.read_text())
    del raw["model_id"]
    unnamed = tmp_path / "vllm.json"
    unnamed.write_text(json.dumps(raw))
    args = ("import", str(unnamed), "--out", str(tmp_path / "o.csv"), "--gpu", "h100-sxm")
    assert_one_line_error(run(*args, "--from", "vllm"), "--model", "names no served model")
    assert not (tmp_path / "o.csv").exists()
    assert run(*args, "--from", "vllm", "--model", "llama-3.1-8b").exit_code == 0
