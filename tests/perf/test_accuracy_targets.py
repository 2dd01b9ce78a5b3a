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


def test_silicon_runs_are_cross_validated_family_by_family() -> None:
    """Today's engines (AIConfigurator's silicon runs): every family (engine, GPU, model,
    precision) is predicted by a fit on the others; at least 95 % of the aggregated rows are
    answered (issue 12), the rest refused by name."""
    folds: list[tuple[int, int]] = []
    report = accuracy(bundled="silicon", progress=lambda done, total: folds.append((done, total)))
    assert folds[-1] == (30, 30)
    assert report.grouping.startswith("whole families")
    assert report.coverage >= 0.95
    assert set(report.per_engine) == {"vllm", "sglang", "trtllm"}
    assert "vllm on h100-sxm" in report.per_engine_gpu
