"""The curve CSV schema: one measured point per row, with its source (see data/CURVES.md)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from llmsize.catalog.precisions import CURVE_PRECISIONS
from llmsize.errors import InputError

LOAD_TYPES = ("batch", "concurrency", "rate")

REQUIRED_COLUMNS = ("model", "gpu", "precision", "load_type", "input_tokens", "output_tokens")


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One measured configuration. Latencies are per request; rates are per TP instance."""

    model: str
    gpu: str
    precision: str
    tp: int | None
    load_type: str
    load_value: float | None
    input_tokens: float
    output_tokens: float
    ttft_ms: float | None = None
    itl_ms: float | None = None
    e2e_ms: float | None = None
    req_s: float | None = None
    rps_per_8_gpus: float | None = None
    out_tok_s: float | None = None
    latency_stat: str = ""
    source_id: str = ""
    source: str = ""
    source_row: str = ""
    raw_model: str = ""
    raw_gpu: str = ""
    raw_precision: str = ""
    notes: str = ""
    origin: str = "bundled"


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(CurvePoint) if f.name != "origin")


def csv_number(text: str, column: str, where: str, *, integer: bool = False) -> float | None:
    """A measurement CSV cell: blank is None; otherwise a finite number >= 0 (whole where
    asked), or an InputError naming the file, line and column."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: {column}", f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{where}: {column}", f"expected a finite number >= 0, got {text!r}")
    if integer and value != int(value):
        raise InputError(f"{where}: {column}", f"expected a whole number, got {text!r}")
    return value


def _row_to_point(row: dict[str, str], where: str, origin: str) -> CurvePoint:
    for column in REQUIRED_COLUMNS:
        if not (row.get(column) or "").strip():
            raise InputError(f"{where}: {column}", "is required")
    precision = row["precision"].strip().lower()
    if precision not in CURVE_PRECISIONS:
        raise InputError(
            f"{where}: precision", f"{precision!r} is not one of {', '.join(CURVE_PRECISIONS)}"
        )
    load_type = row["load_type"].strip().lower()
    if load_type not in LOAD_TYPES:
        raise InputError(
            f"{where}: load_type", f"{load_type!r} is not one of {', '.join(LOAD_TYPES)}"
        )
    tp = csv_number(row.get("tp") or "", "tp", where, integer=True)
    if tp is not None and tp < 1:
        raise InputError(f"{where}: tp", "must be at least 1")
    lengths = {}
    for column in ("input_tokens", "output_tokens"):
        value = csv_number(row[column], column, where)
        if value is None or value < 1:
            raise InputError(f"{where}: {column}", "must be at least 1")
        lengths[column] = value

    def metric(name: str) -> float | None:
        return csv_number(row.get(name) or "", name, where)

    def text(name: str) -> str:
        return (row.get(name) or "").strip()

    ttft, req_s, per_8 = metric("ttft_ms"), metric("req_s"), metric("rps_per_8_gpus")
    if ttft is None and per_8 is None and req_s is None:
        raise InputError(f"{where}: ttft_ms", "a row needs ttft_ms, req_s or rps_per_8_gpus")
    return CurvePoint(
        model=row["model"].strip(),
        gpu=row["gpu"].strip(),
        precision=precision,
        tp=int(tp) if tp is not None else None,
        load_type=load_type,
        load_value=metric("load_value"),
        input_tokens=lengths["input_tokens"],
        output_tokens=lengths["output_tokens"],
        ttft_ms=ttft,
        itl_ms=metric("itl_ms"),
        e2e_ms=metric("e2e_ms"),
        req_s=req_s,
        rps_per_8_gpus=per_8,
        out_tok_s=metric("out_tok_s"),
        latency_stat=text("latency_stat"),
        source_id=text("source_id"),
        source=text("source"),
        source_row=text("source_row"),
        raw_model=text("raw_model"),
        raw_gpu=text("raw_gpu"),
        raw_precision=text("raw_precision"),
        notes=text("notes"),
        origin=origin,
    )


def parse_curves(
    text: str,
    origin: str,
    canonical: Callable[[CurvePoint, str], CurvePoint] | None = None,
    models: Collection[str] | None = None,
    problems: list[InputError] | None = None,
) -> list[CurvePoint]:
    """Parse curve CSV text; every problem is an InputError naming the file, line and column.

    `models` keeps only rows whose model column is one of these (exact text): the bundled file is
    stored with catalog ids, so a plan converts only its own model's rows. With `problems`, a bad
    row is collected there and skipped instead of raised (`llmsize validate` lists them all).
    """
    from llmsize.files import csv_rows

    reader = csv_rows(text, origin)
    header = next(reader, (1, []))[1]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(origin, f"missing column(s) {', '.join(missing)}; see the curve schema")
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise InputError(
            origin, f"unknown column(s) {', '.join(unknown)}; allowed: {', '.join(COLUMNS)}"
        )
    points = []
    model_at = header.index("model")
    for line, values in reader:
        if models is not None and (len(values) <= model_at or values[model_at] not in models):
            continue
        row = dict(zip(header, values, strict=False))
        where = f"{origin}:{line}"
        try:
            point = _row_to_point(row, where, origin)
            points.append(canonical(point, where) if canonical else point)
        except InputError as exc:
            if problems is None:
                raise
            problems.append(exc)
    return points


def read_curve_file(
    path: Path, canonical: Callable[[CurvePoint, str], CurvePoint] | None = None
) -> list[CurvePoint]:
    from llmsize.files import read_text

    return parse_curves(read_text(path, "curve CSV"), str(path), canonical)


def write_curves(points: Iterable[CurvePoint]) -> Iterator[str]:
    """CSV lines (header first) for points, the inverse of parse_curves."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    for point in points:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            ["" if getattr(point, c) is None else _fmt(getattr(point, c)) for c in COLUMNS]
        )
        yield buffer.getvalue()


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
