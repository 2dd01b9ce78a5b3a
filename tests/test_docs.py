"""The documentation cannot drift: docs/cli.md and docs/usecase.schema.json are what the program
generates (regenerate with `python scripts/gen_docs.py`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
import yaml
from typer.models import CommandInfo

from llmsize.cli import app
from llmsize.cli.reference import cli_reference, usecase_schema, usecase_schema_text
from tests.cli.helpers import run
from tests.conftest import EXAMPLES, ROOT

DOCS = ROOT / "docs"


def test_command_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == cli_reference(), (
        "docs/cli.md is stale: run python scripts/gen_docs.py"
    )


def test_schema_file_is_current() -> None:
    assert (DOCS / "usecase.schema.json").read_text(encoding="utf-8") == usecase_schema_text()


def test_a_new_flag_makes_the_reference_stale() -> None:
    """The check above has teeth: adding a flag changes the generated reference."""
    before = cli_reference()

    def probe(flag: Annotated[int, typer.Option("--brand-new-flag", help="A probe.")] = 0) -> None:
        """A probe command."""

    app.registered_commands.append(CommandInfo(name="probe", callback=probe))
    try:
        after = cli_reference()
    finally:
        app.registered_commands.pop()
    assert "--brand-new-flag" in after and "--brand-new-flag" not in before
    assert cli_reference() == before


def test_schema_command_describes_the_checklist(tmp_path: object) -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema == usecase_schema()
    assert {"model", "load"} <= set(schema["required"])
    assert "latency" in schema["properties"]  # required unless the load is a batch job
    assert schema["additionalProperties"] is False
    for example in EXAMPLES.glob("*.yaml"):  # every shipped field is in the schema
        assert set(yaml.safe_load(example.read_text())) <= set(schema["properties"]), example


def test_glossary_is_current() -> None:
    """Every key of every document is described, and docs/glossary.md says what the program
    does (regenerate with python scripts/gen_docs.py)."""
    from llmsize.cli.reference import glossary

    assert (DOCS / "glossary.md").read_text(encoding="utf-8") == glossary(ROOT), (
        "docs/glossary.md is stale: run python scripts/gen_docs.py"
    )


def test_a_flag_means_one_thing_in_every_command() -> None:
    """The same flag takes the same kind of value everywhere (--mode is batching, --format the
    output format)."""
    import typer.main

    kinds: dict[str, set[str]] = {}

    def visit(command: Any) -> None:
        ctx = typer._click.Context(command)
        for param in command.params:
            for name in param.opts:
                kind = str(param.display_type(ctx)).replace(" range", "")
                kinds.setdefault(name, set()).add(kind)
        for sub in getattr(command, "commands", {}).values():
            visit(sub)

    visit(typer.main.get_command(app))
    assert kinds["--mode"] == {"<static|inflight>"}
    assert kinds["--format"] == {"<table|json|csv|markdown>"}
    # Free text beside a typed value is the same quantity in a richer form (init's '300 words'
    # and 'best' precision, bench's comma-separated sweep '1,8,64'); typed values that differ
    # are two meanings.
    mixed = {name: k - {"<str>"} for name, k in kinds.items() if len(k - {"<str>"}) > 1}
    assert mixed == {}, mixed
