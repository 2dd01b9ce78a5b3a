"""Cold-process wall time of `llmsize --help` and `llmsize plan` against targets and a baseline.

Run: python benchmarks/cold_start.py [--runs N] [--update-baseline]
Prints median/min/max per command, the target, the recorded baseline and the change; exits 1 when
a median misses its target. Results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = HERE / "baseline.json"

CASES: dict[str, tuple[list[str], float]] = {
    # issue 2: --help under 0.3 s, plan under 0.6 s
    "help": (["--help"], 0.3),
    "plan-seed": (["plan", str(ROOT / "examples/usecases/seed-nemo-43b.yaml")], 0.6),
    # (the steady-state planner alone: --method peak, as the default was before issue 12)
    "plan-all-servers": (
        ["plan", str(ROOT / "examples/usecases/rag-compare-all.yaml"), "--method", "peak"],
        0.6,
    ),
    # issue 3: configs over the full TP x batch grid and plan across all server types with the
    # model filling every gap, under 1 s each
    "configs-full-grid": (
        [
            "configs",
            "--model",
            "llama-3-8b",
            "--gpu",
            "h100-sxm",
            "--input-tokens",
            "1000",
            "--output-tokens",
            "1000",
            "--source",
            "model",
        ],
        1.0,
    ),
    "plan-all-models-405b": (
        ["plan", str(ROOT / "examples/usecases/llama-3.1-405b-batch.yaml"), "--method", "peak"],
        1.0,
    ),
    # issue 11: today's models (MLA + 256 experts; MXFP4 experts + sliding windows), read from
    # their bundled config.json, planned on four and three server types: under 1 s each
    "plan-deepseek-r1": (
        ["plan", str(ROOT / "examples/usecases/deepseek-r1-reasoning.yaml"), "--method", "peak"],
        1.0,
    ),
    "plan-gpt-oss-120b": (
        ["plan", str(ROOT / "examples/usecases/gpt-oss-120b-chat.yaml"), "--method", "peak"],
        1.0,
    ),
    # issue 12: the default plan of a continuous-batching use case replays its candidates in the
    # digital twin (every server type's best two); a three-server-type chat case under 3 s, the
    # all-server-types case (21 types) under 8 s
    "plan-70b-chat-replayed": (
        ["plan", str(ROOT / "examples/usecases/llama-70b-chat-2026.yaml")],
        3.0,
    ),
    "plan-all-servers-replayed": (
        ["plan", str(ROOT / "examples/usecases/rag-compare-all.yaml")],
        8.0,
    ),
    # issue 14: a batch job (two million requests overnight) on three server types: sized for
    # throughput by the steady-state planner (no replay), under 1 s like the other such plans
    "plan-batch-job": (["plan", str(ROOT / "examples/usecases/overnight-batch-job.yaml")], 1.0),
    # issue 14: a chat case with a cached 6,000-token system prompt on three server types,
    # replayed in the twin with each replica's prefix cache, under 3 s like the other replays
    "plan-cached-prompt": (
        ["plan", str(ROOT / "examples/usecases/chat-cached-system-prompt.yaml")],
        3.0,
    ),
    # issue 14: DeepSeek-R1 decoding speculatively with its MTP layer, on two server types,
    # replayed in the twin, under 3 s like the other replays
    "plan-deepseek-mtp": (
        ["plan", str(ROOT / "examples/usecases/deepseek-r1-mtp.yaml")],
        3.0,
    ),
    # issue 14: DeepSeek-R1 on a GB200 NVL72 rack and DGX B200, replayed in the twin and with
    # the disaggregated search beside it (xPyD units, layouts of both pools), under 3 s
    "plan-disaggregated": (
        [
            "plan",
            str(ROOT / "examples/usecases/deepseek-r1-disaggregated-gb200.yaml"),
            "--disaggregated",
        ],
        3.0,
    ),
}


def time_command(args: list[str], runs: int) -> list[float]:
    """Wall seconds of fresh `python -m llmsize ARGS` processes (one warm-up run discarded)."""
    command = [sys.executable, "-m", "llmsize", *args]
    subprocess.run(command, capture_output=True, check=False)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(args)} exited {done.returncode}: {done.stderr.decode()}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--update-baseline", action="store_true")
    options = parser.parse_args()
    baseline: dict[str, float] = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    medians: dict[str, float] = {}
    failed = False
    header = f"{'case':<18}{'median s':>10}{'min':>8}{'max':>8}{'target':>8}"
    print(f"{header}{'baseline':>10}{'change':>9}")
    for name, (args, target) in CASES.items():
        times = time_command(args, options.runs)
        median = statistics.median(times)
        medians[name] = round(median, 4)
        base = baseline.get(name)
        change = f"{(median / base - 1) * 100:+.0f} %" if base else "—"
        verdict = "ok" if median <= target else "OVER TARGET"
        failed = failed or median > target
        print(
            f"{name:<18}{median:>10.3f}{min(times):>8.3f}{max(times):>8.3f}{target:>8.2f}"
            f"{base if base else '—':>10}{change:>9}  {verdict}"
        )
    if options.update_baseline:
        BASELINE.write_text(json.dumps(medians, indent=2) + "\n")
        print(f"baseline written to {BASELINE}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
