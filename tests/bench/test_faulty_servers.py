"""The load generator against servers that break HTTP or the stream in one way each (issue 13):
every request sent is recorded with exactly one outcome, nothing raises inside the client, no
socket is left open, and a valid answer in an unusual framing is measured as valid."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from collections.abc import Callable, Iterator

import pytest

from llmsize.api import bench
from tests.bench.faulty import (
    PROBES,
    STREAM_HEAD,
    USAGE,
    FaultyServer,
    probe_answer,
    sse,
    token,
)

Start = Callable[..., FaultyServer]
REQUESTS = 20


@pytest.fixture
def faulty() -> Iterator[Start]:
    started: list[FaultyServer] = []

    def start(answer: Callable[..., object]) -> FaultyServer:
        server = FaultyServer(answer)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def _answer_with(body: bytes, head: bytes = STREAM_HEAD, keep: bool = True) -> object:
    """Probes answered as a server would; every request after them with `head` + `body`."""

    async def answer(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(probe_answer() if n <= PROBES else head + body)
        return keep

    return answer


@pytest.mark.parametrize("chunk", [{"choices": [1]}, {"usage": 5}, {"choices": "x"}])
@pytest.mark.parametrize("load", [{"concurrency": "4"}, {"rate": "200"}])
def test_a_chunk_of_the_wrong_shape_is_a_bad_payload_and_every_request_is_sent(
    faulty: Start, chunk: object, load: dict[str, str]
) -> None:
    server = faulty(_answer_with(sse(token(), chunk, USAGE)))
    result = bench(server.url, "m", 8, 2, requests=REQUESTS, warmup=0, timeout_s=10, **load)  # type: ignore[arg-type]
    assert result.outcomes == {"bad_payload": REQUESTS}  # each request sent, once
    assert server.requests == PROBES + REQUESTS
    detail = result.runs[0].records[0].detail
    assert detail and ("not an object" in detail or "not a list" in detail)


def test_invalid_utf8_in_a_token_chunk_is_a_bad_payload(faulty: Start) -> None:
    bad = b'{"choices":[{"index":0,"delta":{"content":"\xff\xfe"}}]}'
    server = faulty(_answer_with(sse(token(), bad, USAGE)))
    result = bench(
        server.url, "m", 8, 2, concurrency="2", requests=REQUESTS, warmup=0, timeout_s=10
    )
    assert result.outcomes == {"bad_payload": REQUESTS}


def test_one_huge_stream_chunk_is_parsed_in_linear_time(faulty: Start) -> None:
    """A 4 MB token read 64 bytes at a time: the old parser copied the buffer on every read
    (minutes); the request's 60 s timeout would turn that into a failure."""
    huge = token("x" * 4_000_000)
    server = faulty(_answer_with(sse(huge, token(), USAGE)))
    result = bench(server.url, "m", 8, 2, concurrency="1", requests=2, warmup=0, timeout_s=60)
    assert result.outcomes == {"ok": 2}


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_malformed_http_responses_leak_no_socket(faulty: Start) -> None:
    server = faulty(_answer_with(b"", head=b"HTTP/1.1 abc\r\n\r\n"))
    before = _open_descriptors()
    result = bench(server.url, "m", 8, 2, concurrency="4", requests=100, warmup=0, timeout_s=10)
    assert result.outcomes == {"protocol": 100}
    deadline = time.monotonic() + 10  # the server's side of each connection closes on its EOF
    while server.closed < server.accepted and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.closed == server.accepted  # the client closed every connection it opened
    assert _open_descriptors() <= before + 2


def test_a_server_closing_keep_alive_connections_is_no_error(faulty: Start) -> None:
    """The server answers once per connection and closes the connection, unannounced, when the
    next request arrives on it (a keep-alive timeout racing the client's next send)."""
    answered: list[asyncio.StreamWriter] = []  # held, so no writer's id is reused

    async def answer(writer: asyncio.StreamWriter, n: int) -> bool:
        if any(w is writer for w in answered):
            return False  # close without a byte of answer
        answered.append(writer)
        writer.write(probe_answer() if n <= PROBES else STREAM_HEAD + sse(token(), USAGE))
        return True

    server = faulty(answer)
    result = bench(
        server.url, "m", 8, 2, concurrency="2", requests=REQUESTS, warmup=0, timeout_s=10
    )
    assert result.outcomes == {"ok": REQUESTS}


def test_an_http_1_0_close_delimited_stream_is_measured(faulty: Start) -> None:
    head = b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
    body = b"".join(
        b"data: " + line + b"\n\n"
        for line in (
            b'{"choices":[{"index":0,"delta":{"content":"a"}}]}',
            b'{"choices":[{"index":0,"delta":{"content":"b"}}]}',
            b"[DONE]",
        )
    )
    server = faulty(_answer_with(body, head=head, keep=False))
    result = bench(
        server.url, "m", 8, 2, concurrency="2", requests=REQUESTS, warmup=0, timeout_s=10
    )
    assert result.outcomes == {"ok": REQUESTS}
    assert all(len(r.token_times) == 2 for r in result.runs[0].records)


def test_a_100_continue_before_the_answer_keeps_the_connection_in_step(faulty: Start) -> None:
    floor_s = 0.05

    async def answer(writer: asyncio.StreamWriter, _: int) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(floor_s)
        writer.write(STREAM_HEAD + sse(token(), token(), USAGE))
        return True

    server = faulty(answer)
    result = bench(
        server.url, "m", 8, 2, concurrency="2", requests=REQUESTS, warmup=0, timeout_s=10
    )
    assert result.outcomes == {"ok": REQUESTS}
    ttfts = [r.first_token - r.sent for r in result.runs[0].records if r.first_token]
    assert min(ttfts) >= floor_s * 0.9


def test_429_and_500_are_told_apart_and_retry_after_is_kept(faulty: Start) -> None:
    async def answer(writer: asyncio.StreamWriter, n: int) -> bool:
        if n <= PROBES:
            writer.write(probe_answer())
        elif n % 2:
            writer.write(b"HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n")
        return True

    server = faulty(answer)
    result = bench(
        server.url, "m", 8, 2, concurrency="1", requests=REQUESTS, warmup=0, timeout_s=10
    )
    assert result.outcomes == {"http_429": REQUESTS // 2, "http_5xx": REQUESTS // 2}
    limited = [r for r in result.runs[0].records if r.error == "http_429"]
    assert all("Retry-After: 3" in r.detail for r in limited)


def test_running_out_of_descriptors_is_the_clients_limit(faulty: Start) -> None:
    server = faulty(_answer_with(sse(token(), token(), USAGE)))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = _open_descriptors() + 12
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    try:
        result = bench(server.url, "m", 8, 2, concurrency="40", requests=80, warmup=0, timeout_s=10)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    kinds = result.outcomes
    assert kinds.get("client_limit", 0) > 0 and "connect" not in kinds
    assert sum(kinds.values()) == 80


def _streamed_prompt(body: bytes, seen: list[str]) -> None:
    """Keep the prompt of a measured (streamed) request; the length probes are not streamed."""
    request = json.loads(body)
    if request["stream"]:
        seen.append(request["messages"][0]["content"])


def _recording(faulty: Start) -> tuple[FaultyServer, list[str]]:
    """A well-behaved server that keeps the prompt of every measured request it is sent."""
    seen: list[str] = []

    async def answer(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(probe_answer() if n <= PROBES else STREAM_HEAD + sse(token(), USAGE))
        return True

    server = faulty(answer)
    server.on_body = lambda body: _streamed_prompt(body, seen)
    return server, seen


def test_a_sweeps_prompts_never_repeat_across_levels_or_runs(faulty: Start) -> None:
    """vLLM's prefix cache served a sweep's later levels from the earlier ones' prompts; now no
    prompt opens like another (the first 16 words: a cache block) unless asked."""
    server, seen = _recording(faulty)
    bench(server.url, "m", 64, 2, concurrency="1,2,4", requests=10, warmup=0, timeout_s=10)
    bench(server.url, "m", 64, 2, concurrency="1,2,4", requests=10, warmup=0, timeout_s=10)
    assert len(seen) == 60
    openings = {" ".join(p.split()[:16]) for p in seen}
    assert len(openings) == 60


def test_a_shared_prefix_is_exactly_that_prefix(faulty: Start) -> None:
    server, seen = _recording(faulty)
    result = bench(
        server.url,
        "m",
        64,
        2,
        concurrency="1,4",
        requests=8,
        warmup=0,
        timeout_s=10,
        shared_prefix=32,
    )
    measured = [p.split() for p in seen]
    assert len(measured) == 16
    # the probe server counts 8 tokens for any prompt: 1 token per word minus nothing; the
    # calibration is then the fallback, one word per token, so 32 tokens are 32 words
    assert result.prompt_calibration
    prefixes = {" ".join(words[:32]) for words in measured}
    assert len(prefixes) == 1
    assert len({" ".join(words[32:48]) for words in measured}) == 16
