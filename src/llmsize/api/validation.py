"""Check use-case and curve files without planning."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from llmsize.files import FileCheck
from llmsize.usecase import parse_usecase


def validate(paths: Sequence[Path]) -> list[FileCheck]:
    """Check use-case YAML files (schema, then the catalog and context window) and curve CSVs
    (schema and catalog names) without planning."""
    from llmsize.benchdb.schema import parse_curves
    from llmsize.benchdb.store import canonicalizer
    from llmsize.catalog import load_catalog
    from llmsize.economics import checked_api_price
    from llmsize.errors import InputError
    from llmsize.usecase import field_in, read_usecase_data, resolve, usecase_problems

    catalog = load_catalog()
    checks = []
    for path in paths:
        if path.suffix.lower() == ".csv":
            bad_rows: list[InputError] = []
            try:
                text = path.read_text(encoding="utf-8")
                rows = parse_curves(text, str(path), canonicalizer(catalog), problems=bad_rows)
            except OSError as exc:
                checks.append(FileCheck(path, "curves", [f"{path}: cannot read: {exc}"], ""))
            except InputError as exc:  # the header: nothing else can be checked
                checks.append(FileCheck(path, "curves", [str(exc)], ""))
            else:
                summary = f"{len(rows)} valid curve rows"
                checks.append(FileCheck(path, "curves", [str(p) for p in bad_rows], summary))
            continue
        try:
            data = read_usecase_data(path)
        except InputError as exc:
            checks.append(FileCheck(path, "usecase", [str(exc)], ""))
            continue
        problems = [str(p) for p in usecase_problems(data, str(path))]
        summary = ""
        if not problems:
            try:
                origin = str(path)
                resolved = resolve(parse_usecase(data, origin), catalog, path.parent, origin)
                checked_api_price(resolved.cost, field_in(origin, "cost.api"))
            except InputError as exc:
                problems.append(str(exc))
            else:
                summary = (
                    f"{resolved.model.id}: {resolved.input_tokens_total} in / "
                    f"{resolved.output_tokens} out, peak {resolved.peak_rps:g} req/s"
                )
        checks.append(FileCheck(path, "usecase", problems, summary))
    return checks
