"""One streaming request to an OpenAI-compatible endpoint, timed.

While the stream runs, the only work per chunk is taking a timestamp and keeping the raw line;
the chunks are parsed after the request ends, so parsing never delays the next timestamp.
Faults are results: HTTP errors, timeouts, dropped streams and malformed chunks become an error
kind on the record, never an exception.
"""

from __future__ import annotations

import asyncio
import errno
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from llmsize.bench.stream import ProtocolError, StreamClient, StreamError

ERROR_KINDS = (
    "http_429",
    "http_4xx",
    "http_5xx",
    "http_other",
    "timeout",
    "dropped_stream",
    "protocol",
    "malformed_chunk",
    "bad_payload",
    "no_tokens",
    "connect",
    "client_limit",
    "interrupted",
    "lost",
)
"""How a request can fail; each is counted, and the run goes on:
- http_429 (the server's rate limit; its Retry-After is in the detail), http_4xx, http_5xx,
  http_other: the answer's status class;
- timeout: no whole answer within --timeout; dropped_stream: the connection ended mid-answer;
- protocol: bytes that are not HTTP/1.1; malformed_chunk: a stream line that is not JSON;
  bad_payload: JSON of the wrong shape, or text that is not UTF-8; no_tokens: a stream with no text;
- connect: the server could not be reached; client_limit: this machine ran out of sockets or
  file descriptors (the client's limit, not the server's fault);
- interrupted: in flight when the run was stopped (Ctrl-C, SIGTERM, SIGHUP);
- lost: in flight on a client worker process or Ray actor that died, so its answer was never
  recorded (the run names the worker and why it stopped)."""

CLIENT_LIMIT_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.EADDRNOTAVAIL})


def http_kind(status: int) -> str:
    if status == 429:
        return "http_429"
    if 400 <= status < 500:
        return "http_4xx"
    if 500 <= status < 600:
        return "http_5xx"
    return "http_other"


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
    worker: int = 0  # the client process that sent it (bench --workers)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def last_token(self) -> float:
        """When the last token arrived (the README's E2E ends there): the last text chunk, else
        the answer's end. The response goes on after it (a usage chunk, [DONE], the chunked
        body's end), as late as the server gets round to it: on a busy server that tail was
        hundreds of milliseconds, read as decode time by every token of the request."""
        return self.token_times[-1] if self.token_times else self.end

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
            "worker": self.worker,
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


class _BadPayload(Exception):
    """A stream chunk of valid JSON in a shape no OpenAI-compatible server sends."""


def _text_of(chunk: object) -> tuple[bool, dict[str, Any] | None]:
    """Whether the chunk carries text, and its usage; raises _BadPayload for a wrong shape."""
    if not isinstance(chunk, dict):
        raise _BadPayload(f"a chunk that is not an object: {str(chunk)[:60]}")
    usage = chunk.get("usage")
    if usage is not None and not isinstance(usage, dict):
        raise _BadPayload(f"'usage' is not an object: {str(usage)[:60]}")
    choices = chunk.get("choices")
    if choices is None:
        choices = []
    if not isinstance(choices, list):
        raise _BadPayload(f"'choices' is not a list: {str(choices)[:60]}")
    has_text = False
    for choice in choices:
        if not isinstance(choice, dict):
            raise _BadPayload(f"a choice that is not an object: {str(choice)[:60]}")
        delta = choice.get("delta")
        if delta is not None and not isinstance(delta, dict):
            raise _BadPayload(f"'delta' is not an object: {str(delta)[:60]}")
        text = (delta or {}).get("content")
        if text is None:
            text = choice.get("text")
        if text is not None and not isinstance(text, str):
            raise _BadPayload(f"text that is not a string: {str(text)[:60]}")
        has_text = has_text or bool(text)
    return has_text, usage


def _count(usage: dict[str, Any], key: str, current: int | None) -> int | None:
    value = usage.get(key, current)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _BadPayload(f"usage.{key} is not a count: {str(value)[:40]}")
    return value


def _parse(record: RequestRecord, lines: list[tuple[float, bytes]]) -> None:
    """Turn the raw SSE lines into token times and counts. Text chunks in compact JSON are
    recognised by their bytes; anything else (usage, role, odd spacing) is parsed as JSON. Every
    line must be UTF-8; a line of the wrong shape fails the request as `bad_payload`."""
    done = False
    for t, line in lines:
        data = line[5:].strip()
        if data == b"[DONE]":
            done = True
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            _fail_once(record, "bad_payload", "a stream line that is not UTF-8")
            continue
        if _is_token(data):
            record.token_times.append(t)
            continue
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            _fail_once(record, "malformed_chunk", data[:80].decode("utf-8", "replace"))
            continue
        try:
            has_text, usage = _text_of(chunk)
            if usage:
                record.prompt_tokens = _count(usage, "prompt_tokens", record.prompt_tokens)
                record.output_tokens = _count(usage, "completion_tokens", record.output_tokens)
        except _BadPayload as exc:
            _fail_once(record, "bad_payload", str(exc))
            continue
        if has_text:
            record.token_times.append(t)
    if record.token_times:
        record.first_token = record.token_times[0]
        if record.output_tokens is None:
            record.output_tokens = len(record.token_times)
    elif record.error is None:
        record.error = "no_tokens"
    if not done and record.error is None:
        record.error = "dropped_stream"


def _fail_once(record: RequestRecord, kind: str, detail: str) -> None:
    """The first fault of a request names it."""
    if record.error is None:
        record.error, record.detail = kind, detail[:120]


async def send(
    client: StreamClient, endpoint: Endpoint, record: RequestRecord, prompt: str, output: int
) -> RequestRecord:
    """Send one streaming request and fill its record; never raises for a failed request (a
    cancellation, when the run is stopped, marks it `interrupted` and is passed on)."""
    body = json.dumps(endpoint.payload(prompt, output)).encode()
    path = urlsplit(endpoint.path).path
    record.sent = time.perf_counter()
    try:
        response = await client.post(path, body, endpoint.headers())
    except TimeoutError:
        return _failed(record, "timeout", "")
    except ProtocolError as exc:
        return _failed(record, "protocol", str(exc))
    except StreamError as exc:
        return _failed(record, "dropped_stream", str(exc))
    except OSError as exc:
        kind = "client_limit" if exc.errno in CLIENT_LIMIT_ERRNOS else "connect"
        return _failed(record, kind, str(exc))
    except asyncio.CancelledError:
        _failed(record, "interrupted", "the run was stopped with this request in flight")
        raise
    record.status = response.status
    record.end = response.finished
    if response.status != 200:
        detail = f"HTTP {response.status}"
        retry = response.headers.get("retry-after")
        if retry:
            detail += f" (Retry-After: {retry[:40]})"
        return _failed(record, http_kind(response.status), detail, keep_end=True)
    _parse(record, response.lines)
    return record


def _failed(record: RequestRecord, kind: str, detail: str, keep_end: bool = False) -> RequestRecord:
    record.error, record.detail = kind, detail[:120]
    if not keep_end:
        record.end = time.perf_counter()
    return record
