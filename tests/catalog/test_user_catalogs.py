"""User catalogs: --catalog files and the per-user folder add or override GPUs, servers and
models in the packaged schema, validated like the packaged ones (one line, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import assert_one_line_error, run

CPU = """
gpus:
  - id: cpu-avx2
    name: A 2-core AVX2 CPU as one device
    generation: cpu
    tflops: {bf16: 0.2, fp16: 0.2}
    memory_gb: 24
    bandwidth_tb_s: 0.02
    link: {kind: pcie, gb_s: 16}
    source: "this machine: lscpu and a STREAM run (example entry)"
servers:
  - id: cpu-box
    name: One CPU device
    gpu: cpu-avx2
    gpus: 1
    nvlink_domain: 1
    source: "this machine (example entry)"
models:
  - id: tiny-llama
    name: A tiny Llama for engine tests
    layers: 2
    hidden: 256
    heads: 4
    kv_heads: 2
    ffn: 688
    ffn_kind: gated
    vocab: 4096
    context_window: 2048
    source: "built locally (example entry)"
"""


def test_a_cpu_device_and_a_one_device_server(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(CPU)
    args = ["--catalog", str(path), "estimate", "--model", "tiny-llama", "--gpu", "cpu-avx2"]
    args += ["--server", "cpu-box", "--tp", "1", "--batch", "4", "--input-tokens", "128"]
    result = run(*args, "--output-tokens", "64", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["server"] == "cpu-box" and doc["fits"] and doc["ttft_ms"] > 0
    listed = json.loads(run("--catalog", str(path), "catalog", "servers", "--json").stdout)
    assert "cpu-box" in [r["id"] for r in listed["rows"]]
    # without the flag the entries are gone again (no state leaks between commands)
    assert_one_line_error(run(*args[2:], "--output-tokens", "64"), "--model", "tiny-llama")


def test_an_entry_with_a_packaged_id_overrides_it(tmp_path: Path) -> None:
    path = tmp_path / "h100.yaml"
    path.write_text(
        "gpus:\n  - id: h100-sxm\n    name: H100 with 192 GB\n    generation: hopper\n"
        "    tflops: {bf16: 989, fp16: 989, fp8: 1979}\n    memory_gb: 192\n"
        "    bandwidth_tb_s: 3.35\n    link: {kind: nvlink, gb_s: 900}\n"
        "    source: a what-if of our own\n"
    )
    args = ["estimate", "--model", "llama-3-70b", "--gpu", "h100-sxm", "--tp", "1"]
    args += ["--batch", "1", "--input-tokens", "1000", "--output-tokens", "100", "--json"]
    assert run(*args).exit_code == 1  # 140 GB of BF16 weights do not fit 80 GB
    doc = json.loads(run("--catalog", str(path), *args).stdout)
    assert doc["fits"] and doc["memory_usable_gib_per_gpu"] == pytest.approx(192 * 0.99 * 0.9)


def test_the_per_user_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "devices.yaml").write_text(CPU)
    monkeypatch.setenv("LLMSIZE_CATALOG_DIR", str(tmp_path))
    assert "cpu-avx2" in run("catalog", "gpus").stdout


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("gpus: 5\n", "expected a list"),
        ("gpu: []\n", "did you mean 'gpus'"),
        ("- 1\n", "a catalog file is a mapping"),
        ("gpus:\n  - id: x\n    name: y\n", "gpus[0]"),
        (CPU.replace("memory_gb: 24", "memory_gb: true"), "memory_gb"),
        (CPU.replace("gpu: cpu-avx2", "gpu: cpu-avx3"), "unknown gpu 'cpu-avx3'"),
        (CPU.replace("heads: 4\n", "heads: 3\n"), "heads"),
        (CPU + "gpus: []\n", "duplicate key"),
    ],
)
def test_bad_user_catalogs_are_one_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert_one_line_error(run("--catalog", str(path), "catalog", "gpus"), fragment)


ENGINE = """
engines:
  my-engine:
    allreduce_us: 40.0
    e_link: 0.2
groups:
  - engine: my-engine
    gpu: h100-sxm
    precision: fp8
    rows: 0
    params: {e_compute: 0.3, e_memory: 0.5}
"""


def test_an_engine_profile_of_your_own(tmp_path: Path) -> None:
    path = tmp_path / "engine.yaml"
    path.write_text(ENGINE)
    args = ["estimate", "--model", "llama-3-70b", "--gpu", "h100-sxm", "--tp", "4", "--batch", "8"]
    args += ["--input-tokens", "2000", "--output-tokens", "200", "--precision", "fp8", "--json"]
    shipped = json.loads(run(*args).stdout)
    mine = run("--catalog", str(path), *args, "--engine", "my-engine")
    assert mine.exit_code == 0, mine.output
    doc = json.loads(mine.stdout)
    assert "my-engine" in doc["source"] and doc["ttft_ms"] > shipped["ttft_ms"]
    assert_one_line_error(run(*args, "--engine", "my-engine"), "--engine")
    path.write_text(ENGINE.replace("e_link", "e_lnik"))
    assert_one_line_error(run("--catalog", str(path), *args), "unknown parameter")
