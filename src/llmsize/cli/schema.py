"""`llmsize schema`: the use-case JSON Schema, for editors' YAML validation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from llmsize.cli._common import fail


def schema_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the schema here instead of printing it.")
    ] = None,
) -> None:
    """Print the JSON Schema of the use-case checklist (point your editor's YAML language server
    at it: `# yaml-language-server: $schema=usecase.schema.json`)."""
    from llmsize.cli.reference import usecase_schema_text

    text = usecase_schema_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"--out: cannot write {out}: {exc.strerror or exc}") from None
