"""The talk's sizing checklist as answers, and the commented use-case YAML they make.

`llmsize init` asks the questions (or takes flags) and this module turns the answers into a file
`plan` accepts, so the interactive and the scripted forms write the same bytes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import NamedTuple

from llmsize.errors import InputError

WORDS_PER_TOKEN = 0.75


@dataclass(frozen=True, slots=True)
class Answers:
    model: str
    input_tokens: int
    output_tokens: int
    system_prompt_tokens: int = 0
    system_prompt: str | None = None  # the pasted text, when given (its tokens counted above)
    rag_tokens: int = 0
    history_tokens: int = 0
    streaming: bool = True
    first_token_ms: float | None = None
    last_token_ms: float | None = None
    inter_token_ms: float | None = None
    peak_rps: float | None = None
    avg_rps: float | None = None
    load_note: str = ""
    batch_requests: int | None = None  # a batch job: requests to finish a day, in a window
    window_hours: float | None = None
    server: str = "all"
    precision: str = "best"
    name: str | None = None

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.rag_tokens + self.history_tokens


def parse_length(text: str, where: str) -> int:
    """'500' or '500 tokens' -> 500; '300 words' -> 400 (0.75 words per token)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(tokens?|words?)?\s*", text.lower())
    if not match:
        raise InputError(where, f"{text!r} is not a length: give '500' (tokens) or '300 words'")
    value = float(match.group(1))
    tokens = value / WORDS_PER_TOKEN if (match.group(2) or "").startswith("word") else value
    if tokens < 1:
        raise InputError(where, "must be at least 1 token")
    return math.ceil(tokens)


def parse_system_prompt(text: str) -> tuple[int, str | None]:
    """'0', '200', '150 words' -> a length; anything else of two or more words is the prompt's
    text, counted at 0.75 words per token."""
    if text.strip() == "0":
        return 0, None
    try:
        return parse_length(text, "system prompt"), None
    except InputError:
        if len(text.split()) < 2:
            raise InputError(
                "system prompt", f"{text!r}: give tokens ('200'), '150 words' or paste the text"
            ) from None
    from llmsize.units import text_to_tokens

    return text_to_tokens(text.strip()), text.strip()


class LoadAnswer(NamedTuple):
    """The load as answered: a peak, an average, or a batch job (requests within a window)."""

    peak_rps: float | None
    avg_rps: float | None
    note: str = ""
    batch_requests: int | None = None
    window_hours: float | None = None


LOAD_FORMS = (
    "a peak ('30'), an average ('avg 25'), '200000/day over 8h' or a batch job "
    "('batch 2000000 in 8h')"
)


def parse_load(text: str, where: str) -> LoadAnswer:
    """'30' or '30 peak' -> peak; 'avg 25' -> average; '200000/day over 8h' -> average over the
    working hours; 'batch 2000000 in 8h' -> a batch job (no Poisson peak: sized for throughput)."""
    t = text.strip().lower()
    job = re.fullmatch(r"(?:batch\s+)?(\d+)\s+in\s+(\d+(?:\.\d+)?)\s*h", t)
    if job:
        requests, hours = int(job.group(1)), float(job.group(2))
        if not 0 < hours <= 24 or requests < 1:
            raise InputError(where, "a batch job needs at least 1 request within 1-24 hours")
        return LoadAnswer(None, None, "", requests, hours)
    day = re.fullmatch(r"(\d+(?:\.\d+)?)\s*/\s*day(?:\s+over\s+(\d+(?:\.\d+)?)\s*h)?", t)
    if day:
        per_day, hours = float(day.group(1)), float(day.group(2) or 8)
        if not 0 < hours <= 24 or per_day <= 0:
            raise InputError(where, "requests per day must be > 0 over 1-24 hours")
        avg = round(per_day / (hours * 3600), 4)
        return LoadAnswer(None, avg, f"{per_day:g} requests a day over {hours:g} working hours")
    avg_match = re.fullmatch(r"(?:avg|average)\s+(\d+(?:\.\d+)?)", t)
    if avg_match and float(avg_match.group(1)) > 0:
        return LoadAnswer(None, float(avg_match.group(1)))
    peak_match = re.fullmatch(r"(\d+(?:\.\d+)?)(?:\s+peak)?", t)
    if peak_match and float(peak_match.group(1)) > 0:
        return LoadAnswer(float(peak_match.group(1)), None)
    raise InputError(where, f"{text!r}: give {LOAD_FORMS}")


READING_SPEEDS = {"fast": 90.0, "average": 200.0}
"""The talk's inter-token limits from reading speed: a fast reader 90 ms a token, an average
one 200 ms (S62797's checklist)."""


def parse_inter_token(text: str, where: str) -> float | None:
    """'none' (or empty) -> no limit; 'fast' -> 90 ms; 'average' -> 200 ms; '50' -> 50 ms."""
    answer = text.strip().lower().removesuffix("ms").strip()
    if answer in ("", "none"):
        return None
    if answer in READING_SPEEDS:
        return READING_SPEEDS[answer]
    try:
        value = float(answer)
    except ValueError:
        value = math.nan
    if not 0 < value <= 86_400_000:
        raise InputError(
            where, f"{text!r}: give milliseconds ('50'), 'fast' (90), 'average' (200) or 'none'"
        )
    return value


def _number(value: float) -> str:
    return f"{value:g}"


def to_yaml(a: Answers) -> str:
    """The use case as commented YAML (the checklist's order, each line saying what it is)."""
    lines = ["# llmsize use case, written by `llmsize init`: edit freely, then `llmsize plan` it."]
    if a.name:
        lines.append(f"name: {a.name}")
    lines.append(f"model: {a.model}")
    if a.system_prompt is not None:
        quoted = json.dumps(a.system_prompt, ensure_ascii=False)  # a JSON string is valid YAML
        lines.append(
            f"system_prompt: {quoted}   # ~{a.system_prompt_tokens} tokens, counts as input"
        )
    elif a.system_prompt_tokens:
        lines.append(f"system_prompt_tokens: {a.system_prompt_tokens}   # counts as input")
    parts = [f"{a.input_tokens} user"]
    if a.rag_tokens:
        parts.append(f"{a.rag_tokens} RAG documents")
    if a.history_tokens:
        parts.append(f"{a.history_tokens} chat history")
    lines.append(
        f"input_tokens: {a.total_input_tokens}   # average, without the system prompt: "
        + " + ".join(parts)
    )
    lines.append(f"output_tokens: {a.output_tokens}   # average")
    limits = [
        (key, value)
        for key, value in (
            ("first_token_ms", a.first_token_ms),
            ("last_token_ms", a.last_token_ms),
            ("inter_token_ms", a.inter_token_ms),
        )
        if value is not None
    ]
    if limits:
        kinds = [
            words
            for words, value in (
                ("streaming: time to first token", a.first_token_ms),
                ("sequential: time to last token", a.last_token_ms),
                ("inter-token latency (reading speed)", a.inter_token_ms),
            )
            if value is not None
        ]
        verb = "are the limits" if len(kinds) > 1 else "is the limit"
        lines.append(f"latency:   # {' and '.join(kinds)} {verb}")
        lines += [f"  {key}: {_number(value)}" for key, value in limits]
    else:
        lines.append(
            "# latency: none; a batch job's latencies are shown, not limiting unless you add one"
        )
    lines.append("load:")
    if a.batch_requests is not None:
        lines += [
            "  batch:   # sized for the throughput that finishes it in time (no Poisson peak)",
            f"    requests: {a.batch_requests}",
            f"    window_hours: {_number(a.window_hours or 0)}",
        ]
    if a.peak_rps is not None:
        lines.append(f"  peak_rps: {_number(a.peak_rps)}")
    if a.avg_rps is not None:
        note = f"   # {a.load_note}" if a.load_note else "   # peak = its 95 % Poisson quantile"
        lines.append(f"  avg_rps: {_number(a.avg_rps)}{note}")
    hardware = []
    if a.server != "all":
        hardware.append(f"  server: {a.server}")
    if a.precision != "best":
        hardware.append(f"  precision: {a.precision}")
    if hardware:
        lines += ["hardware:", *hardware]
    else:
        lines.append("# hardware: every catalogued server type is compared, at its best precision")
    return "\n".join(lines) + "\n"
