"""Read back the per-request JSONL that `llmsize bench` writes, as the runs it came from.

`llmsize show` and `simulate --measured` look at a measured run long after it was taken; the file
is the run's whole record (send, first-token and end times per request), so every statistic
`bench` printed can be recomputed from it, and the distributions drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmsize.bench.client import RequestRecord
from llmsize.bench.runner import Level, LevelRun
from llmsize.errors import InputError, shown
from llmsize.files import finite

LOAD_KINDS = ("rate", "concurrency")


def _level(where: str, label: object) -> Level:
    parts = str(label).split()
    if len(parts) != 2 or parts[0] not in LOAD_KINDS:
        raise InputError(where, f"level {label!r} is not 'rate N' or 'concurrency N'")
    try:
        value = float(parts[1])
    except ValueError:
        raise InputError(where, f"level {label!r} has no number") from None
    return Level(parts[0], value)


def _seconds(row: dict[str, Any], key: str, where: str, required: bool = True) -> float | None:
    value = row.get(key)
    if value is None and not required:
        return None
    if not finite(value):
        raise InputError(where, f"{key!r} must be a number of milliseconds, got {shown(value)}")
    assert isinstance(value, int | float)
    return float(value) / 1e3


def _record(row: object, where: str) -> tuple[Level, RequestRecord]:
    if not isinstance(row, dict):
        raise InputError(where, "each line must be a JSON object (a request record)")
    if "level" not in row:
        raise InputError(where, "missing 'level' (is this a file written by llmsize bench?)")
    sent = _seconds(row, "sent_ms", where) or 0.0
    token_ms = row.get("token_ms") or []
    if not isinstance(token_ms, list) or not all(finite(t) for t in token_ms):
        raise InputError(where, "'token_ms' must be a list of milliseconds")
    for key in ("index", "prompt_tokens", "output_tokens", "status"):
        value = row.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise InputError(where, f"{key!r} must be a whole number, got {shown(value)}")
    for key in ("error", "detail"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise InputError(where, f"{key!r} must be text, got {shown(row[key])}")
    if not isinstance(row.get("warmup", False), bool):
        raise InputError(where, f"'warmup' must be true or false, got {shown(row['warmup'])}")
    record = RequestRecord(
        index=int(row.get("index") or 0),
        scheduled=_seconds(row, "scheduled_ms", where, required=False) or sent,
        sent=sent,
        first_token=_seconds(row, "first_token_ms", where, required=False),
        end=_seconds(row, "end_ms", where) or 0.0,
        token_times=[sent + float(t) / 1e3 for t in token_ms],
        prompt_tokens=row.get("prompt_tokens"),
        output_tokens=row.get("output_tokens"),
        status=int(row.get("status") or 0),
        error=row.get("error"),
        detail=str(row.get("detail") or ""),
        warmup=bool(row.get("warmup", False)),
    )
    return _level(where, row["level"]), record


def read_runs(path: Path) -> list[LevelRun]:
    """The levels of a bench JSONL file in the order they were run (times in file seconds)."""
    where = str(path)
    from llmsize.files import load_json, read_text

    lines = read_text(path, "bench records").splitlines()
    runs: dict[Level, list[RequestRecord]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        at = f"{where} line {number}"
        level, record = _record(load_json(line, at), at)
        runs.setdefault(level, []).append(record)
    if not runs:
        raise InputError(where, "no request records (expected the JSONL of llmsize bench)")
    return [LevelRun(level, records, started=0.0) for level, records in runs.items()]


def select(runs: list[LevelRun], label: str | None) -> list[LevelRun]:
    """Every level, or the one named by --level ('concurrency 8', or just '8' when unambiguous)."""
    if label is None:
        return runs
    wanted = [r for r in runs if label in (r.level.label, f"{r.level.value:g}")]
    if len(wanted) != 1:
        from llmsize.errors import unknown_name

        raise unknown_name("--level", "level", label, (r.level.label for r in runs))
    return wanted
