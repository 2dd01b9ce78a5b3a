"""Fit the performance model to measurements, and measure its cross-validated error."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from llmsize.perf.results import CalibrateResult

if TYPE_CHECKING:
    from llmsize.perf.accuracy import AccuracyReport
    from llmsize.perf.calibration import Calibration
    from llmsize.perf.fit import Sample


def _samples(
    files: Sequence[Path | str], engine: str | None
) -> tuple[list[Sample], dict[str, int]]:
    """Rows of the given curve files (or the bundled ones) ready for fitting."""
    from llmsize.benchdb.schema import read_curve_file
    from llmsize.benchdb.store import CurvePointMapper, bundled_store
    from llmsize.catalog import load_catalog
    from llmsize.perf.fit import make_samples

    catalog = load_catalog()
    if files:
        mapper = CurvePointMapper(catalog)
        points = [p for f in files for p in read_curve_file(Path(f), mapper)]
    else:
        store = bundled_store()
        points = [p for groups in store.groups.values() for ps in groups.values() for p in ps]
    samples, skipped = make_samples(points, catalog, engine)
    return samples, dict(skipped)


def calibrate(
    files: Sequence[Path | str],
    *,
    engine: str | None = None,
    start_from_shipped: bool = True,
) -> CalibrateResult:
    """Fit model parameters to measured rows (per engine, GPU and precision class) starting from,
    and backed by, the shipped calibration. Errors are median and p90 APE over the fitted rows."""
    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.perf.calibration import shipped_calibration
    from llmsize.perf.fit import ape_summary, errors, fit_calibration, predict_samples

    catalog = load_catalog()
    samples, skipped = _samples(files, engine)
    if not samples:
        raise InputError("DATA", "no rows the model can be fitted to (see the curve schema)")
    prior = shipped_calibration() if start_from_shipped else None
    fitted = fit_calibration(samples, catalog, prior, origin="llmsize calibrate")
    before_cal = prior if prior is not None else fit_calibration([], catalog)

    def summary(cal: Calibration) -> dict[str, dict[str, float]]:
        predictions = [
            predict_samples(
                [s], cal.resolve(s.engine, s.setup.gpu, s.setup.precision, catalog).params
            )[0]
            for s in samples
        ]
        return {m: ape_summary(v) for m, v in errors(samples, predictions).items()}

    return CalibrateResult(fitted, len(samples), skipped, summary(before_cal), summary(fitted))


def accuracy(
    files: Sequence[Path | str] = (),
    *,
    engine: str | None = None,
    folds: int = 5,
    simulate: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> AccuracyReport:
    """Cross-validated prediction error (whole curves held out) on the given or bundled rows;
    with simulate=True, the digital twin's error on the closed-loop (concurrency) rows.
    `progress(done, folds)` is called after each fold."""
    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.perf.accuracy import accuracy_report

    samples, skipped = _samples(files, engine)
    if len({s.curve for s in samples}) < 2:
        raise InputError("DATA", "cross-validation needs rows from at least two curves")
    if not simulate:
        return accuracy_report(samples, load_catalog(), folds, skipped, progress=progress)
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
