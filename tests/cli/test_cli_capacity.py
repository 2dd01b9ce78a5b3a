"""`llmsize capacity`: a server's capacity with the range the model's measured error gives."""

from __future__ import annotations

import json

from tests.cli.helpers import run

QUESTION = ("--input-tokens", "1500", "--output-tokens", "300", "--first-token-ms", "1000")


def test_a_modelled_capacity_carries_its_90_percent_range() -> None:
    """vLLM on the H100 was cross-validated: its peak capacity and the average it sustains each
    come with the range, in the text and the JSON alike."""
    args = ("capacity", "--model", "llama-3.1-70b", "--server", "dgx-h100", *QUESTION)
    doc = json.loads(run(*args, "--json").stdout)
    assert doc["config"]["provenance"] == "modelled" and doc["interval"] == 0.9
    assert doc["rps_low"] < doc["rps_per_server"] < doc["rps_high"]
    assert doc["avg_rps_low"] < doc["avg_rps_per_server"] < doc["avg_rps_high"]
    text = run(*args).stdout
    assert f"(90 % range {doc['rps_low']:,.2f}–{doc['rps_high']:,.2f})" in text


def test_a_measured_capacity_has_no_range_and_no_error_figure() -> None:
    """The talk's DGX H100 measurements answer the static case: no modelled range is shown."""
    args = ("capacity", "--model", "llama-2-70b", "--server", "dgx-h100", "--mode", "static")
    result = run(*args, "--input-tokens", "2048", "--output-tokens", "128", "--json")
    doc = json.loads(result.stdout)
    assert doc["config"]["provenance"] == "measured"
    assert doc["rps_low"] is None and doc["interval"] is None and doc["range_note"] is None
    text = run(*args, "--input-tokens", "2048", "--output-tokens", "128").stdout
    assert "range" not in text


def test_a_borrowed_calibration_says_its_range_was_widened() -> None:
    args = ("capacity", "--model", "llama-3.1-70b", "--server", "gb300-nvl72", *QUESTION)
    doc = json.loads(run(*args, "--json").stdout)
    assert doc["range_note"] and "widened" in doc["range_note"]
    assert "range widened" in run(*args).stdout
