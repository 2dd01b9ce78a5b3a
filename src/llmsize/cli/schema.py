"""`llmsize schema`: the use-case JSON Schema, for editors' YAML validation."""

from pathlib import Path
from typing import Annotated

import typer

from llmsize.cli._common import output_path, user_errors
from llmsize.cli._options import ForceOpt


def schema_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the schema here instead of printing it.")
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Print the JSON Schema of the use-case checklist (point your editor's YAML language server
    at it: `# yaml-language-server: $schema=usecase.schema.json`)."""
    from llmsize.cli.reference import usecase_schema_text
    from llmsize.files import write_output

    output_path(out, "--out", force)
    text = usecase_schema_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    with user_errors():
        write_output(out, text, force=force)
