"""An independent minimal streaming client, written for the real-engine check only: raw asyncio
streams, no llmsize code, so that llmsize bench's figures are compared with a second opinion.

Closed loop: C workers each send their next request the moment the last one ends. Prompts are
token ids (the completions API takes them), unique per request. TTFT = first text chunk - send;
ITL = (last chunk - first chunk) / (chunks - 1).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figures:
    requests: int
    ttft_p50_ms: float
    itl_p50_ms: float


async def _one(
    host: str, port: int, model: str, prompt: list[int], output: int
) -> tuple[float, float]:
    body = json.dumps(
        {
            "model": model,
            "prompt": prompt,
            "max_tokens": output,
            "min_tokens": output,
            "ignore_eos": True,
            "temperature": 0.0,
            "stream": True,
        }
    ).encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        sent = time.perf_counter()
        writer.write(
            b"POST /v1/completions HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (host.encode(), port, len(body), body)
        )
        await writer.drain()
        stamps: list[float] = []
        pending = b""
        while True:
            data = await reader.read(65536)
            if not data:
                break
            now = time.perf_counter()
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                line = line.strip()
                if line.startswith(b"data:") and b'"text":"' in line and b'"text":""' not in line:
                    stamps.append(now)
        if len(stamps) < 2:
            raise RuntimeError(f"a stream with {len(stamps)} tokens")
        return (stamps[0] - sent) * 1e3, (stamps[-1] - stamps[0]) * 1e3 / (len(stamps) - 1)
    finally:
        writer.close()


VOCABULARY = 2048  # the tiny model's (tiny_model.py)


def _prompts(count: int, tokens: int, seed: int) -> list[list[int]]:
    """Random token ids, a fresh draw per request (no two share a cache block)."""
    rng = random.Random(f"raw/{seed}")
    return [[rng.randrange(3, VOCABULARY) for _ in range(tokens)] for _ in range(count)]


def _figures(results: list[tuple[int, float, float]], warmup: int) -> Figures:
    measured = [r for r in results if r[0] >= warmup]
    return Figures(
        len(measured),
        statistics.median(r[1] for r in measured),
        statistics.median(r[2] for r in measured),
    )


async def closed_loop(
    host: str,
    port: int,
    model: str,
    concurrency: int,
    requests: int,
    warmup: int,
    input_tokens: int,
    output_tokens: int,
    seed: int,
) -> Figures:
    """C workers, each sending its next request when its last one ends; the first `warmup`
    requests are not measured."""
    queue = iter(enumerate(_prompts(requests, input_tokens, seed)))
    results: list[tuple[int, float, float]] = []

    async def worker() -> None:
        for index, prompt in queue:
            results.append((index, *await _one(host, port, model, prompt, output_tokens)))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return _figures(results, warmup)


async def open_loop(
    host: str,
    port: int,
    model: str,
    rate: float,
    requests: int,
    warmup: int,
    input_tokens: int,
    output_tokens: int,
    seed: int,
) -> Figures:
    """Poisson arrivals at `rate` on an absolute schedule."""
    rng = random.Random(f"raw-times/{seed}")
    prompts = _prompts(requests, input_tokens, seed)
    start = time.perf_counter()
    at = 0.0
    tasks = []

    async def timed(index: int, prompt: list[int]) -> tuple[int, float, float]:
        return (index, *await _one(host, port, model, prompt, output_tokens))

    for index, prompt in enumerate(prompts):
        at += rng.expovariate(rate)
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed(index, prompt)))
    return _figures(list(await asyncio.gather(*tasks)), warmup)
