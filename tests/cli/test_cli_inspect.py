"""`llmsize model inspect`: how a model was read, as a user asks from the shell."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import assert_one_line_error, run
from tests.conftest import LLAMA_3_8B_CONFIG


def test_inspect_json_has_the_documented_keys() -> None:
    result = run("model", "inspect", "deepseek-ai/DeepSeek-V3", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    for key in ("total_params", "active_params", "kv_bytes_per_token", "layers", "ignored"):
        assert key in doc
    assert doc["kv_bytes_per_token"]["bf16"] == 70_272
    assert [(x["count"], x["mixer"], x["ffn"]) for x in doc["layers"]] == [
        (3, "mla", "dense"),
        (58, "mla", "moe"),
    ]
    assert any(item.startswith("n_group") for item in doc["ignored"])


def test_inspect_reads_a_config_file_and_by_short_id(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(LLAMA_3_8B_CONFIG))
    result = run("model", "inspect", str(path))
    assert result.exit_code == 0, result.output
    assert "32 × full attention + dense" in result.stdout
    assert run("model", "inspect", "gpt-oss-120b").exit_code == 0


def test_inspect_of_an_unknown_model_is_one_line() -> None:
    assert_one_line_error(run("model", "inspect", "lama-3-8b"), "did you mean")


def test_inspect_of_an_unrepresentable_model_names_the_field() -> None:
    assert_one_line_error(run("model", "inspect", "deepseek-ai/DeepSeek-V4-Pro"), "compress_ratios")


def test_estimate_says_whether_the_math_is_native_or_emulated() -> None:
    args = ["--model", "gpt-oss-120b", "--tp", "1", "--batch", "8", "--input-tokens", "1000"]
    args += ["--output-tokens", "100", "--json"]
    hopper = json.loads(run("estimate", "--gpu", "h100-sxm", *args).stdout)
    blackwell = json.loads(run("estimate", "--gpu", "b200", *args).stdout)
    assert hopper["precision"] == "mxfp4" and hopper["math"].startswith("bf16 (mxfp4 weights")
    assert blackwell["math"] == "fp4 (native on b200)"


def test_catalog_lists_the_bundled_configs_with_refusals() -> None:
    result = run("catalog", "models", "--bundled", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["rows"]}
    assert len(rows) == 71
    assert rows["deepseek-ai/DeepSeek-R1"]["precision"] == "fp8-block"
    assert "compress_ratios" in rows["deepseek-ai/DeepSeek-V4-Pro"]["refused"]
    assert "Bundled models" in run("catalog", "models", "--bundled").stdout


def test_bad_kv_precision_is_one_line() -> None:
    base = ["estimate", "--model", "llama-3-8b", "--gpu", "h100-sxm", "--tp", "1", "--batch", "1"]
    base += ["--input-tokens", "100", "--output-tokens", "10"]
    assert_one_line_error(run(*base, "--kv-precision", "fp6"), "--kv-precision")
    assert_one_line_error(run(*base, "--kv-precision", "nvfp4"), "--kv-precision", "FP4")


def test_inspect_of_a_bad_config_file_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "config.json"
    broken.write_text('{"model_type": "llama", "hidden_size": "4096"}')
    assert_one_line_error(run("model", "inspect", str(broken)), "hidden_size")
    assert_one_line_error(run("model", "inspect", str(tmp_path / "missing.json")), "does not exist")
