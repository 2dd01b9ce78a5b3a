"""What `bench` tells a user to do next with its curve rows."""

from __future__ import annotations

from pathlib import Path

from llmsize.perf.fit import MIN_ROWS
from llmsize.report.bench_table import next_steps


def test_enough_levels_lead_to_calibrate() -> None:
    advice = next_steps(Path("run.csv"), MIN_ROWS)
    assert advice.startswith("Next: llmsize calibrate run.csv --out params.yaml")


def test_too_few_levels_to_fit_say_how_many_calibrating_needs() -> None:
    """`calibrate` refuses fewer than MIN_ROWS rows; bench used to send the user there anyway."""
    advice = next_steps(Path("run.csv"), MIN_ROWS - 1)
    assert "llmsize calibrate" not in advice
    assert "llmsize plan USECASE.yaml --bench run.csv" in advice
    assert f"at least {MIN_ROWS} levels" in advice
