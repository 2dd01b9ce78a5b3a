"""Step 3 of the real-engine check: calibrate llmsize on some measured levels, then predict the
others with the steady-state model (`estimate --mode inflight`) and the twin (`simulate`), as a
user with their own device would: the device described in a user catalog (cpu-device.yaml), the
model given as its config.json, the rows those of `llmsize bench --out`."""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATALOG = HERE / "cpu-device.yaml"
GPU, SERVER, ENGINE = "cpu-core", "cpu-host", "vllm"
METRICS = ("ttft_ms", "itl_ms", "req_s")
SIMULATED_REQUESTS = 2000


def llmsize(*args: str) -> str:
    """The llmsize CLI with the check's device catalog; its stdout (an error names the call)."""
    command = [sys.executable, "-m", "llmsize", "--catalog", str(CATALOG), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"llmsize {' '.join(args[:1])} exited {done.returncode}: {done.stderr}")
    return done.stdout


def measured(rows: Sequence[Path]) -> dict[str, float]:
    """One level's figures as its curve rows state them (means), the median over its rounds,
    and the prompts' mean length as the server counted it."""
    values: dict[str, list[float]] = {m: [] for m in (*METRICS, "input_tokens")}
    for path in rows:
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["latency_stat"] != "mean":  # bench writes a row per statistic
                    continue
                for metric in values:
                    values[metric].append(float(row[metric]))
    return {m: statistics.median(v) for m, v in values.items()}


def calibrate(rows: Sequence[Path], out: Path) -> dict[str, object]:
    """Fit the vLLM profile on this device to the rows; the fit's own account of itself."""
    document = json.loads(
        llmsize("calibrate", *map(str, rows), "--out", str(out), "--engine", ENGINE, "--json")
    )
    (group,) = document["groups"]  # one engine on one device in one precision
    return {
        "rows": document["rows"],
        "fitted_params": group["fitted_params"],
        "params": group["params"],
        "after": document["after"],
    }


def estimate(
    model: Path, calibration: Path, concurrency: int, tokens: tuple[int, int]
) -> dict[str, float]:
    """The steady-state model's figures for one closed-loop level."""
    document = json.loads(
        llmsize(
            "estimate",
            "--model",
            str(model),
            "--gpu",
            GPU,
            "--server",
            SERVER,
            "--tp",
            "1",
            "--batch",
            str(concurrency),
            "--input-tokens",
            str(tokens[0]),
            "--output-tokens",
            str(tokens[1]),
            "--mode",
            "inflight",
            "--engine",
            ENGINE,
            "--source",
            "model",
            "--calibration",
            str(calibration),
            "--json",
        )
    )
    return {
        "ttft_ms": float(document["ttft_ms"]),
        "itl_ms": float(document["itl_ms"]),
        "req_s": float(document["rps_per_server"]),
    }


def simulate(
    model: Path, calibration: Path, concurrency: int, tokens: tuple[int, int], work: Path
) -> dict[str, float]:
    """The twin's figures for one closed-loop level on one replica (means, as the rows)."""
    usecase = work / "tiny-cpu.yaml"
    usecase.write_text(
        f"name: tiny-cpu\nmodel: {model}\ninput_tokens: {tokens[0]}\n"
        f"output_tokens: {tokens[1]}\nlatency:\n  first_token_ms: 60000\n"
        f"load:\n  avg_rps: 1\nhardware:\n  server: [{SERVER}]\n  precision: [bf16]\n",
        encoding="utf-8",
    )
    document = json.loads(
        llmsize(
            "simulate",
            str(usecase),
            "--server",
            SERVER,
            "--tp",
            "1",
            "--replicas",
            "1",
            "--concurrency",
            str(concurrency),
            "--requests",
            str(SIMULATED_REQUESTS),
            "--engine",
            ENGINE,
            "--calibration",
            str(calibration),
            "--json",
        )
    )
    result = document["result"]
    return {
        "ttft_ms": float(result["ttft_ms"]["mean"]),
        "itl_ms": float(result["itl_ms"]["mean"]),
        "req_s": float(result["achieved_rps"]),
    }


def errors(predicted: dict[str, float], actual: dict[str, float]) -> dict[str, float]:
    """Signed relative error of each prediction against the measurement."""
    return {m: predicted[m] / actual[m] - 1 for m in METRICS}
