"""The model's cross-validated error on the bundled measurements meets the targets of issue 3:
median APE <= 10 % for ITL and throughput, <= 15 % for TTFT; p90 <= 30 % for each.

Data: every bundled row the model can predict (NVIDIA DLI TensorRT-LLM 0.9 static sweep, DLI NIM
GenAI-Perf concurrency runs, GTC S62797), whole curves held out per fold.
"""

from __future__ import annotations

from llmsize.api import accuracy

TARGETS = {"ttft": (15.0, 30.0), "itl": (10.0, 30.0), "throughput": (10.0, 30.0)}


def test_cross_validated_error_meets_targets() -> None:
    folds: list[tuple[int, int]] = []
    report = accuracy(progress=lambda done, total: folds.append((done, total)))
    assert folds == [(k, 5) for k in range(1, 6)]  # one report per fold, as it finishes
    assert report.rows > 2400
    for metric, (median, p90) in TARGETS.items():
        summary = report.overall[metric]
        assert summary["median"] <= median, (metric, summary)
        assert summary["p90"] <= p90, (metric, summary)
