"""Every command that prints results prints table, json, csv and markdown."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.cli.helpers import assert_one_line_error, run
from tests.conftest import EXAMPLES, ROOT

COMMANDS = {
    "estimate": [
        "estimate",
        "--model",
        "llama-2-7b",
        "--gpu",
        "h100-sxm",
        "--tp",
        "1",
        "--batch",
        "8",
        "--input-tokens",
        "128",
        "--output-tokens",
        "128",
    ],
    "configs": [
        "configs",
        "--model",
        "llama-2-7b",
        "--gpu",
        "h100-sxm",
        "--input-tokens",
        "128",
        "--output-tokens",
        "128",
        "--first-token-ms",
        "500",
    ],
    "capacity": [
        "capacity",
        "--model",
        "llama-2-7b",
        "--server",
        "dgx-h100",
        "--input-tokens",
        "128",
        "--output-tokens",
        "512",
    ],
    "simulate": ["simulate", str(EXAMPLES / "llama-2-7b-chat.yaml"), "--requests", "300"],
    "peak": ["peak", "--avg", "64"],
    "show": ["show", str(ROOT / "tests" / "data" / "llmsize_bench" / "results.jsonl")],
    "catalog": ["catalog", "servers"],
    "plan": ["plan", str(EXAMPLES / "seed-nemo-43b.yaml")],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_four_formats(name: str) -> None:
    args = COMMANDS[name]
    assert run(*args).exit_code == 0
    doc = json.loads(run(*args, "--format", "json").stdout)
    assert doc
    rows = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv").stdout)))
    assert rows and any(rows[0].values())  # a header and at least one row with values
    markdown = run(*args, "--format", "markdown").stdout
    assert "|---" in markdown
    assert_one_line_error(run(*args, "--format", "yaml"), "--format")


def test_the_format_flag_offers_every_renderer() -> None:
    from llmsize.cli._options import Format
    from llmsize.report.formats import RENDERERS

    assert {f.value for f in Format} == {"table", *RENDERERS}
