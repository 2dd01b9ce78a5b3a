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
