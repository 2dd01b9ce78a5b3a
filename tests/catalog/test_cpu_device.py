"""The real-engine check's device, scripts/real_engine/cpu-device.yaml, is a user catalog a unit
test can read without vLLM: a CPU core with its KV cache set outright, vLLM's CPU scheduler
defaults (2,048 tokens, 128 sequences a step), and the tiny model given as its config.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.cli.helpers import run

ROOT = Path(__file__).resolve().parents[2]
DEVICE = ROOT / "scripts" / "real_engine" / "cpu-device.yaml"


def tiny_config(folder: Path) -> Path:
    sys.path.insert(0, str(DEVICE.parent))
    try:
        from tiny_model import CONFIG
    finally:
        sys.path.remove(str(DEVICE.parent))
    path = folder / "config.json"
    path.write_text(json.dumps(CONFIG))
    return path


def test_the_cpu_device_estimates_the_tiny_model(tmp_path: Path) -> None:
    config = tiny_config(tmp_path)
    args = ["--catalog", str(DEVICE), "estimate", "--model", str(config), "--gpu", "cpu-core"]
    args += ["--server", "cpu-host", "--tp", "1", "--batch", "8", "--input-tokens", "128"]
    result = run(*args, "--output-tokens", "64", "--engine", "vllm", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["fits"] and doc["mode"] == "inflight"
    # 1 GiB of cache (VLLM_CPU_KVCACHE_SPACE), not a share of the core's memory: 2,730 sequences
    # of 192 tokens at 2 KiB a token (4 layers x 2 KV heads x 64 x 2 x 2 bytes)
    assert doc["max_batch"] == 1024**3 // (192 * 4 * 2 * 64 * 2 * 2)


def test_the_twin_runs_vllms_cpu_scheduler(tmp_path: Path) -> None:
    config = tiny_config(tmp_path)
    usecase = tmp_path / "tiny.yaml"
    usecase.write_text(
        f"model: {config}\ninput_tokens: 128\noutput_tokens: 64\n"
        "latency:\n  first_token_ms: 60000\nload:\n  avg_rps: 1\n"
        "hardware:\n  server: [cpu-host]\n  precision: [bf16]\n"
    )
    args = ["--catalog", str(DEVICE), "simulate", str(usecase), "--server", "cpu-host"]
    result = run(*args, "--concurrency", "4", "--requests", "100", "--engine", "vllm", "--json")
    assert result.exit_code == 0, result.output
    deployment = json.loads(result.stdout)["deployment"]
    assert (deployment["max_step_tokens"], deployment["max_batch"]) == (2048, 128)
    assert deployment["chunked_prefill"] is True
