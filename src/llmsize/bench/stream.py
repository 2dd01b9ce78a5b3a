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
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from llmsize.bench import kernel_time


class StreamError(Exception):
    """The connection failed or closed before the response ended, or the server broke HTTP."""


class ProtocolError(StreamError):
    """The server's bytes are not HTTP/1.1 as the client can read them."""


@dataclass(slots=True)
class Response:
    status: int = 0
    lines: list[tuple[float, bytes]] = field(default_factory=list)  # (read time, SSE line)
    body: bytes = b""
    finished: float = 0.0  # when the last byte was read
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names


COMPACT_AT = 1 << 16
"""Bytes consumed from the front of the buffer before it is compacted: every byte is copied a
bounded number of times, so a response of any size is parsed in linear time."""


class _Protocol(asyncio.Protocol):
    """One keep-alive connection, one response at a time. The buffer is a bytearray consumed
    from `pos`; searches resume where the last one stopped, so a megabyte chunk read 64 bytes at
    a time costs what one read of it would."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.pos = 0  # consumed bytes at the front of `buffer`
        self.scan = 0  # where the next search for a line end starts
        self.response: Response | None = None
        self.done: asyncio.Future[Response] | None = None
        self.state = "idle"  # head, chunk-size, chunk-data, trailer, body, until-close, idle
        self.remaining = 0
        self.partial = bytearray()  # an SSE line cut by a chunk boundary
        self.closed = False  # no further response can come on this connection
        self.reusable = True  # the server keeps the connection open after the response
        self.received = False  # a byte of the current response has arrived
        self.stamp = 0.0  # arrival of the first byte now in `buffer`

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.done is None or self.done.done():
            return
        if self.state == "until-close":  # a body delimited by the connection's end: complete
            self._body_lines(self.clock())
            self._finish(self.clock())
            return
        self.done.set_exception(StreamError("connection closed mid-response"))

    def start(self, request: bytes, done: asyncio.Future[Response]) -> None:
        assert self.transport is not None
        self._reset(done)
        self.transport.write(request)

    def _reset(self, done: asyncio.Future[Response]) -> None:
        self.response, self.done = Response(), done
        self.state, self.partial, self.received = "head", bytearray(), False
        if self.pos >= len(self.buffer):
            self.buffer, self.pos, self.scan = bytearray(), 0, 0

    def data_received(self, data: bytes) -> None:
        self.feed(data, self.clock())

    def feed(self, data: bytes, now: float) -> None:
        if self.response is None or self.closed:
            return
        self.received = True
        if self.pos >= len(self.buffer):
            self.stamp = now
        self.buffer += data
        try:
            self._parse(now)
        except (ValueError, IndexError) as exc:
            self._fail(ProtocolError(f"malformed HTTP: {exc}"))
        if self.pos >= COMPACT_AT and self.pos * 2 >= len(self.buffer):
            del self.buffer[: self.pos]
            self.scan = max(0, self.scan - self.pos)
            self.pos = 0

    def _fail(self, error: StreamError) -> None:
        self.close()
        if self.done is not None and not self.done.done():
            self.done.set_exception(error)

    def _find(self, mark: bytes) -> int:
        """The next `mark` at or after `pos` (-1 if none yet); the search resumes later."""
        found = self.buffer.find(mark, max(self.pos, self.scan))
        self.scan = len(self.buffer) - len(mark) + 1 if found < 0 else self.pos
        return found

    def _take(self, end: int, skip: int) -> bytes:
        data = bytes(self.buffer[self.pos : end])
        self.pos = end + skip
        self.scan = self.pos
        return data

    def _parse(self, now: float) -> None:
        response = self.response
        assert response is not None
        while True:
            if self.state == "head":
                end = self._find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buffer) - self.pos > MAX_HEAD_BYTES:
                        raise ValueError(f"response head over {MAX_HEAD_BYTES} bytes")
                    return
                self._head(self._take(end, 4).decode("latin-1"))
            elif self.state == "chunk-size":
                end = self._find(b"\r\n")
                if end < 0:
                    return
                size = int(self._take(end, 2).split(b";", 1)[0], 16)
                if size == 0:
                    self.state = "trailer"
                    continue
                if size < 0:
                    raise ValueError("negative chunk size")
                self.state, self.remaining = "chunk-data", size
            elif self.state == "chunk-data":
                if len(self.buffer) - self.pos < self.remaining + 2:
                    return
                data = self._take(self.pos + self.remaining, 2)
                self._lines(self.stamp, data)  # the time the chunk began to arrive
                self.stamp = now
                self.state = "chunk-size"
            elif self.state == "trailer":  # after the last chunk: fields, then an empty line
                end = self._find(b"\r\n")
                if end < 0:
                    return
                if not self._take(end, 2):
                    self._finish(now)
                    return
            elif self.state == "body":
                if len(self.buffer) - self.pos < self.remaining:
                    return
                response.body = self._take(self.pos + self.remaining, 0)
                if response.status == 200:
                    self._lines(now, response.body)
                self._finish(now)
                return
            elif self.state == "until-close":
                return  # everything is kept until the server closes (connection_lost)
            else:
                if len(self.buffer) > self.pos:
                    raise ValueError("bytes after the response ended")
                return

    def _head(self, head: str) -> None:
        response = self.response
        assert response is not None
        lines = head.split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/"):
            raise ValueError(f"status line {lines[0][:40]!r}")
        status = int(rest.split(" ", 1)[0])
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        if 100 <= status < 200:
            return  # an interim response (100 Continue): the real one follows
        response.status, response.headers = status, headers
        connection = headers.get("connection", "").lower()
        self.reusable = "close" not in connection and (
            version != "HTTP/1.0" or "keep-alive" in connection
        )
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.state = "chunk-size"
        elif "content-length" in headers:
            self.state, self.remaining = "body", int(headers["content-length"])
            if self.remaining < 0:
                raise ValueError("negative content-length")
        elif status in (204, 304):
            self.state, self.remaining = "body", 0
        else:
            self.state, self.reusable = "until-close", False

    def _body_lines(self, now: float) -> None:
        """A close-delimited body: what arrived is the whole of it."""
        assert self.response is not None
        body = self._take(len(self.buffer), 0)
        self.response.body = body
        if self.response.status == 200:
            self._lines(self.stamp, body)
            if self.partial:
                self._lines(now, b"\n")

    def _lines(self, now: float, data: bytes) -> None:
        assert self.response is not None
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                self.partial += data[start:]
                return
            if self.partial:
                self.partial += data[start:end]
                line, self.partial = bytes(self.partial), bytearray()
            else:
                line = data[start:end]
            if line.startswith(b"data:"):
                self.response.lines.append((now, line.rstrip(b"\r")))
            start = end + 1

    def _finish(self, now: float) -> None:
        self.state = "idle"
        if self.done is not None and not self.done.done():
            assert self.response is not None
            self.response.finished = now
            self.done.set_result(self.response)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


MAX_HEAD_BYTES = 1 << 16
"""A response head longer than this is not HTTP the client will wait for."""


READ_BYTES = 64  # less than one streamed token's TCP segment
READS_PER_WAKEUP = 64


class _KernelStamped(_Protocol):
    """A plain-TCP connection read with recvmsg, so every read carries the time the kernel
    received the data: a client busy with hundreds of streams then delays its reads, not its
    measurements. (Linux; elsewhere, and for TLS, the read time is used.)"""

    def __init__(self, clock: Callable[[], float], sock: socket.socket) -> None:
        super().__init__(clock)
        self.sock = sock
        self.drained = float("-inf")  # when a read last found the socket empty

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_reader(self.sock.fileno(), self._readable)
        self.loop = loop

    def _readable(self) -> None:
        # Small reads: the kernel stamps a read with its last segment's arrival, so reading less
        # than a token's segment at a time keeps every token's own arrival time even when the
        # client falls behind. Read until the socket is empty, then let the loop move on.
        #
        # A stamp from before the socket was last found empty is stale: those bytes were not
        # there then. Seen against vLLM on loopback, stamps up to a second old, growing by one
        # ITL a token, as if new bytes were merged into a segment the kernel had stamped long
        # before. Such bytes take the time they were read, never earlier than their arrival.
        for _ in range(READS_PER_WAKEUP):
            try:
                data, ancillary, _, _ = self.sock.recvmsg(READ_BYTES, 64)
            except (BlockingIOError, InterruptedError):
                self.drained = self.clock()
                return
            except OSError as exc:
                self._lost(exc)
                return
            if not data:
                self._lost(None)
                return
            now = self.clock()
            arrived = kernel_time.arrival(ancillary, now)
            self.feed(data, arrived if arrived > self.drained else now)
            if self.closed:
                self.close()
                return

    def _lost(self, exc: Exception | None) -> None:
        self.close()
        self.connection_lost(exc)

    def start(self, request: bytes, done: asyncio.Future[Response]) -> None:
        self._reset(done)
        self.drained = self.clock()  # nothing is unread between requests
        self.sock.sendall(request)  # small, and the socket's buffer is empty between requests

    def close(self) -> None:
        """Stop reading and release the descriptor, whatever state the connection is in."""
        self.closed = True
        if self.sock.fileno() >= 0:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()


class StreamClient:
    """A keep-alive pool of raw connections to one origin."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.authority = host if parts.port is None else f"{host}:{parts.port}"  # no userinfo
        self.auth: dict[str, str] = {}
        if parts.username is not None:  # user:password@ in the URL: HTTP basic, never the Host
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.auth = {"Authorization": "Basic " + b64encode(pair.encode()).decode("ascii")}
        self.timeout_s = timeout_s
        self.idle: list[_Protocol] = []
        self._ssl = ssl.create_default_context() if self.https else None
        self.clock = time.perf_counter

    async def _connection(self, fresh: bool = False) -> tuple[_Protocol, bool]:
        """An idle connection of the pool (True) or, if there is none or `fresh`, a new one
        (False)."""
        while self.idle and not fresh:
            protocol = self.idle.pop()
            if not protocol.closed:
                return protocol, True
            protocol.close()
        loop = asyncio.get_running_loop()
        if not self.https and sys.platform.startswith("linux"):
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                kernel_time.enable(sock)
                await asyncio.wait_for(
                    loop.sock_connect(sock, (self.host, self.port)), self.timeout_s
                )
            except BaseException:
                sock.close()
                raise
            stamped = _KernelStamped(self.clock, sock)
            stamped.attach(loop)
            return stamped, False
        _, protocol = await asyncio.wait_for(
            loop.create_connection(
                lambda: _Protocol(self.clock), self.host, self.port, ssl=self._ssl
            ),
            self.timeout_s,
        )
        return protocol, False

    async def connect(self, count: int) -> None:
        """Open `count` connections ahead of the measured requests (their set-up is not a
        first token's), and keep them in the pool."""
        opened = await asyncio.gather(
            *(self._connection() for _ in range(max(0, count - len(self.idle)))),
            return_exceptions=True,
        )
        for found in opened:
            if isinstance(found, tuple):
                self.idle.append(found[0])
            elif not isinstance(found, Exception):
                raise found

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Response:
        """POST and wait for the whole (streamed) response; raises StreamError or TimeoutError.
        A pooled connection the server closed before answering (keep-alive timing out) is
        replaced once: no byte of a response was lost, so nothing is measured twice."""
        extra = "".join(f"{k}: {v}\r\n" for k, v in {**self.auth, **headers}.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.authority}\r\n"
            f"Content-Length: {len(body)}\r\nAccept: text/event-stream\r\n{extra}\r\n"
        ).encode("latin-1") + body
        for attempt in (1, 2):
            protocol, reused = await self._connection(fresh=attempt > 1)
            done: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
            try:
                protocol.start(request, done)
                response = await asyncio.wait_for(done, self.timeout_s)
            except TimeoutError:  # an OSError too: the caller's timeout, not a lost connection
                protocol.close()
                raise
            except (StreamError, OSError) as exc:
                protocol.close()
                stale = reused and not protocol.received and not isinstance(exc, ProtocolError)
                if stale and attempt == 1:
                    continue
                if isinstance(exc, OSError):
                    raise StreamError(f"connection failed: {exc}") from None
                raise
            except BaseException:
                protocol.close()
                raise
            if protocol.closed or not protocol.reusable:
                protocol.close()
            else:
                self.idle.append(protocol)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        for protocol in self.idle:
            protocol.close()
        self.idle.clear()
