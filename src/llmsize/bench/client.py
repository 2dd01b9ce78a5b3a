"""One streaming request to an OpenAI-compatible endpoint, timed.

While the stream runs, the only work per chunk is taking a timestamp and keeping the raw line;
the chunks are parsed after the request ends, so parsing never delays the next timestamp.
Faults are results: HTTP errors, timeouts, dropped streams and malformed chunks become an error
kind on the record, never an exception.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from llmsize.bench.stream import StreamClient, StreamError

ERROR_KINDS = ("http", "timeout", "dropped_stream", "malformed_chunk", "no_tokens", "connect")
"""How a request can fail; each is counted, and the run goes on."""


@dataclass(slots=True)
class RequestRecord:
    """One request as the client saw it (perf_counter seconds; offsets relative to `scheduled`)."""

    index: int
    scheduled: float
    sent: float = 0.0
    first_token: float | None = None
    end: float = 0.0
    token_times: list[float] = field(default_factory=list)
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    status: int = 0
    error: str | None = None
    detail: str = ""
    warmup: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self, origin: float) -> dict[str, Any]:
        def rel(t: float | None) -> float | None:
            return None if t is None else round((t - origin) * 1e3, 3)

        return {
            "index": self.index,
            "warmup": self.warmup,
            "scheduled_ms": rel(self.scheduled),
            "sent_ms": rel(self.sent),
            "first_token_ms": rel(self.first_token),
            "end_ms": rel(self.end),
            "token_ms": [round((t - self.sent) * 1e3, 3) for t in self.token_times],
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "status": self.status,
            "error": self.error,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str  # base URL, e.g. http://127.0.0.1:8000/v1
    model: str
    api: str = "chat"  # chat | completions
    api_key: str | None = None
    timeout_s: float = 120.0

    @property
    def path(self) -> str:
        return self.url.rstrip("/") + (
            "/chat/completions" if self.api == "chat" else "/completions"
        )

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def payload(self, prompt: str, output_tokens: int, stream: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": output_tokens,
            "stream": stream,
            # Force the length where the server allows it (vLLM, TensorRT-LLM, NIM honour these).
            "min_tokens": output_tokens,
            "ignore_eos": True,
            "temperature": 0.0,
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
        if self.api == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        return body


_TOKEN_MARKS = (b'"content":"', b'"text":"')
_EMPTY_MARKS = (b'"content":""', b'"text":""')


def _is_token(data: bytes) -> bool:
    """A chunk that carries text, recognised without parsing it (the common, compact form)."""
    return (
        data.endswith(b"}")
        and any(m in data for m in _TOKEN_MARKS)
        and not any(m in data for m in _EMPTY_MARKS)
        and b'"usage"' not in data
    )


def _parse(record: RequestRecord, lines: list[tuple[float, bytes]]) -> None:
    """Turn the raw SSE lines into token times and counts. Text chunks in compact JSON are
    recognised by their bytes; anything else (usage, role, odd spacing) is parsed as JSON."""
    done = False
    for t, line in lines:
        data = line[5:].strip()
        if data == b"[DONE]":
            done = True
            continue
        if _is_token(data):
            record.token_times.append(t)
            continue
        try:
            chunk = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            record.error = record.error or "malformed_chunk"
            record.detail = record.detail or data[:80].decode("utf-8", "replace")
            continue
        if not isinstance(chunk, dict):
            continue
        usage = chunk.get("usage")
        if usage:
            record.prompt_tokens = usage.get("prompt_tokens", record.prompt_tokens)
            record.output_tokens = usage.get("completion_tokens", record.output_tokens)
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            text = delta.get("content") if isinstance(delta, dict) else None
            if text is None:
                text = choice.get("text")
            if text:
                record.token_times.append(t)
    if record.token_times:
        record.first_token = record.token_times[0]
        if record.output_tokens is None:
            record.output_tokens = len(record.token_times)
    elif record.error is None:
        record.error = "no_tokens"
    if not done and record.error is None:
        record.error = "dropped_stream"


async def send(
    client: StreamClient, endpoint: Endpoint, record: RequestRecord, prompt: str, output: int
) -> RequestRecord:
    """Send one streaming request and fill its record; never raises for a failed request."""
    body = json.dumps(endpoint.payload(prompt, output)).encode()
    path = urlsplit(endpoint.path).path
    record.sent = time.perf_counter()
    try:
        response = await client.post(path, body, endpoint.headers())
    except TimeoutError:
        record.error = "timeout"
        record.end = time.perf_counter()
        return record
    except StreamError as exc:
        record.error, record.detail = "dropped_stream", str(exc)[:120]
        record.end = time.perf_counter()
        return record
    except OSError as exc:
        record.error, record.detail = "connect", str(exc)[:120]
        record.end = time.perf_counter()
        return record
    record.status = response.status
    record.end = response.finished
    if response.status != 200:
        record.error, record.detail = "http", f"HTTP {response.status}"
        return record
    _parse(record, response.lines)
    return record
