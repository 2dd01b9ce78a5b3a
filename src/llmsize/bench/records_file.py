"""The per-request JSONL that `llmsize bench` writes as it runs, and read back as its runs.

`llmsize show` and `simulate --measured` look at a measured run long after it was taken; the file
is the run's whole record (send, first-token and end times per request; the send on the wall clock
too, to line up with server logs and other clients), so every statistic
`bench` printed can be recomputed from it, and the distributions drawn.

Each request's line is appended (and flushed) the moment it completes, so a run stopped by a
signal or a crash keeps every request up to then. The first line (`{"run": ...}`) says what ran;
the last (`{"run_end": ...}`) whether the run finished, and if not why: a file without it was cut
short by a kill, and is read as partial.
"""

from __future__ import annotations

import json
import time
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
    for key in ("index", "prompt_tokens", "output_tokens", "status", "worker"):
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
        worker=int(row.get("worker") or 0),
    )
    return _level(where, row["level"]), record


def read_runs(path: Path) -> list[LevelRun]:
    """The levels of a bench JSONL file in the order they were run (times in file seconds); a
    file whose run did not finish marks its levels stopped early."""
    where = str(path)
    from llmsize.files import load_json, read_text

    lines = read_text(path, "bench records").splitlines()
    runs: dict[Level, list[RequestRecord]] = {}
    header = end = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        at = f"{where} line {number}"
        row = load_json(line, at)
        if isinstance(row, dict) and "run" in row:
            header = row["run"]
            continue
        if isinstance(row, dict) and "run_end" in row:
            end = row["run_end"]
            continue
        level, record = _record(row, at)
        runs.setdefault(level, []).append(record)
    if not runs:
        raise InputError(where, "no request records (expected the JSONL of llmsize bench)")
    partial = header is not None and not (isinstance(end, dict) and end.get("complete") is True)
    return [
        LevelRun(level, records, started=0.0, stopped_early=partial)
        for level, records in runs.items()
    ]


class RecordsWriter:
    """Appends each completed request to the JSONL at once (flushed), between a line saying
    what ran and one saying how the run ended."""

    def __init__(self, path: Path, force: bool, run: dict[str, Any]) -> None:
        self.path = path
        try:
            self._file = path.open("w" if force else "x", encoding="utf-8")
        except OSError as exc:
            raise InputError("--jsonl", f"cannot write {path}: {exc.strerror or exc}") from None
        self.records = 0
        self._wall_minus_perf = time.time() - time.perf_counter()
        self._line({"run": run})

    def _line(self, row: dict[str, Any]) -> None:
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()

    def record(self, level: Level, started: float, record: RequestRecord) -> None:
        row = record.as_json(started)
        row["level"] = level.label
        # The send on the wall clock too: lines up with server logs and other clients' records.
        row["sent_unix_s"] = round(record.sent + self._wall_minus_perf, 6)
        self._line(row)
        self.records += 1

    def close(
        self,
        complete: bool,
        reason: str | None,
        counts: dict[str, int],
        server: str | None = None,
    ) -> None:
        """The closing line: finished or not (and why), the outcomes counted, and the engine the
        server said it was."""
        end = {"complete": complete, "reason": reason, "outcomes": counts, "server": server}
        self._line({"run_end": end})
        self._file.close()

    def discard(self) -> None:
        """Nothing was measured (the run failed before its first request): no file is left."""
        self._file.close()
        self.path.unlink(missing_ok=True)


def select(runs: list[LevelRun], label: str | None) -> list[LevelRun]:
    """Every level, or the one named by --level ('concurrency 8', or just '8' when unambiguous)."""
    if label is None:
        return runs
    wanted = [r for r in runs if label in (r.level.label, f"{r.level.value:g}")]
    if len(wanted) != 1:
        from llmsize.errors import unknown_name

        raise unknown_name("--level", "level", label, (r.level.label for r in runs))
    return wanted


def run_header(path: Path) -> dict[str, Any]:
    """What a bench JSONL says ran (its first line's `run`), or {} for a file without one."""
    from llmsize.files import load_json, read_text

    for line in read_text(path, "bench records").splitlines():
        if line.strip():
            row = load_json(line, f"{path} line 1")
            found = row.get("run") if isinstance(row, dict) else None
            return found if isinstance(found, dict) else {}
    return {}
