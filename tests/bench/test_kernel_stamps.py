"""Kernel arrival stamps on the client's reads: a stamp from before the socket was last found
empty is stale and must not date the bytes (seen against vLLM: stamps up to a second old)."""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import pytest

from llmsize.bench.kernel_time import SO_TIMESTAMPNS, arrival
from llmsize.bench.stream import Response, _KernelStamped


class FakeSocket:
    """Hands out queued (bytes, kernel wall time) reads, then 'would block'."""

    def __init__(self) -> None:
        self.queue: list[tuple[bytes, float]] = []

    def recvmsg(self, size: int, ancillary_size: int) -> tuple[bytes, list[object], int, None]:
        if not self.queue:
            raise BlockingIOError
        data, wall = self.queue.pop(0)
        seconds = int(wall)
        stamp = struct.pack("qq", seconds, int((wall - seconds) * 1e9))
        return data, [(socket.SOL_SOCKET, SO_TIMESTAMPNS, stamp)], 0, None

    def sendall(self, data: bytes) -> None:
        pass


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def chunk(text: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(text), text)


def test_stale_stamps_take_the_read_time_and_fresh_ones_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    fake = FakeSocket()
    protocol = _KernelStamped(lambda: now[0], fake)  # type: ignore[arg-type]
    wall = 1.7e9  # kernel wall time = perf time + offset, held still so the stamps are exact
    monkeypatch.setattr(time, "perf_counter", lambda: 0.0)
    monkeypatch.setattr(time, "time", lambda: wall)
    loop = asyncio.new_event_loop()
    try:
        done: asyncio.Future[Response] = loop.create_future()
        protocol.start(b"POST / HTTP/1.1\r\n\r\n", done)  # the socket is empty at 100.0
        # the head and a first token, stamped 0.5 s before the request was even sent: stale
        fake.queue.append((HEAD + chunk(b'data: {"a": 1}\n\n'), wall + 99.5))
        now[0] = 100.2
        protocol._readable()
        # a second token stamped after the socket was last found empty: its own arrival
        fake.queue.append((chunk(b'data: {"a": 2}\n\n'), wall + 100.25))
        now[0] = 100.3
        protocol._readable()
        fake.queue.append((chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n", wall + 100.35))
        now[0] = 100.4
        protocol._readable()
        response = done.result()
    finally:
        loop.close()
    times = [t for t, line in response.lines if line.startswith(b"data: {")]
    assert times[0] == 100.2  # the read time, not the stale 99.5
    assert abs(times[1] - 100.25) < 1e-6  # the kernel's arrival, before the 100.3 read


def stamp_at(wall: float) -> list[tuple[int, int, bytes]]:
    seconds = int(wall)
    return [
        (socket.SOL_SOCKET, SO_TIMESTAMPNS, struct.pack("qq", seconds, int((wall - seconds) * 1e9)))
    ]


def test_a_step_of_the_wall_clock_during_a_run_moves_no_arrival(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    perf = time.perf_counter()
    arrived = perf - 0.010  # the data came in 10 ms before the read
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 30.0)  # NTP steps the clock back
    wall_now = time.time() - time.perf_counter()
    assert abs(arrival(stamp_at(arrived + wall_now), perf) - arrived) < 1e-4
