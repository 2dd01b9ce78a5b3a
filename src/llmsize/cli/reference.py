"""The command reference (docs/cli.md) and the use-case JSON Schema, generated from the program
itself so the documentation cannot drift: a test compares the committed files with these."""

from __future__ import annotations

import json
from typing import Any

WIDTH = 100


def _help(args: list[str]) -> str:
    from typer.testing import CliRunner

    from llmsize.cli import app

    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": str(WIDTH)}, color=False)
    return result.stdout.rstrip("\n")


def _command_paths() -> list[list[str]]:
    """Every command as argv words, in registration order (groups expanded)."""
    from llmsize.cli import app

    paths: list[list[str]] = [[]]
    for command in app.registered_commands:
        if command.name and not command.hidden:
            paths.append([command.name])
    for group in app.registered_groups:
        if group.name and group.typer_instance is not None:
            paths.append([group.name])
            paths += [
                [group.name, c.name]
                for c in group.typer_instance.registered_commands
                if c.name and not c.hidden
            ]
    return paths


def cli_reference() -> str:
    """Every command's --help, in order, as Markdown."""
    lines = [
        "# Command reference",
        "",
        "Generated from the CLI's own help by `python scripts/gen_docs.py`; a test fails when this",
        "file and the program differ.",
        "",
    ]
    for path in _command_paths():
        lines += [f"## `{' '.join(['llmsize', *path])}`", "", "```text", _help(path), "```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def usecase_schema() -> dict[str, Any]:
    """JSON Schema of the use-case checklist, for editors' YAML validation."""
    from llmsize.usecase import UseCase

    schema = UseCase.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "llmsize use case"
    return schema


def usecase_schema_text() -> str:
    return json.dumps(usecase_schema(), indent=2, sort_keys=True) + "\n"
