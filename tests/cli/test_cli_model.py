"""`estimate`, `configs`, `calibrate`, `accuracy` through the CLI, and `plan` on every catalogued
model and server type."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from llmsize.catalog import load_catalog
from tests.cli.helpers import assert_one_line_error, run

ESTIMATE = [
    "estimate",
    "--model",
    "llama-2-70b",
    "--gpu",
    "h100-sxm",
    "--tp",
    "4",
    "--batch",
    "128",
    "--input-tokens",
    "128",
    "--output-tokens",
    "512",
    "--mode",
    "static",
]
CURVES = Path(__file__).resolve().parents[2] / "src" / "llmsize" / "data" / "curves.csv"


def test_estimate_json_keys_and_measured_first() -> None:
    result = run(*ESTIMATE, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {
        "ttft_ms",
        "itl_ms",
        "e2e_ms",
        "rps_per_server",
        "output_tokens_per_s_per_gpu",
        "fits",
        "max_batch",
        "source",
    } <= set(doc)
    assert doc["provenance"] == "measured" and "S62797" in doc["source"]  # the talk's own row
    modelled = json.loads(run(*ESTIMATE, "--json", "--source", "model").stdout)
    assert modelled["provenance"] == "modelled" and modelled["fits"]
    assert modelled["e2e_ms"] == pytest.approx(modelled["ttft_ms"] + 511 * modelled["itl_ms"])


def test_estimate_that_does_not_fit_exits_1_with_numbers() -> None:
    result = run(
        "estimate",
        "--model",
        "llama-3.1-405b",
        "--gpu",
        "l40s",
        "--tp",
        "8",
        "--batch",
        "1",
        "--input-tokens",
        "128",
        "--output-tokens",
        "128",
        "--json",
    )
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["fits"] is False and doc["ttft_ms"] is None
    assert "weights need" in doc["reason"] and doc["memory_needed_gib_per_gpu"] > 43


def test_estimate_from_a_config_json(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "model_type": "llama",
                "hidden_size": 2048,
                "intermediate_size": 5632,
                "num_attention_heads": 32,
                "num_hidden_layers": 22,
                "num_key_value_heads": 4,
                "vocab_size": 32000,
                "max_position_embeddings": 2048,
            }
        )
    )
    result = run(
        "estimate",
        "--model",
        str(config),
        "--gpu",
        "l40s",
        "--tp",
        "1",
        "--batch",
        "8",
        "--input-tokens",
        "512",
        "--output-tokens",
        "128",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["provenance"] == "modelled"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--tp", "3"], "TP3"),
        (["--tp", "0"], "--tp"),
        (["--precision", "fp8", "--gpu", "a100-sxm-80gb"], "no FP8"),
        (["--precision", "fp2"], "--precision"),
        (["--gpu", "h100-sxn"], "did you mean 'h100-sxm'"),
        (["--model", "lama-2-70b"], "did you mean 'llama-2-70b'"),
        (["--model", "missing/config.json"], "does not exist"),
        (["--engine", "vlm"], "did you mean"),
        (["--mode", "dynamic"], "--mode"),
        (["--calibration", "nope.yaml"], "cannot read calibration"),
    ],
)
def test_estimate_bad_flags(args: list[str], fragment: str) -> None:
    base = list(ESTIMATE)
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag in base:
            base[base.index(flag) + 1] = value
        else:
            base += [flag, value]
    assert_one_line_error(run(*base), fragment)


def test_configs_marks_both_optima_within_limits() -> None:
    result = run(
        "configs",
        "--model",
        "llama-2-70b",
        "--gpu",
        "h100-sxm",
        "--input-tokens",
        "128",
        "--output-tokens",
        "512",
        "--first-token-ms",
        "2000",
        "--json",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    best, fastest = doc["throughput_optimal"], doc["latency_optimal"]
    assert best["ttft_ms"] <= 2000 and fastest["ttft_ms"] <= 2000
    feasible = [c for c in doc["configs"] if "over limits" not in c["marks"]]
    assert best["rps_per_server"] == max(c["rps_per_server"] for c in feasible)
    assert fastest["ttft_ms"] == min(c["ttft_ms"] for c in feasible)
    assert {c["tp"] for c in doc["configs"]} >= {2, 4, 8}
    assert (
        run(
            "configs",
            "--model",
            "llama-2-70b",
            "--gpu",
            "h100-sxm",
            "--input-tokens",
            "128",
            "--output-tokens",
            "512",
            "--first-token-ms",
            "1",
        ).exit_code
        == 1
    )


def test_configs_bad_input() -> None:
    assert_one_line_error(
        run(
            "configs",
            "--model",
            "llama-2-7b",
            "--gpu",
            "h100-sxm",
            "--input-tokens",
            "4000",
            "--output-tokens",
            "512",
        ),
        "context window",
    )
    assert_one_line_error(
        run(
            "configs",
            "--model",
            "llama-2-7b",
            "--gpu",
            "h100-sxm",
            "--input-tokens",
            "100",
            "--output-tokens",
            "100",
            "--first-token-ms",
            "-5",
        ),
        "--first-token-ms",
    )


def _subset(tmp_path: Path, source_id: str, model: str) -> Path:
    with CURVES.open(encoding="utf-8") as handle:
        rows = [
            r for r in csv.DictReader(handle) if r["source_id"] == source_id and r["model"] == model
        ]
    out = tmp_path / "subset.csv"
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out


def test_calibrate_writes_a_usable_file(tmp_path: Path) -> None:
    data = _subset(tmp_path, "DLI_NIM_GENAIPERF", "llama-3-8b")
    out = tmp_path / "params.yaml"
    result = run("calibrate", str(data), "--out", str(out), "--engine", "my-nim", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["after"]["itl"]["median"] <= doc["before"]["itl"]["median"]
    assert yaml.safe_load(out.read_text())["default_engine"] == "my-nim"
    estimate = run(
        "estimate",
        "--model",
        "llama-3-8b",
        "--gpu",
        "h100-sxm",
        "--tp",
        "1",
        "--batch",
        "50",
        "--input-tokens",
        "2000",
        "--output-tokens",
        "200",
        "--mode",
        "inflight",
        "--calibration",
        str(out),
        "--source",
        "model",
        "--json",
    )
    assert estimate.exit_code == 0, estimate.output
    assert "my-nim" in json.loads(estimate.stdout)["source"]


def test_calibrate_formats(tmp_path: Path) -> None:
    """CSV holds one row per fitted group; Markdown a field table and the groups."""
    data = _subset(tmp_path, "DLI_NIM_GENAIPERF", "llama-3-8b")
    args = ("calibrate", str(data), "--out", str(tmp_path / "p.yaml"))
    rows = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv").stdout)))
    assert {(r["gpu"], r["precision"]) for r in rows} >= {("h100-sxm", "fp8")}
    assert all(float(r["params.e_compute"]) > 0 for r in rows)
    markdown = run(*args, "--format", "markdown", "--force").stdout
    assert "| after.itl.median |" in markdown and "## groups" in markdown
    assert_one_line_error(run(*args, "--format", "xml"), "--format")


def test_calibrate_and_accuracy_bad_input(tmp_path: Path) -> None:
    assert_one_line_error(run("calibrate", str(tmp_path / "x.csv"), "--out", "p.yaml"), "x.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("model,gpu,precision,load_type,input_tokens,output_tokens,ttft_ms\n")
    assert_one_line_error(
        run("calibrate", str(empty), "--out", str(tmp_path / "p.yaml")), "no rows"
    )
    assert_one_line_error(run("accuracy", "--data", str(empty)), "at least two curves")
    assert_one_line_error(run("accuracy", "--folds", "1"), "--folds")


def test_accuracy_on_user_data(tmp_path: Path) -> None:
    data = _subset(tmp_path, "DLI_TRTLLM_v0.9.0", "llama-2-13b")
    result = run("accuracy", "--data", str(data), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["rows"] > 100 and doc["overall"]["itl"]["median"] < 50
    assert set(doc["per_gpu"]) >= {"h100-sxm", "a100-sxm-80gb"}


@pytest.mark.parametrize("model", [m.id for m in load_catalog().models.entries])
def test_plan_answers_every_model_on_every_server(model: str, tmp_path: Path) -> None:
    path = tmp_path / "uc.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model": model,
                "input_tokens": 512,
                "output_tokens": 256,
                "latency": {"last_token_ms": 120_000},
                "load": {"peak_rps": 5},
            }
        )
    )
    doc = json.loads(run("plan", str(path), "--json").stdout)
    assert len(doc["alternatives"]) == len(load_catalog().servers.entries)
    for alt in doc["alternatives"]:
        if alt["status"] == "planned":
            assert alt["servers"] >= 1 and alt["provenance"] in {
                "measured",
                "interpolated",
                "modelled",
            }
        else:
            assert alt["reasons"], alt  # precisely why not: does not fit, no FP8, ...
