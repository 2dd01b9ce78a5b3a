"""How wrong the calibrated model is on measurements it was not fitted to.

Grouped K-fold cross-validation: a group is one whole curve (one model at one TP on one GPU and
precision class, every batch and length), so a prediction is never helped by a neighbour of the
same sweep. Each fold fits the model from the default parameters on the other folds' rows only.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llmsize.catalog import Catalog
from llmsize.perf.calibration import Calibration
from llmsize.perf.estimate import INTERVAL
from llmsize.perf.fit import (
    METRICS,
    Sample,
    ape_summary,
    fit_calibration,
    predict_samples,
    quantile,
)

if TYPE_CHECKING:
    from llmsize.perf.disaggregated import SiliconCheck

FOLDS = 5
CURVES = "whole curves (model, GPU, precision class, TP, load type)"
FAMILIES = "whole families (mode, engine, GPU, model, precision: every layout, length and load)"


DISAGGREGATED_METRICS = ("ttft", "itl")
"""What a disaggregated silicon run states: its mean TTFT and TPOT (the time per output token
after the first, the steady state's inter-token latency)."""


@dataclass(frozen=True, slots=True)
class DisaggregatedAccuracy:
    """The steady-state disaggregated model with the shipped calibration against disaggregated
    runs: out of sample, as nothing is fitted on a disaggregated run. Median and p90 APE of TTFT
    and ITL, overall, per engine and per engine on each GPU; the rows refused, by reason."""

    overall: dict[str, dict[str, float]]
    per_engine: dict[str, dict[str, dict[str, float]]]
    per_engine_gpu: dict[str, dict[str, dict[str, float]]]
    rows: int
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        """The share of the disaggregated rows that were answered."""
        return self.rows / max(1, self.rows + sum(self.skipped.values()))

    def to_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "coverage": round(self.coverage, 4),
            "overall": self.overall,
            "per_engine": self.per_engine,
            "per_engine_gpu": self.per_engine_gpu,
            "skipped": self.skipped,
        }


class ErrorBuckets:
    """Absolute percentage errors per metric, gathered under keys (a kind of breakdown and a
    name: ("engine", "vllm")), and summarised per key or per kind; the measured / predicted
    throughput ratios beside them where a report gives their range."""

    def __init__(self, metrics: Sequence[str]) -> None:
        self._apes: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(
            lambda: {m: [] for m in metrics}
        )
        self._ratios: dict[tuple[str, str], list[float]] = defaultdict(list)

    def add(self, keys: Sequence[tuple[str, str]], metric: str, ape: float) -> None:
        for key in keys:
            self._apes[key][metric].append(ape)

    def add_ratio(self, keys: Sequence[tuple[str, str]], ratio: float) -> None:
        for key in keys:
            self._ratios[key].append(ratio)

    def summary(self, key: tuple[str, str]) -> dict[str, dict[str, float]]:
        found = {m: ape_summary(v) for m, v in self._apes[key].items()}
        if self._ratios[key]:
            found["throughput"].update(ratio_range(self._ratios[key]))
        return found

    def table(self, kind: str) -> dict[str, dict[str, dict[str, float]]]:
        return {name: self.summary((k, name)) for (k, name) in sorted(self._apes) if k == kind}


def disaggregated_accuracy(
    checks: Sequence[SiliconCheck], skipped: dict[str, int]
) -> DisaggregatedAccuracy:
    """Errors of the model's answers (`check_silicon`) for disaggregated runs."""
    buckets = ErrorBuckets(DISAGGREGATED_METRICS)
    for check in checks:
        engine = check.run.engine
        keys = (("all", ""), ("engine", engine), ("engine_gpu", f"{engine} on {check.gpu}"))
        for metric, ape in check.errors().items():
            buckets.add(keys, metric, ape)
    return DisaggregatedAccuracy(
        overall=buckets.summary(("all", "")),
        per_engine=buckets.table("engine"),
        per_engine_gpu=buckets.table("engine_gpu"),
        rows=len(checks),
        skipped=dict(skipped),
    )


@dataclass(frozen=True, slots=True)
class AccuracyReport:
    """Median and p90 absolute percentage error per metric: overall, per GPU, per engine."""

    overall: dict[str, dict[str, float]]
    per_gpu: dict[str, dict[str, dict[str, float]]]
    per_engine: dict[str, dict[str, dict[str, float]]]
    per_mode: dict[str, dict[str, dict[str, float]]]
    rows: int
    folds: int
    skipped: dict[str, int] = field(default_factory=dict)
    per_engine_gpu: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    grouping: str = CURVES
    disaggregated: DisaggregatedAccuracy | None = None  # of silicon rows, where there were some

    @property
    def coverage(self) -> float:
        """The share of the rows asked about that were answered (not refused with a reason);
        disaggregated silicon runs are not asked about here."""
        from llmsize.benchdb.silicon import DISAGGREGATED

        refused = sum(n for reason, n in self.skipped.items() if reason != DISAGGREGATED)
        return self.rows / max(1, self.rows + refused)

    def to_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "folds": self.folds,
            "grouping": self.grouping,
            "coverage": round(self.coverage, 4),
            "overall": self.overall,
            "per_gpu": self.per_gpu,
            "per_engine": self.per_engine,
            "per_engine_gpu": self.per_engine_gpu,
            "per_mode": self.per_mode,
            "skipped": self.skipped,
            **({"disaggregated": self.disaggregated.to_dict()} if self.disaggregated else {}),
        }


def ratio_range(ratios: Sequence[float]) -> dict[str, float]:
    """The 5th and 95th percentile of measured / predicted (`low`, `high`): what a prediction is
    multiplied by to cover 90 % of the measurements it was cross-validated on."""
    if len(ratios) < 10:
        return {}
    values = sorted(ratios)
    tail = (1 - INTERVAL) / 2
    return {
        "low": round(quantile(values, tail), 4),
        "high": round(quantile(values, 1 - tail), 4),
    }


def _only(predict: Predictor, tested: Callable[[Sample], bool]) -> Predictor:
    def wrapped(sample: Sample, calibration: Calibration, catalog: Catalog) -> dict[str, float]:
        return predict(sample, calibration, catalog) if tested(sample) else {}

    return wrapped


def fold_of(samples: Sequence[Sample], folds: int, seed: int = 0) -> list[int]:
    """A fold number per sample; every sample of one curve lands in the same fold."""
    curves = sorted({s.curve for s in samples}, key=repr)
    random.Random(seed).shuffle(curves)
    assignment = {curve: i % folds for i, curve in enumerate(curves)}
    return [assignment[s.curve] for s in samples]


Predictor = Callable[[Sample, Calibration, Catalog], dict[str, float]]


def analytic(sample: Sample, calibration: Calibration, catalog: Catalog) -> dict[str, float]:
    """The calibrated model's closed-form prediction (static or in-flight steady state)."""
    params = calibration.resolve(sample.engine, sample.setup.gpu, sample.setup.precision, catalog)
    return predict_samples([sample], params.params)[0]


def cross_validate(
    samples: Sequence[Sample],
    catalog: Catalog,
    folds: int = FOLDS,
    seed: int = 0,
    predict: Predictor = analytic,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, float]]:
    """Out-of-fold predictions for every sample, in order; `progress(done, folds)` after each
    fold (a fit and its predictions)."""
    folds = max(2, min(folds, len({s.curve for s in samples})))
    assignment = fold_of(samples, folds, seed)
    predictions: list[dict[str, float] | None] = [None] * len(samples)
    for fold in range(folds):
        train = [s for s, f in zip(samples, assignment, strict=True) if f != fold]
        calibration = fit_calibration(train, catalog, origin=f"fold {fold}")
        for i, (s, f) in enumerate(zip(samples, assignment, strict=True)):
            if f == fold:
                predictions[i] = predict(s, calibration, catalog)
        if progress is not None:
            progress(fold + 1, folds)
    return [p for p in predictions if p is not None]


def accuracy_report(
    samples: Sequence[Sample],
    catalog: Catalog,
    folds: int = FOLDS,
    skipped: dict[str, int] | None = None,
    predict: Predictor = analytic,
    tested: Callable[[Sample], bool] = lambda s: True,
    progress: Callable[[int, int], None] | None = None,
) -> AccuracyReport:
    """Errors of out-of-fold predictions; folds are cut over all samples (so fits see the same
    data whatever is tested), and only the `tested` samples are predicted and scored."""
    predictions = cross_validate(
        samples, catalog, folds, predict=_only(predict, tested), progress=progress
    )
    pairs = [(s, p) for s, p in zip(samples, predictions, strict=True) if tested(s)]
    samples = [s for s, _ in pairs]
    predictions = [p for _, p in pairs]
    buckets = ErrorBuckets(METRICS)
    for s, pred in zip(samples, predictions, strict=True):
        keys = (
            ("all", ""),
            ("gpu", s.setup.gpu.id),
            ("engine", s.engine),
            ("engine_gpu", f"{s.engine} on {s.setup.gpu.id}"),
            ("mode", s.mode),
        )
        for m in METRICS:
            measured = s.measured[m]
            if not measured:
                continue
            buckets.add(keys, m, abs(pred[m] / measured - 1))
            if m == "throughput":
                buckets.add_ratio(keys, measured / pred[m])

    return AccuracyReport(
        overall=buckets.summary(("all", "")),
        per_gpu=buckets.table("gpu"),
        per_engine=buckets.table("engine"),
        per_mode=buckets.table("mode"),
        rows=len(samples),
        folds=max(2, min(folds, len({s.curve for s in samples}))),
        skipped=dict(skipped or {}),
        per_engine_gpu=buckets.table("engine_gpu"),
        grouping=FAMILIES if any(s.family for s in samples) else CURVES,
    )
