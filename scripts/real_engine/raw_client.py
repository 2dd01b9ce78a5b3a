"""An independent minimal streaming client, written for the real-engine check only: raw asyncio
streams, no llmsize code, so that llmsize bench's figures are compared with a second opinion.

Closed loop: C workers each send their next request the moment the last one ends; open loop:
Poisson arrivals on an absolute schedule. Prompts are random English words, unique per request,
as many as the server counts to the target length (two probes, as any client would). TTFT =
first text chunk - send; ITL = (end - first text chunk) / (output tokens - 1), the end being the
stream's [DONE] (the definition llmsize's README gives, implemented here on its own).
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


class _ClosedIdle(Exception):
    """The kept connection was closed before the answer began."""


class Connection:
    """One kept-alive HTTP/1.1 connection (as llmsize's client keeps its own), so that
    connection set-up is in neither client's figures."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, model: str, prompt: str, output: int) -> tuple[float, float]:
        """One request; sent again on a new connection if a kept one was closed while idle
        (the server's keep-alive timeout) before any byte of the answer."""
        if self.streams is not None:
            try:
                return await self._request(model, prompt, output)
            except _ClosedIdle:
                self.close()
        self.streams = await asyncio.open_connection(self.host, self.port)
        return await self._request(model, prompt, output)

    async def _request(self, model: str, prompt: str, output: int) -> tuple[float, float]:
        assert self.streams is not None
        reader, writer = self.streams
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
        sent = time.perf_counter()
        writer.write(
            b"POST /v1/completions HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (self.host.encode(), self.port, len(body), body)
        )
        await writer.drain()
        first = end = None
        pending = tail = b""
        while not tail.endswith(b"\r\n0\r\n\r\n"):  # the chunked body's last chunk
            data = await reader.read(65536)
            if not data and not tail:
                raise _ClosedIdle
            if not data:
                raise RuntimeError("the server closed the connection mid-answer")
            now = time.perf_counter()
            tail = (tail + data)[-16:]
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                line = line.strip()
                if line == b"data: [DONE]":
                    end = now
                elif first is None and b'"text":"' in line and b'"text":""' not in line:
                    first = now
        if first is None or end is None:
            raise RuntimeError("a stream without a token or without its [DONE]")
        return (first - sent) * 1e3, (end - first) * 1e3 / (output - 1)

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()


WORDS = [
    "apple",
    "river",
    "stone",
    "cloud",
    "paper",
    "music",
    "garden",
    "window",
    "yellow",
    "silver",
    "forest",
    "ocean",
    "candle",
    "bridge",
    "castle",
    "dragon",
    "engine",
    "feather",
    "guitar",
    "harbor",
    "island",
    "jungle",
    "kettle",
    "ladder",
    "meadow",
    "needle",
    "orange",
    "pencil",
    "quartz",
    "rabbit",
    "saddle",
    "tunnel",
    "violin",
    "wagon",
    "yogurt",
    "zebra",
    "anchor",
    "basket",
    "copper",
    "desert",
    "empire",
    "falcon",
    "glacier",
    "hammer",
    "insect",
    "jacket",
    "kitten",
    "lemon",
    "marble",
]


async def prompt_tokens(host: str, port: int, model: str, prompt: str) -> int:
    """The server's count of a prompt (usage.prompt_tokens)."""
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": 1}).encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            b"POST /v1/completions HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (host.encode(), port, len(body), body)
        )
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    return int(json.loads(answer.split(b"\r\n\r\n", 1)[1])["usage"]["prompt_tokens"])


async def _prompts(
    host: str, port: int, model: str, count: int, tokens: int, seed: int
) -> list[str]:
    """Random words, a fresh draw per request, as many as make `tokens` prompt tokens (the
    server counts two probes of such words)."""
    rng = random.Random(f"raw/{seed}")

    def text(words: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(words))

    low = await prompt_tokens(host, port, model, text(50))
    high = await prompt_tokens(host, port, model, text(250))
    per_word = (high - low) / 200
    words = max(1, round((tokens - (low - 50 * per_word)) / per_word))
    return [text(words) for _ in range(count)]


def _figures(results: list[tuple[int, float, float]], warmup: int) -> Figures:
    measured = [r for r in results if r[0] >= warmup]
    return Figures(
        len(measured),
        statistics.median(r[1] for r in measured),
        statistics.median(r[2] for r in measured),
    )


async def measure(
    host: str,
    port: int,
    model: str,
    *,
    concurrency: int | None = None,
    rate: float | None = None,
    requests: int,
    warmup: int,
    input_tokens: int,
    output_tokens: int,
    seed: int,
) -> Figures:
    """A closed loop of `concurrency` streams (each sends its next request when its last one
    ends) or Poisson arrivals at `rate` on an absolute schedule; the first `warmup` requests are
    not measured."""
    prompts = await _prompts(host, port, model, requests, input_tokens, seed)
    if rate is not None:
        results = await _open_loop(host, port, model, rate, prompts, output_tokens, seed)
    else:
        assert concurrency is not None
        results = await _closed_loop(host, port, model, concurrency, prompts, output_tokens)
    return _figures(results, warmup)


async def _closed_loop(
    host: str, port: int, model: str, concurrency: int, prompts: list[str], output_tokens: int
) -> list[tuple[int, float, float]]:
    queue = iter(enumerate(prompts))
    results: list[tuple[int, float, float]] = []

    async def worker() -> None:
        connection = Connection(host, port)
        try:
            for index, prompt in queue:
                results.append((index, *await connection.request(model, prompt, output_tokens)))
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def _open_loop(
    host: str,
    port: int,
    model: str,
    rate: float,
    prompts: list[str],
    output_tokens: int,
    seed: int,
) -> list[tuple[int, float, float]]:
    rng = random.Random(f"raw-times/{seed}")
    start = time.perf_counter()
    at = 0.0
    tasks = []
    idle: list[Connection] = []

    async def timed(index: int, prompt: str) -> tuple[int, float, float]:
        connection = idle.pop() if idle else Connection(host, port)
        figures = await connection.request(model, prompt, output_tokens)
        idle.append(connection)
        return (index, *figures)

    for index, prompt in enumerate(prompts):
        at += rng.expovariate(rate)
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed(index, prompt)))
    results = list(await asyncio.gather(*tasks))
    for connection in idle:
        connection.close()
    return results
