"""A mock OpenAI-compatible server on 127.0.0.1, in a thread with its own event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest

from llmsize.bench.mock import MockConfig, MockServer


class RunningMock:
    def __init__(self, config: MockConfig) -> None:
        self.server = MockServer(config)
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.server.start())
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/v1"

    def close(self) -> None:
        async def shutdown() -> None:
            await self.server.stop()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def mock_server() -> Iterator[Callable[..., RunningMock]]:
    started: list[RunningMock] = []

    def start(**options: object) -> RunningMock:
        mock = RunningMock(MockConfig(**options))  # type: ignore[arg-type]
        started.append(mock)
        return mock

    yield start
    for mock in started:
        mock.close()


@pytest.fixture
def mock_process() -> Iterator[Callable[..., str]]:
    """`llmsize serve-mock` in a process of its own on 127.0.0.1 (so the clients measured do
    not share its event loop, as they share the in-process mock's); its URL once it answers."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    started: list[subprocess.Popen[bytes]] = []

    def start(ttft_ms: float, itl_ms: float) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, "-m", "llmsize", "serve-mock", "--port", str(port),
             "--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started.append(server)
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/models", timeout=1)
                return url
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("serve-mock did not answer within 30 s")

    yield start
    for server in started:
        server.terminate()
        server.wait(10)
