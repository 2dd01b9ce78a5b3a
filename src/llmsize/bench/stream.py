"""A minimal HTTP/1.1 streaming client on asyncio's Protocol API, for the measurement path.

Why not httpx here: its connection pool scans every connection per request and h11 parses each
streamed chunk through several layers, about 30 us a chunk. At 256 streams of 100 tokens/s that
is most of a core, and the client's own queueing then shows up as hundreds of milliseconds of
TTFT. Here bytes are timestamped the moment the event loop reads them (`data_received`), the
chunked body is cut into SSE lines without copying more than once, and nothing else runs per
token. httpx still does everything else (probing, calibration of prompt lengths).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from llmsize.bench.kernel_time import KernelClock


class StreamError(Exception):
    """The connection failed or closed before the response ended."""


@dataclass(slots=True)
class Response:
    status: int = 0
    lines: list[tuple[float, bytes]] = field(default_factory=list)  # (read time, SSE line)
    body: bytes = b""
    finished: float = 0.0  # when the last byte was read


class _Protocol(asyncio.Protocol):
    """One keep-alive connection, one response at a time."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.response: Response | None = None
        self.done: asyncio.Future[Response] | None = None
        self.state = "idle"  # head, chunk-size, chunk-data, body, idle
        self.remaining = 0
        self.partial = b""  # an SSE line cut by a chunk boundary
        self.closed = False
        self.stamp = 0.0  # arrival of the first byte now in `buffer`

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.done is not None and not self.done.done():
            self.done.set_exception(StreamError("connection closed mid-response"))

    def start(self, request: bytes, done: asyncio.Future[Response]) -> None:
        assert self.transport is not None
        self.response, self.done = Response(), done
        self.state, self.buffer, self.partial = "head", b"", b""
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.feed(data, self.clock())

    def feed(self, data: bytes, now: float) -> None:
        if self.response is None:
            return
        if not self.buffer:
            self.stamp = now
        self.buffer += data
        try:
            self._parse(now)
        except (ValueError, IndexError) as exc:
            if self.done is not None and not self.done.done():
                self.done.set_exception(StreamError(f"malformed HTTP: {exc}"))
            self.closed = True

    def _parse(self, now: float) -> None:
        response = self.response
        assert response is not None
        while True:
            if self.state == "head":
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
                lines = head.split("\r\n")
                response.status = int(lines[0].split(" ", 2)[1])
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:])
                }
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    self.state = "chunk-size"
                else:
                    self.state, self.remaining = "body", int(headers.get("content-length", "0"))
            elif self.state == "chunk-size":
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    return
                size = int(self.buffer[:end].split(b";", 1)[0], 16)
                self.buffer = self.buffer[end + 2 :]
                if size == 0:
                    self._finish(now)
                    return
                self.state, self.remaining = "chunk-data", size
            elif self.state == "chunk-data":
                if len(self.buffer) < self.remaining + 2:
                    return
                data = self.buffer[: self.remaining]
                self.buffer = self.buffer[self.remaining + 2 :]
                self._lines(self.stamp, data)  # the time the chunk began to arrive
                self.stamp = now
                self.state = "chunk-size"
            elif self.state == "body":
                if len(self.buffer) < self.remaining:
                    return
                response.body, self.buffer = self.buffer[: self.remaining], b""
                if response.status == 200:
                    self._lines(now, response.body)
                self._finish(now)
                return
            else:
                return

    def _lines(self, now: float, data: bytes) -> None:
        assert self.response is not None
        text = self.partial + data
        *complete, self.partial = text.split(b"\n")
        for line in complete:
            if line.startswith(b"data:"):
                self.response.lines.append((now, line))

    def _finish(self, now: float) -> None:
        self.state = "idle"
        if self.done is not None and not self.done.done():
            assert self.response is not None
            self.response.finished = now
            self.done.set_result(self.response)


READ_BYTES = 64  # less than one streamed token's TCP segment
READS_PER_WAKEUP = 64


class _KernelStamped(_Protocol):
    """A plain-TCP connection read with recvmsg, so every read carries the time the kernel
    received the data: a client busy with hundreds of streams then delays its reads, not its
    measurements. (Linux; elsewhere, and for TLS, the read time is used.)"""

    def __init__(self, clock: Callable[[], float], sock: socket.socket) -> None:
        super().__init__(clock)
        self.sock = sock
        self.kernel = KernelClock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_reader(self.sock.fileno(), self._readable)
        self.loop = loop

    def _readable(self) -> None:
        # Small reads: the kernel stamps a read with its last segment's arrival, so reading less
        # than a token's segment at a time keeps every token's own arrival time even when the
        # client falls behind. Read until the socket is empty, then let the loop move on.
        for _ in range(READS_PER_WAKEUP):
            try:
                data, ancillary, _, _ = self.sock.recvmsg(READ_BYTES, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._lost(exc)
                return
            if not data:
                self._lost(None)
                return
            self.feed(data, self.kernel.arrival(ancillary, self.clock()))
            if self.closed:
                return

    def _lost(self, exc: Exception | None) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        self.connection_lost(exc)

    def start(self, request: bytes, done: asyncio.Future[Response]) -> None:
        self.response, self.done = Response(), done
        self.state, self.buffer, self.partial = "head", b"", b""
        self.sock.sendall(request)  # small, and the socket's buffer is empty between requests

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()


class StreamClient:
    """A keep-alive pool of raw connections to one origin."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.netloc = parts.netloc
        self.timeout_s = timeout_s
        self.idle: list[_Protocol] = []
        self._ssl = ssl.create_default_context() if self.https else None
        self.clock = time.perf_counter

    async def _connection(self) -> _Protocol:
        while self.idle:
            protocol = self.idle.pop()
            if not protocol.closed:
                return protocol
        loop = asyncio.get_running_loop()
        if not self.https and sys.platform.startswith("linux"):
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            KernelClock.enable(sock)
            try:
                await asyncio.wait_for(
                    loop.sock_connect(sock, (self.host, self.port)), self.timeout_s
                )
            except BaseException:
                sock.close()
                raise
            stamped = _KernelStamped(self.clock, sock)
            stamped.attach(loop)
            return stamped
        _, protocol = await asyncio.wait_for(
            loop.create_connection(
                lambda: _Protocol(self.clock), self.host, self.port, ssl=self._ssl
            ),
            self.timeout_s,
        )
        return protocol

    @staticmethod
    def _discard(protocol: _Protocol) -> None:
        if isinstance(protocol, _KernelStamped):
            protocol.close()
        elif protocol.transport is not None:
            protocol.transport.close()

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Response:
        """POST and wait for the whole (streamed) response; raises StreamError or TimeoutError."""
        protocol = await self._connection()
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.netloc}\r\nContent-Length: {len(body)}\r\n"
            f"Accept: text/event-stream\r\n{extra}\r\n"
        ).encode("latin-1") + body
        done: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        protocol.start(request, done)
        try:
            response = await asyncio.wait_for(done, self.timeout_s)
        except BaseException:
            self._discard(protocol)
            raise
        if not protocol.closed:
            self.idle.append(protocol)
        return response

    def close(self) -> None:
        for protocol in self.idle:
            self._discard(protocol)
        self.idle.clear()
