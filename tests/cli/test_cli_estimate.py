"""`llmsize estimate` of one aggregated configuration, as a user types it."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import assert_one_line_error, run

BASE = (
    "estimate", "--model", "deepseek-ai/DeepSeek-R1", "--gpu", "b200", "--tp", "8",
    "--input-tokens", "4000", "--output-tokens", "1000",
)  # fmt: skip


def test_concurrency_is_in_flight_batchings_batch() -> None:
    """In-flight batching's load is a concurrency: `--concurrency 64` answers as `--batch 64`
    (it used to be refused with '--batch: required')."""
    by_concurrency = run(*BASE, "--concurrency", "64", "--json")
    by_batch = run(*BASE, "--batch", "64", "--json")
    assert by_concurrency.exit_code == 0 and by_batch.exit_code == 0, by_concurrency.output
    assert json.loads(by_concurrency.stdout) == json.loads(by_batch.stdout)
    assert json.loads(by_batch.stdout)["batch"] == 64


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (("--concurrency", "64", "--batch", "32"), ("--concurrency", "one of them")),
        (("--concurrency", "64", "--mode", "static"), ("--concurrency", "--batch")),
    ],
)
def test_concurrency_against_batch_or_a_static_batch_is_one_line(
    extra: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    assert_one_line_error(run(*BASE, *extra), *fragments)
