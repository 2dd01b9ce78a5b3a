"""CSV and Markdown for any command's JSON document, so every command prints all four formats
(table, json, csv, markdown) from one result model."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

ROW_LISTS = ("alternatives", "configs", "levels", "rows", "groups")
"""The list of rows a CSV holds, when a document has one."""


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{'ttft_ms': {'p50': 1}} -> {'ttft_ms.p50': 1}; lists of scalars joined by '; '."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return {prefix: "; ".join(str(v) for v in value)}
    if isinstance(value, list):
        return {prefix: json.dumps(value)}
    return {prefix: value}


def _rows(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, list):
        return [flatten(item) for item in doc]
    for key in ROW_LISTS:
        if isinstance(doc.get(key), list) and doc[key] and isinstance(doc[key][0], dict):
            return [flatten(item) for item in doc[key]]
    return [flatten(doc)]


def to_csv(doc: Any) -> str:
    rows = _rows(doc)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value).replace("|", "\\|")


def _table(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return lines


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict)


def to_markdown(doc: Any, title: str = "") -> str:
    lines = [f"# {title}", ""] if title else []
    if isinstance(doc, list):
        return "\n".join(lines + _table([flatten(item) for item in doc])) + "\n"
    scalars = {
        k: v for k, v in doc.items() if not (isinstance(v, list) and v and isinstance(v[0], dict))
    }
    lines += ["| field | value |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in flatten(scalars).items()]
    for key, value in doc.items():
        if _is_rows(value):
            lines += ["", f"## {key}", "", *_table([flatten(item) for item in value])]
    return "\n".join(lines) + "\n"


def to_json(doc: Any, title: str = "") -> str:
    return json.dumps(doc, indent=2) + "\n"


RENDERERS: dict[str, Callable[[Any, str], str]] = {
    "json": to_json,
    "csv": lambda doc, title: to_csv(doc),
    "markdown": to_markdown,
}
"""Every output format but the rich table; `--format` offers exactly these (a test keeps the
CLI's choices equal to them)."""


def render(doc: Any, fmt: str, title: str = "") -> str:
    if fmt not in RENDERERS:
        raise ValueError(fmt)
    return RENDERERS[fmt](doc, title)
