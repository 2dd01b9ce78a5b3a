"""Cold-process time of this checkout against an earlier commit, on the same machine in one run.

Run: python benchmarks/versus.py REV [--runs N]
Checks REV out into a temporary git worktree and times fresh `python -m llmsize ...` processes of
both, alternating (so a busy machine slows both alike), for --help and `plan` on the shipped
examples. Prints median and minimum per side and the change; exits 1 when a median of this
checkout is more than 10 % slower. Results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "help": ["--help"],
    "plan-seed": ["plan", str(ROOT / "examples/usecases/seed-nemo-43b.yaml")],
    "plan-all-servers": ["plan", str(ROOT / "examples/usecases/rag-compare-all.yaml")],
    "plan-405b": ["plan", str(ROOT / "examples/usecases/llama-3.1-405b-batch.yaml")],
}
SLOWER = 1.10


def run_once(args: list[str], src: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "llmsize", *args], env=env, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("rev", help="the earlier commit to compare with")
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    worse = False
    with tempfile.TemporaryDirectory() as scratch:
        other = Path(scratch) / "other"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other), options.rev],
            check=True,
            capture_output=True,
        )
        try:
            print(f"{'case':18} {options.rev[:10]:>10} median/min   this median/min   change")
            for name, args in CASES.items():
                times: dict[str, list[float]] = {"then": [], "now": []}
                run_once(args, other / "src")
                run_once(args, ROOT / "src")
                for _ in range(options.runs):
                    times["then"].append(run_once(args, other / "src"))
                    times["now"].append(run_once(args, ROOT / "src"))
                then, now = (statistics.median(times[k]) for k in ("then", "now"))
                change = (now / then - 1) * 100
                flag = "SLOWER" if now > then * SLOWER else "ok"
                worse = worse or flag != "ok"
                print(
                    f"{name:18} {then:8.3f}/{min(times['then']):.3f}    "
                    f"{now:8.3f}/{min(times['now']):.3f}   {change:+5.0f} %  {flag}"
                )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)],
                capture_output=True,
            )
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
