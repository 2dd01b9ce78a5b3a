"""How exactly `llmsize bench` measures: against `llmsize serve-mock` (TTFT 60 ms, ITL 10 ms) in
its own process on 127.0.0.1, at Poisson 6 req/s and at concurrency 256.

Run: python benchmarks/bench_accuracy.py. Prints measured medians against the truth and the
targets of issue 5 (TTFT within 3 ms, ITL within 1 ms); exits 1 when one is missed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from llmsize.api import bench

TTFT, ITL = 60.0, 10.0
CASES = (
    ("Poisson 6 req/s", {"rate": "6", "requests": 150, "warmup": 10}),
    ("concurrency 256", {"concurrency": "256", "requests": 1536, "warmup": 256}),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmsize",
            "serve-mock",
            "--port",
            str(port),
            "--ttft-ms",
            str(TTFT),
            "--itl-ms",
            str(ITL),
        ],
        stderr=subprocess.DEVNULL,
    )
    failed = False
    try:
        time.sleep(1.5)
        for label, options in CASES:
            start = time.perf_counter()
            result = bench(f"http://127.0.0.1:{port}/v1", "mock", 128, 100, **options)  # type: ignore[arg-type]
            m = result.levels[0]
            r = m.run
            ttft_ok = abs(r.ttft_ms.p50 - TTFT) <= 3
            itl_ok = abs(r.itl_ms.p50 - ITL) <= 1
            failed |= not (ttft_ok and itl_ok)
            verdict = "ok" if ttft_ok else "MISSED"
            ttft = f"median TTFT {r.ttft_ms.p50:7.2f} ms (truth {TTFT:g}, {verdict})"
            itl = (
                f"median ITL {r.itl_ms.p50:6.3f} ms (truth {ITL:g}, {'ok' if itl_ok else 'MISSED'})"
            )
            rest = f"{r.requests} requests, {r.errors} errors, {r.achieved_rps:.1f} req/s"
            print(f"{label:<18} {ttft}  {itl}  {rest}, {time.perf_counter() - start:.0f} s")
    finally:
        server.terminate()
        server.wait(10)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
