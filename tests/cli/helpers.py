"""Run the CLI in-process through Typer's CliRunner, as a user would from a shell."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from llmsize.cli import app

RUNNER = CliRunner()


def run(*args: str) -> Result:
    return RUNNER.invoke(app, list(args))


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """Exit 2, exactly one line on stderr naming the problem, and no traceback anywhere."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
