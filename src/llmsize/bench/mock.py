"""A small OpenAI-compatible streaming server with known timing, for tests and dry runs
(`llmsize serve-mock`).

Every response streams its tokens on an absolute schedule (first token `ttft_ms` after the request
arrived, then one every `itl_ms`), so a client's measurement can be checked against the truth.
Faults are injected at seeded random: HTTP 500s, stalls (the stream stops and hangs), cut streams
(the connection closes mid-stream) and malformed chunks. Plain asyncio with HTTP/1.1 keep-alive
and chunked transfer encoding: no web framework, and little work per token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import time
from dataclasses import dataclass

from llmsize.bench import kernel_time

FAULTS = ("error", "stall", "cut", "malformed")


@dataclass(frozen=True, slots=True)
class MockConfig:
    ttft_ms: float = 60.0
    itl_ms: float = 10.0
    output_tokens: int | None = None  # default: the request's max_tokens (or 16)
    error_rate: float = 0.0  # answer HTTP 500
    stall_rate: float = 0.0  # stop after a few tokens and hang
    cut_rate: float = 0.0  # close the connection after a few tokens
    malformed_rate: float = 0.0  # one chunk is not JSON
    seed: int = 0
    model: str = "mock-model"
    tail_ms: float = 0.0  # after the last token, before the usage chunk, [DONE] and the end


def prompt_tokens(text: str) -> int:
    """The mock's tokenizer: one token per whitespace-separated word."""
    return max(1, len(text.split()))


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


class _Conn:
    """One client connection on a raw non-blocking socket. Requests are stamped with the time
    the kernel received their first bytes, so the mock's own queueing under a burst of requests
    does not count against the client being measured: its first token leaves `ttft_ms` after the
    request reached the machine."""

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self.sock = sock
        self.loop = loop
        self.buffer = b""
        self.started: float | None = None  # arrival of the request being read
        self.out = bytearray()
        self.closed = False
        self.requests: asyncio.Queue[tuple[str, str, bytes, float | None] | None] = asyncio.Queue()
        self.hosts: list[str] = []  # the Host header of each request (the server's list)
        self.drained: asyncio.Future[None] | None = None
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        kernel_time.enable(sock, required=False)
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(262144, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        if not data:
            self.abort()
            return
        now = kernel_time.arrival(ancillary, time.perf_counter())
        if self.started is None:
            self.started = now
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            lines = head.split("\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
                elif name.strip().lower() == "host":
                    self.hosts.append(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, path, _ = lines[0].split(" ", 2)
            self.requests.put_nowait((method, path, body, self.started))
            self.started = now if self.buffer else None

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if not self.out:
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.abort()
                return
            if sent == len(data):
                return
            data = data[sent:]
            self.loop.add_writer(self.sock.fileno(), self._writable)
        self.out += data

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.abort()
            return
        del self.out[:sent]
        if not self.out:
            self.loop.remove_writer(self.sock.fileno())
            if self.drained is not None and not self.drained.done():
                self.drained.set_result(None)

    async def drain(self) -> None:
        if self.out and not self.closed:
            self.drained = self.loop.create_future()
            await self.drained

    def is_closing(self) -> bool:
        return self.closed

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.remove_reader(self.sock.fileno())
        if self.out:
            self.loop.remove_writer(self.sock.fileno())
        self.sock.close()
        self.requests.put_nowait(None)
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)


class MockServer:
    """Serve /v1/chat/completions, /v1/completions and /v1/models on 127.0.0.1."""

    def __init__(self, config: MockConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.host = host
        self.port = port
        self._rng = random.Random(config.seed)
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._connections: set[_Conn] = set()
        self.requests = 0
        self.hosts: list[str] = []  # every request's Host header, as sent
        self.faults: dict[str, int] = dict.fromkeys(FAULTS, 0)

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        listener = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(4096)
        listener.setblocking(False)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accepting = loop.create_task(self._accept(loop, listener))
        return self.port

    async def stop(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        if self._listener is not None:
            self._listener.close()
        for conn in list(self._connections):
            conn.abort()

    async def serve_forever(self) -> None:
        await self.start()
        assert self._accepting is not None
        await self._accepting

    async def _accept(self, loop: asyncio.AbstractEventLoop, listener: socket.socket) -> None:
        while True:
            sock, _ = await loop.sock_accept(listener)
            conn = _Conn(sock, loop)
            conn.hosts = self.hosts
            self._connections.add(conn)
            loop.create_task(self._serve(conn))

    async def _serve(self, conn: _Conn) -> None:
        try:
            while True:
                request = await conn.requests.get()
                if request is None:
                    break
                method, path, body, arrived = request
                stamp = arrived if arrived is not None else time.perf_counter()
                if not await self._handle(method, path, body, conn, stamp):
                    break
        finally:
            conn.abort()
            self._connections.discard(conn)

    async def _respond(self, writer: _Conn, status: str, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        writer.write(
            b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (status.encode(), len(data), data)
        )
        await writer.drain()

    def _fault(self) -> str | None:
        c, r = self.config, self._rng.random()
        for name, rate in zip(
            FAULTS, (c.error_rate, c.stall_rate, c.cut_rate, c.malformed_rate), strict=True
        ):
            if r < rate:
                return name
            r -= rate
        return None

    async def _handle(
        self, method: str, path: str, body: bytes, writer: _Conn, arrived: float
    ) -> bool:
        if method == "GET" and path.rstrip("/").endswith("/health"):
            await self._respond(writer, "200 OK", {"status": "ok"})
            return True
        if method == "GET" and path.rstrip("/") == "/version":  # as vLLM answers it
            from llmsize import __version__

            await self._respond(writer, "200 OK", {"version": __version__})
            return True
        if method == "GET" and path.rstrip("/").endswith("/models"):
            await self._respond(
                writer,
                "200 OK",
                {
                    "object": "list",
                    "data": [
                        {"id": self.config.model, "object": "model", "owned_by": "llmsize-mock"}
                    ],
                },
            )
            return True
        if method != "POST" or not path.rstrip("/").endswith(("/chat/completions", "/completions")):
            await self._respond(writer, "404 Not Found", {"error": {"message": f"no route {path}"}})
            return True
        try:
            request = json.loads(body)
        except json.JSONDecodeError:
            await self._respond(
                writer, "400 Bad Request", {"error": {"message": "body is not JSON"}}
            )
            return True
        self.requests += 1
        chat = path.rstrip("/").endswith("/chat/completions")
        if chat:
            text = " ".join(str(m.get("content", "")) for m in request.get("messages", []))
        else:
            text = str(request.get("prompt", ""))
        n_in = prompt_tokens(text)
        n_out = self.config.output_tokens or int(request.get("max_tokens") or 16)
        fault = self._fault() if request.get("stream") else None  # probes are never faulted
        if fault is not None:
            self.faults[fault] += 1
        if fault == "error":
            await asyncio.sleep(self.config.ttft_ms / 1e3)
            await self._respond(
                writer, "500 Internal Server Error", {"error": {"message": "injected"}}
            )
            return True
        usage = {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}
        if not request.get("stream"):
            await asyncio.sleep((self.config.ttft_ms + (n_out - 1) * self.config.itl_ms) / 1e3)
            content = " ".join(["tok"] * n_out)
            choice = {"index": 0, "finish_reason": "length"}
            choice.update(
                {"message": {"role": "assistant", "content": content}}
                if chat
                else {"text": content}
            )
            await self._respond(
                writer,
                "200 OK",
                {
                    "id": "mock",
                    "object": "completion",
                    "model": self.config.model,
                    "choices": [choice],
                    "usage": usage,
                },
            )
            return True
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        kind = "chat.completion.chunk" if chat else "text_completion"
        piece = b'"delta":{"content":"tok "}' if chat else b'"text":"tok "'
        token = b'{"id":"mock","object":"%s","choices":[{"index":0,%s,"finish_reason":null}]}' % (
            kind.encode(),
            piece,
        )
        event = _chunk(b"data: " + token + b"\n\n")
        broken_at = min(n_out - 1, 1 + self._rng.randrange(max(1, n_out - 1))) if fault else -1
        final: dict[str, object] = {
            "id": "mock",
            "object": kind,
            "choices": [
                {"index": 0, "finish_reason": "length", **({"delta": {}} if chat else {"text": ""})}
            ],
            "usage": usage,
        }
        tail = (
            _chunk(b"data: " + json.dumps(final).encode() + b"\n\n")
            + _chunk(b"data: [DONE]\n\n")
            + b"0\r\n\r\n"
        )
        loop = asyncio.get_running_loop()
        start = loop.time() - (time.perf_counter() - arrived)  # the request's arrival, loop clock
        ttft, itl = self.config.ttft_ms / 1e3, self.config.itl_ms / 1e3
        finished: asyncio.Future[bool] = loop.create_future()
        transport = writer

        def emit(i: int) -> None:
            # One timer callback per token, no task or future: the cheapest way asyncio has to
            # keep hundreds of streams on their absolute schedules.
            if transport.is_closing():
                if not finished.done():
                    finished.set_result(False)
                return
            if i == broken_at and fault == "stall":
                return  # never another byte: the client's timeout ends it
            if i == broken_at and fault == "cut":
                transport.abort()
                if not finished.done():
                    finished.set_result(False)
                return
            transport.write(_chunk(b"data: {not json\n\n") if i == broken_at else event)
            if i + 1 < n_out:
                loop.call_at(start + ttft + (i + 1) * itl, emit, i + 1)
            elif self.config.tail_ms > 0:
                loop.call_later(self.config.tail_ms / 1e3, end)
            else:
                end()

        def end() -> None:  # a busy front end sends the rest of the answer late
            if not transport.is_closing():
                transport.write(tail)
            if not finished.done():
                finished.set_result(not transport.is_closing())

        loop.call_at(start + ttft, emit, 0)
        if fault == "stall":
            await asyncio.sleep(3600)
        keep = await finished
        if keep:
            await writer.drain()
        return keep


def serve(config: MockConfig, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run until interrupted (llmsize serve-mock)."""
    asyncio.run(MockServer(config, host, port).serve_forever())
