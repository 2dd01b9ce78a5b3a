"""The shipped calibration is this code's: each group's recorded in-sample error is what the model
predicts today with the group's stored parameters on its rows. A change to the model that moves
predictions without a refit (scripts/calibrate_bundled.py) fails here, not silently in the
README's accuracy tables (a 3 % slower memory term fails it)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from llmsize.api.calibration import fit_samples
from llmsize.perf.calibration import PROFILE, precision_class, shipped_calibration
from llmsize.perf.fit import Sample, errors, predict_samples, quantile

TOLERANCE = 0.1
"""Percentage points: the stored parameters are rounded to six decimals, the medians to two."""


def _rows() -> dict[tuple[str, str, str], list[Sample]]:
    rows: dict[tuple[str, str, str], list[Sample]] = defaultdict(list)
    for bundled in ("curves", "silicon"):
        samples, _ = fit_samples([], None, bundled)
        for s in samples:
            rows[(s.engine, s.setup.gpu.id, precision_class(s.setup.precision))].append(s)
            if s.family:  # an engine profile: every row of its engine
                rows[(s.engine, PROFILE, PROFILE)].append(s)
    return rows


def test_each_groups_recorded_error_is_what_the_model_predicts_today() -> None:
    rows = _rows()
    checked = 0
    for key, fit in shipped_calibration().groups.items():
        mine = rows[key]
        assert len(mine) == fit.rows, key
        found = errors(mine, predict_samples(mine, fit.params))
        for metric, recorded in fit.after.items():
            if "median" not in recorded:
                continue
            median = 100 * quantile(sorted(found[metric]), 0.5)
            assert median == pytest.approx(recorded["median"], abs=TOLERANCE), (key, metric)
            checked += 1
    assert checked >= 40  # 18 groups, two or three metrics each
