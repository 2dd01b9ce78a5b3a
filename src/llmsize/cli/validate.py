"""`llmsize validate`: check use-case files and curve CSVs without planning."""

import json
from pathlib import Path
from typing import Annotated

import typer

from llmsize.cli._common import BAD_INPUT
from llmsize.cli._options import JsonOpt


def validate_command(
    files: Annotated[
        list[Path], typer.Argument(help="Use-case YAML files and/or curve CSV files.")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Check use cases (every schema problem by field path, then the catalog and the context
    window) and curve CSVs; exit 0 when all are valid, 2 otherwise."""
    from llmsize.api import validate

    checks = validate(files)
    if as_json:
        from llmsize.report.documents import validation_document

        doc = validation_document(checks)
        typer.echo(json.dumps(doc, indent=2))
    else:
        for c in checks:
            if c.problems:
                typer.echo(f"{c.path}: {len(c.problems)} problem(s)")
                for problem in c.problems:
                    typer.echo(f"  {problem}")
            else:
                typer.echo(f"{c.path}: valid {c.kind} ({c.summary})")
    if any(c.problems for c in checks):
        raise typer.Exit(BAD_INPUT)
