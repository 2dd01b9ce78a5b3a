"""An independent minimal streaming client, written for the real-engine check only: plain
blocking sockets, one thread per stream, no llmsize code and no asyncio, so that llmsize bench's
figures are compared with a second opinion. Like llmsize, it dates each read by the kernel's
receive time (SO_TIMESTAMPNS), so the two differ in their code, not in whether a thread's
wake-up is counted.

Poisson arrivals on an absolute schedule, each sent from a pool of threads, each request dated
on the wall clock so that the check compares the two clients over the same stretch. Prompts are
random English words, unique per request, as many as the server counts to the target length
(two probes, as any client would). TTFT = first text chunk - send; ITL = (last text chunk - first
text chunk) / (output tokens - 1) (the definitions llmsize's README gives, implemented here on
its own; the stream's [DONE] and the chunked body's end come after the last token, as late as
the server sends them).
"""

from __future__ import annotations

import json
import random
import socket
import statistics
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class Figures:
    requests: int
    ttft_p50_ms: float
    itl_p50_ms: float


class _ClosedIdle(Exception):
    """The kept connection was closed before the answer began."""


SO_TIMESTAMPNS = 35  # Linux: each read carries the kernel's receive time of its data


def wall_minus_perf() -> float:
    """The wall clock's offset from perf_counter now: read where it is used, because the wall
    clock can be stepped (NTP on a freshly booted machine) while the check runs."""
    return time.time() - time.perf_counter()


def received(ancillary: list[tuple[int, int, bytes]], now: float, sent: float) -> float:
    """When a read's data reached this machine: the kernel's stamp (wall clock, put on
    perf_counter's), never later than the read itself nor earlier than the request was sent; the
    read time where the kernel gave none."""
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
            seconds, nanos = struct.unpack("qq", payload[:16])
            stamp = seconds + nanos * 1e-9 - wall_minus_perf()
            return now if stamp < sent else min(now, stamp)
    return now


class Connection:
    """One kept-alive HTTP/1.1 connection (as llmsize's client keeps its own), so that
    connection set-up is in neither client's figures; read whole (64 KiB at a time) with a
    blocking recvmsg, each read dated by the kernel."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.sock: socket.socket | None = None

    def request(self, model: str, prompt: str, output: int) -> tuple[float, float, float]:
        """One request: its send (perf_counter seconds), TTFT and ITL (ms); sent again on a new
        connection if a kept one was closed while idle (the server's keep-alive timeout) before
        any byte of the answer."""
        if self.sock is not None:
            try:
                return self._request(model, prompt, output)
            except _ClosedIdle:
                self.close()
        sock = socket.create_connection((self.host, self.port), timeout=TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock = sock
        return self._request(model, prompt, output)

    def _request(self, model: str, prompt: str, output: int) -> tuple[float, float, float]:
        assert self.sock is not None
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
        self.sock.sendall(
            b"POST /v1/completions HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (self.host.encode(), self.port, len(body), body)
        )
        first = last = None
        done = False
        pending = tail = b""
        while not tail.endswith(b"\r\n0\r\n\r\n"):  # the chunked body's last chunk
            data, ancillary, _, _ = self.sock.recvmsg(65536, 64)
            now = received(ancillary, time.perf_counter(), sent)
            if not data and not tail:
                raise _ClosedIdle
            if not data:
                raise RuntimeError("the server closed the connection mid-answer")
            tail = (tail + data)[-16:]
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                line = line.strip()
                if line == b"data: [DONE]":
                    done = True
                elif b'"text":"' in line and b'"text":""' not in line:
                    first = now if first is None else first
                    last = now
        if first is None or last is None or not done:
            raise RuntimeError("a stream without a token or without its [DONE]")
        return sent, (first - sent) * 1e3, (last - first) * 1e3 / (output - 1)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


WORDS = [
    "time",
    "person",
    "year",
    "way",
    "day",
    "thing",
    "man",
    "world",
    "life",
    "hand",
    "part",
    "child",
    "eye",
    "woman",
    "place",
    "work",
    "week",
    "case",
    "point",
    "government",
    "company",
    "number",
    "group",
    "problem",
    "fact",
    "river",
    "mountain",
    "ocean",
    "forest",
    "city",
    "garden",
    "kitchen",
    "window",
    "letter",
    "question",
    "answer",
    "system",
    "program",
    "market",
    "price",
    "energy",
    "water",
    "light",
    "music",
    "story",
    "paper",
    "table",
    "chair",
    "engine",
    "signal",
    "model",
    "server",
    "token",
    "memory",
    "network",
    "cluster",
]
"""The words prompts are drawn from: the vocabulary llmsize bench draws its own from (copied, not
imported: this client runs no llmsize code), so that the server tokenizes the same kind of text
from both clients. With a vocabulary of its own (rarer, longer words for this tokenizer), this
client's median TTFT ran 9.8 % above llmsize's over six paired rounds on a slow machine
(2026-12-07) and 2.4 % with this one: the server's tokenizing, not the measuring."""


def prompt_tokens(host: str, port: int, model: str, prompt: str) -> int:
    """The server's count of a prompt (usage.prompt_tokens)."""
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": 1}).encode()
    with socket.create_connection((host, port), timeout=TIMEOUT_S) as sock:
        sock.sendall(
            b"POST /v1/completions HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (host.encode(), port, len(body), body)
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(json.loads(answer.split(b"\r\n\r\n", 1)[1])["usage"]["prompt_tokens"])


def _prompts(host: str, port: int, model: str, count: int, tokens: int, seed: int) -> list[str]:
    """Random words, a fresh draw per request, as many as make `tokens` prompt tokens (the
    server counts two probes of such words)."""
    rng = random.Random(f"raw/{seed}")

    def text(words: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(words))

    low = prompt_tokens(host, port, model, text(50))
    high = prompt_tokens(host, port, model, text(250))
    per_word = (high - low) / 200
    words = max(1, round((tokens - (low - 50 * per_word)) / per_word))
    return [text(words) for _ in range(count)]


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: when it was sent (Unix seconds) and what it measured."""

    sent_unix_s: float
    ttft_ms: float
    itl_ms: float


def medians(samples: list[Sample]) -> Figures:
    """Median TTFT and ITL of some requests."""
    if not samples:
        raise RuntimeError("no request to take a median of")
    return Figures(
        len(samples),
        statistics.median(s.ttft_ms for s in samples),
        statistics.median(s.itl_ms for s in samples),
    )


def measure(
    host: str,
    port: int,
    model: str,
    *,
    rate: float,
    requests: int,
    input_tokens: int,
    output_tokens: int,
    seed: int,
    until: threading.Event,
) -> list[Sample]:
    """Poisson arrivals at `rate` on an absolute schedule, sent from a pool of threads, until
    `until` is set (or `requests` were sent); every request, in the order sent. The caller picks
    the stretch it compares, by send time, dated on the wall clock as llmsize bench dates its
    sends: perf_counter plus the offset read when the run begins."""
    prompts = _prompts(host, port, model, requests, input_tokens, seed)
    rng = random.Random(f"raw-times/{seed}")
    offset = wall_minus_perf()
    local = threading.local()
    opened: list[Connection] = []

    def timed(prompt: str) -> Sample:
        if not hasattr(local, "connection"):
            local.connection = Connection(host, port)
            opened.append(local.connection)
        sent, ttft, itl = local.connection.request(model, prompt, output_tokens)
        return Sample(sent + offset, ttft, itl)

    start = time.perf_counter()
    at = 0.0
    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = []
        for prompt in prompts:
            at += rng.expovariate(rate)
            if until.wait(max(0.0, start + at - time.perf_counter())):
                break
            futures.append(pool.submit(timed, prompt))
        samples = [f.result() for f in futures]
    for connection in opened:
        connection.close()
    return samples
