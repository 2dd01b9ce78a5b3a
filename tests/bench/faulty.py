"""Small faulty HTTP servers on 127.0.0.1 for the load generator's tests (issue 13).

Each server reads whole HTTP/1.1 requests and answers each with the raw bytes a test's `answer`
coroutine writes, so a test can break HTTP or the stream in exactly one way. The server runs in a
thread with its own event loop, counts the connections it accepted and closed, and stops itself
when the test ends (every wait is bounded).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Awaitable, Callable

Answer = Callable[[asyncio.StreamWriter, int], Awaitable[bool]]
"""(writer, request number) -> keep the connection open for the next request."""

WAIT_S = 30.0


def sse(*chunks: object, done: bool = True) -> bytes:
    """A chunked event stream whose data lines are the given objects (JSON) or raw bytes."""
    out = b""
    for chunk in chunks:
        line = chunk if isinstance(chunk, bytes) else json.dumps(chunk).encode()
        payload = b"data: " + line + b"\n\n"
        out += f"{len(payload):x}\r\n".encode() + payload + b"\r\n"
    if done:
        payload = b"data: [DONE]\n\n"
        out += f"{len(payload):x}\r\n".encode() + payload + b"\r\n"
    return out + b"0\r\n\r\n"


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
)


def token(text: str = "hi") -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": {"content": text}}]}


USAGE = {"choices": [], "usage": {"prompt_tokens": 8, "completion_tokens": 2}}
PROBES = 2
"""Requests `bench` sends first, unstreamed, to learn the server's prompt length per word."""


def probe_answer(words: int = 8) -> bytes:
    """A valid unstreamed answer to a prompt-length probe."""
    body = json.dumps({"choices": [], "usage": {"prompt_tokens": words}}).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


class FaultyServer:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests = 0
        self.on_body: Callable[[bytes], None] | None = None  # sees each request's body
        self.accepted = 0
        self.closed = 0
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self._server = self.loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(WAIT_S)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT_S)
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await asyncio.wait_for(reader.readexactly(length), WAIT_S)
                if head.startswith(b"GET "):  # what the client asks about the server: nothing
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                self.requests += 1
                if self.on_body is not None:
                    self.on_body(body)
                keep = await self.answer(writer, self.requests)
                await writer.drain()
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass
        finally:
            self.closed += 1
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    def close(self) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(WAIT_S)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT_S)
        self.loop.close()
