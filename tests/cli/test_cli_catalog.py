"""`llmsize catalog`, the root command's help and version, and unknown commands."""

from __future__ import annotations

import json

import pytest

from llmsize import __version__
from tests.cli.helpers import assert_one_line_error, run


@pytest.mark.parametrize(
    ("kind", "some_id"),
    [
        ("gpus", "h100-sxm"),
        ("servers", "dgx-h100"),
        ("models", "qwen3-32b"),
        ("apis", "claude-sonnet-5.5"),
    ],
)
def test_catalog_lists(kind: str, some_id: str) -> None:
    result = run("catalog", kind)
    assert result.exit_code == 0 and some_id in result.stdout
    rows = json.loads(run("catalog", kind, "--json").stdout)["rows"]
    assert some_id in [r["id"] for r in rows]
    assert all(r["source"] for r in rows)


def test_help_and_version() -> None:
    assert run("--help").exit_code == 0
    assert run().exit_code == 0
    assert run("--version").stdout.strip() == f"llmsize {__version__}"


def test_unknown_command_suggests() -> None:
    assert_one_line_error(run("plna"), "Did you mean 'plan'")
    assert_one_line_error(run("catalog", "gpu"), "gpus")
