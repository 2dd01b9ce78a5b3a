"""One schema version in every JSON document, whole numbers as integers, one key per quantity."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from llmsize.report.documents import SCHEMA_VERSION, whole_numbers
from tests.cli.helpers import run

ROOT = Path(__file__).resolve().parents[2]
NEMO = str(ROOT / "examples" / "usecases" / "seed-nemo-43b.yaml")
RECORDS = str(ROOT / "tests" / "data" / "llmsize_bench" / "results.jsonl")
QUESTION = ["--model", "llama-3-8b", "--input-tokens", "1000", "--output-tokens", "100"]

COMMANDS = [
    ["plan", NEMO],
    ["estimate", *QUESTION, "--gpu", "h100-sxm", "--tp", "1", "--batch", "16"],
    ["configs", *QUESTION, "--gpu", "h100-sxm"],
    ["capacity", *QUESTION, "--server", "dgx-h100"],
    ["simulate", NEMO, "--requests", "300"],
    ["peak", "--avg", "64"],
    ["peak", "--capacity", "65.6"],
    ["catalog", "gpus"],
    ["catalog", "models"],
    ["show", RECORDS],
    ["validate", NEMO],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_document_carries_the_schema_version(args: list[str]) -> None:
    result = run(*args, "--json")
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == SCHEMA_VERSION


def test_batches_and_counts_are_integers() -> None:
    doc = json.loads(
        run(
            "estimate", *QUESTION, "--gpu", "h100-sxm", "--tp", "1", "--batch", "16", "--json"
        ).stdout
    )
    assert doc["batch"] == 16 and isinstance(doc["batch"], int)
    configs = json.loads(run("configs", *QUESTION, "--gpu", "h100-sxm", "--json").stdout)
    assert all(isinstance(c["batch"], int) for c in configs["configs"])
    plan = json.loads(run("plan", NEMO, "--json").stdout)
    assert isinstance(plan["recommendation"]["servers"], int)
    assert whole_numbers({"a": [1.0, 2.5, {"b": 3.0}]}) == {"a": [1, 2.5, {"b": 3}]}


def test_one_key_for_one_quantity() -> None:
    plan = json.loads(run("plan", NEMO, "--json").stdout)
    capacity = json.loads(
        run(
            "capacity",
            "--model",
            "nemo-gpt-43b",
            "--server",
            "dgx-h100",
            "--input-tokens",
            "3500",
            "--output-tokens",
            "500",
            "--first-token-ms",
            "3000",
            "--json",
        ).stdout
    )
    shared = {"rps_per_server", "cost_per_month_usd", "usd_per_million_output_tokens"}
    assert shared <= set(plan["alternatives"][0]) and shared <= set(capacity)


def test_the_version_is_written_in_one_place() -> None:
    sources = ROOT / "src" / "llmsize"
    writers = [
        p.relative_to(sources).as_posix()
        for p in sources.rglob("*.py")
        if re.search(r'"schema_version":\s*(\d|SCHEMA_VERSION)', p.read_text())
    ]
    # documents.py for results; calibration.py versions its own file format.
    assert sorted(writers) == ["perf/calibration.py", "report/documents.py", "report/plan_json.py"]
