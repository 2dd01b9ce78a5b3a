"""Simulator speed: 100,000 and 1,000,000 requests (128 in / 512 out, 8 replicas, Poisson at 90 %
of the steady-state capacity), and `plan --method simulate` on every shipped example.

Run: python benchmarks/sim_speed.py [--skip-million]. Prints wall seconds against the targets of
issue 4 (2 s, 20 s, 10 s per example) and exits 1 when one is missed. One process, one core:
the simulator is pure Python.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from llmsize.catalog import load_catalog
from llmsize.perf.calibration import shipped_calibration
from llmsize.perf.roofline import Setup, inflight_times
from llmsize.sim.run import Traffic, TwinSetup, run, summarise
from llmsize.workload import Lengths

ROOT = Path(__file__).resolve().parent.parent


def near_saturation(requests: int) -> tuple[float, str]:
    catalog = load_catalog()
    model, gpu = catalog.models.get("llama-3-8b", "m"), catalog.gpus.get("h100-sxm", "g")
    params = shipped_calibration().resolve(None, gpu, "fp8", catalog).params
    setup = Setup(model, gpu, 1, "fp8", 8)
    capacity = max(inflight_times(setup, params, c, 128, 512).instance_rps for c in (64, 128, 256))
    traffic = Traffic(
        requests=requests,
        input_tokens=Lengths(128),
        output_tokens=Lengths(512),
        rate=0.9 * capacity * 8,
        seed=1,
    )
    start = time.perf_counter()
    outcome = run(TwinSetup(model, gpu, 1, "fp8", 8, 8, params), traffic)
    elapsed = time.perf_counter() - start
    r = summarise(outcome, traffic)
    detail = (
        f"rate {traffic.rate:.0f} req/s, mean batch {r.mean_batch:.0f}/replica, "
        f"TTFT p95 {r.ttft_ms.p95:.0f} ms, ITL mean {r.itl_ms.mean:.1f} ms"
    )
    return elapsed, detail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-million", action="store_true")
    options = parser.parse_args()
    failed = False
    cases = [(100_000, 2.0)] + ([] if options.skip_million else [(1_000_000, 20.0)])
    for requests, target in cases:
        elapsed, detail = near_saturation(requests)
        verdict = "ok" if elapsed <= target else "OVER TARGET"
        failed |= elapsed > target
        print(
            f"simulate {requests:>9,} requests  {elapsed:6.2f} s  (target {target:g} s)  "
            f"{verdict}  {detail}"
        )
    for example in sorted((ROOT / "examples" / "usecases").glob("*.yaml")):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "llmsize", "plan", str(example), "--method", "simulate"],
            capture_output=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        verdict = "ok" if elapsed <= 10 and done.returncode in (0, 1) else "OVER TARGET"
        failed |= verdict != "ok"
        print(
            f"plan --method simulate {example.name:<28} {elapsed:6.2f} s  (target 10 s)  {verdict}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
