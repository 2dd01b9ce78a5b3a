"""Fit the performance model to measurements, and measure its cross-validated error."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from llmsize.perf.results import CalibrateResult

if TYPE_CHECKING:
    from collections import Counter

    from llmsize.benchdb.schema import CurvePoint
    from llmsize.benchdb.silicon import DisaggregatedRun, SiliconRun
    from llmsize.perf.accuracy import AccuracyReport, DisaggregatedAccuracy
    from llmsize.perf.calibration import Calibration
    from llmsize.perf.fit import Sample


BUNDLED_SETS = ("curves", "silicon")
"""The bundled measurements: `curves` = the 2024 sets (data/curves.csv: TensorRT-LLM 0.9, NIM,
the talk, vLLM 0.8.5); `silicon` = today's engines (data/aic-silicon-train.csv: vLLM, SGLang and
TensorRT-LLM 1.x runs of AIConfigurator's silicon sample)."""


def read_inputs(files: Sequence[Path | str]) -> list[tuple[str, str]]:
    """Each measurement file's text and its name, read once for every use of it (`accuracy`
    reads a silicon CSV's aggregated rows to fit and its disaggregated rows to check)."""
    from llmsize.files import read_text

    return [(read_text(Path(f), "curve CSV"), str(f)) for f in files]


def fit_samples(
    inputs: Sequence[tuple[str, str]],
    engine: str | None,
    bundled: str = "curves",
    statistic: str = "mean",
) -> tuple[list[Sample], dict[str, int]]:
    """Rows of the given files (`read_inputs`: curve CSVs, or AIConfigurator silicon CSVs, told
    apart by their header) or of a bundled set, ready for fitting; of a curve CSV only the rows
    of `statistic` (their latency_stat: bench writes a row per statistic, the model is fitted to
    one)."""
    from collections import Counter

    from llmsize.benchdb.schema import parse_curves
    from llmsize.benchdb.silicon import is_silicon_text, read_silicon
    from llmsize.benchdb.store import CurvePointMapper, bundled_store
    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.perf.fit import make_samples, silicon_samples

    catalog = load_catalog()
    points: list[CurvePoint] = []
    runs: list[SiliconRun] = []
    skipped: Counter[str] = Counter()
    if inputs:
        mapper = CurvePointMapper(catalog)
        for text, origin in inputs:
            if is_silicon_text(text):
                found, left = read_silicon(text, origin)
                runs += found
                skipped.update(left)
            else:
                rows = parse_curves(text, origin, mapper)
                kept = [p for p in rows if of_statistic(p, statistic)]
                if len(kept) < len(rows):
                    skipped[f"rows of another statistic than {statistic} (latency_stat)"] += len(
                        rows
                    ) - len(kept)
                points += kept
    elif bundled == "silicon":
        runs, left = bundled_silicon()
        skipped.update(left)
    elif bundled == "curves":
        store = bundled_store()
        points = [p for groups in store.groups.values() for ps in groups.values() for p in ps]
    else:
        raise InputError("--dataset", f"{bundled!r} is not one of {', '.join(BUNDLED_SETS)}")
    samples, left = make_samples(points, catalog, engine)
    skipped.update(left)
    silicon, left = silicon_samples(runs, catalog, engine)
    skipped.update(left)
    return samples + silicon, dict(skipped)


def of_statistic(point: CurvePoint, statistic: str) -> bool:
    """Whether a row states `statistic` (metrics.row_statistic: 'mean' also takes rows that
    name none, 'avg', or a source's own description)."""
    from llmsize.metrics import row_statistic

    return row_statistic(point.latency_stat) == statistic


def bundled_silicon() -> tuple[list[SiliconRun], Counter[str]]:
    """The calibration share of AIConfigurator's silicon sample, shipped as data."""
    from llmsize.benchdb.silicon import BUNDLED, bundled_text, read_silicon

    return read_silicon(bundled_text(), BUNDLED)


VALUES_PER_PARAM = 2
"""Measured values (a row's TTFT, ITL, throughput) `calibrate` asks for each parameter it fits:
fewer, and it fits only the core parameters (three closed-loop levels are enough for those, with
`gemm_half_tokens` beside them where it earns its place: perf/fit.py `fit_few`), or none."""


def calibrate(
    files: Sequence[Path | str],
    *,
    engine: str | None = None,
    start_from_shipped: bool = True,
    statistic: str = "mean",
) -> CalibrateResult:
    """Fit model parameters to measured rows (per engine, GPU and precision class) starting from,
    and backed by, the shipped calibration. Errors are median and p90 APE over the fitted rows.
    `statistic` picks the rows fitted: the means (the steady state the model predicts) or a
    percentile's ('p95': the model then answers at that percentile)."""
    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.metrics import STATS
    from llmsize.perf.calibration import shipped_calibration
    from llmsize.perf.fit import (
        MIN_ROWS,
        ape_summary,
        errors,
        fit_calibration,
        predict_samples,
    )

    if statistic not in STATS:
        raise InputError("--statistic", f"{statistic!r} is not one of {', '.join(STATS)}")
    catalog = load_catalog()
    samples, skipped = fit_samples(read_inputs(files), engine, statistic=statistic)
    if not samples:
        raise InputError("DATA", "no rows the model can be fitted to (see the curve schema)")
    prior = shipped_calibration() if start_from_shipped else None
    left_out: dict[str, str] = {}
    fitted = fit_calibration(
        samples,
        catalog,
        prior,
        origin="llmsize calibrate",
        per_param=VALUES_PER_PARAM,
        left_out=left_out,
    )
    if not fitted.groups:  # its own fits only: the prior stands behind it as the fallback
        reasons = "; ".join(f"{k}: {v}" for k, v in left_out.items()) or (
            f"no engine, GPU and precision has {MIN_ROWS} rows: measure at least {MIN_ROWS} "
            "levels, e.g. llmsize bench --concurrency 1,4,16"
        )
        raise InputError("DATA", f"nothing could be fitted to {len(samples)} rows ({reasons})")
    before_cal = prior if prior is not None else fit_calibration([], catalog)

    def summary(cal: Calibration) -> dict[str, dict[str, float]]:
        predictions = [
            predict_samples(
                [s], cal.resolve(s.engine, s.setup.gpu, s.setup.precision, catalog).params
            )[0]
            for s in samples
        ]
        return {m: ape_summary(v) for m, v in errors(samples, predictions).items()}

    return CalibrateResult(
        fitted,
        len(samples),
        skipped,
        summary(before_cal),
        summary(fitted),
        left_out,
        len({s.curve for s in samples}),
        statistic,
    )


def accuracy(
    files: Sequence[Path | str] = (),
    *,
    engine: str | None = None,
    folds: int | None = None,
    simulate: bool = False,
    progress: Callable[[int, int], None] | None = None,
    bundled: str = "curves",
) -> AccuracyReport:
    """Cross-validated prediction error (whole curves, or a silicon run's whole family, held
    out) on the given rows or a bundled set (BUNDLED_SETS); with simulate=True, the digital
    twin's error on the closed-loop (concurrency) rows. `folds` defaults to 5, or to one per
    family for silicon runs (each family predicted from all the others). `progress(done,
    folds)` is called after each fold."""
    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.perf.accuracy import FOLDS, accuracy_report

    inputs = read_inputs(files)
    samples, skipped = fit_samples(inputs, engine, bundled)
    groups = len({s.curve for s in samples})
    if groups < 2:
        raise InputError("DATA", "cross-validation needs rows from at least two curves")
    if folds is None:
        folds = groups if any(s.family for s in samples) else FOLDS
    if not simulate:
        report = accuracy_report(samples, load_catalog(), folds, skipped, progress=progress)
        return dataclasses.replace(
            report, disaggregated=disaggregated_check(inputs, engine, bundled)
        )
    from llmsize.sim.fidelity import is_closed_loop, simulated

    if not any(is_closed_loop(s) for s in samples):
        raise InputError("DATA", "--simulate needs closed-loop (load_type concurrency) rows")
    skipped = {
        **skipped,
        "static-batch rows (the twin runs in-flight batching)": sum(
            not is_closed_loop(s) for s in samples
        ),
    }
    return accuracy_report(
        samples, load_catalog(), folds, skipped, simulated, is_closed_loop, progress
    )


def disaggregated_check(
    inputs: Sequence[tuple[str, str]], engine: str | None, bundled: str
) -> DisaggregatedAccuracy | None:
    """The steady-state disaggregated model (shipped calibration) against the disaggregated
    rows of the given silicon CSVs (`read_inputs`), or of the bundled silicon set; None where
    there are none."""
    from collections import Counter

    from llmsize.benchdb.silicon import (
        BUNDLED,
        bundled_text,
        is_silicon_text,
        read_disaggregated,
    )
    from llmsize.catalog import load_catalog
    from llmsize.perf.accuracy import disaggregated_accuracy
    from llmsize.perf.calibration import load_calibration
    from llmsize.perf.disaggregated import check_silicon

    texts = list(inputs)
    if not texts and bundled == "silicon":
        texts = [(bundled_text(), BUNDLED)]
    runs: list[DisaggregatedRun] = []
    skipped: Counter[str] = Counter()
    for text, origin in texts:
        if is_silicon_text(text):
            found, left = read_disaggregated(text, origin)
            runs += found
            skipped.update(left)
    if engine is not None:
        runs = [dataclasses.replace(run, engine=engine) for run in runs]
    if not runs and not skipped:
        return None
    checks, left = check_silicon(runs, load_catalog(), load_calibration(None))
    skipped.update(left)
    return disaggregated_accuracy(checks, dict(skipped))
