"""Plots mark the percentile the tables and JSON report (issue 13: `show` and `show --plot` gave
different p95s for the same run)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from llmsize.metrics import Distribution

pytest.importorskip("matplotlib")


def test_the_plotted_p95_is_the_tables_p95(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmsize.report import plots

    rng = random.Random(4)
    ttft = [rng.lognormvariate(4, 0.6) for _ in range(37)]
    e2e = [t + rng.uniform(100, 900) for t in ttft]
    saved: list[Any] = []
    monkeypatch.setattr(plots, "_save", lambda fig, path, flag: saved.append(fig))
    plots.latency_plot([("measured", ttft, e2e)], tmp_path / "p.png", {}, 0.95)
    labels = [
        t.get_text()
        for ax in saved[0].axes
        for t in ax.get_legend().get_texts()
        if " p95 " in t.get_text()
    ]
    for values, label in ((ttft, labels[0]), (e2e, labels[1])):
        assert label == f"measured p95 {Distribution.of(values).p95:,.0f}"
