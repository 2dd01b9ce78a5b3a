"""`calibrate` says how many parameters it fitted to how many rows, fits only the core ones when
the rows are few, and none (with the reason) when they are fewer still (issue 13: it fitted a dozen
parameters to three rows without a word)."""

from __future__ import annotations

import csv
from pathlib import Path

from llmsize.api import calibrate
from llmsize.perf.fit import CORE_PARAMS
from tests.cli.helpers import assert_one_line_error, run

HEADER = (
    "model,gpu,precision,tp,load_type,load_value,input_tokens,output_tokens,ttft_ms,itl_ms,"
    "req_s,latency_stat,source_id,source,source_row"
)


def _rows(path: Path, concurrencies: list[int]) -> Path:
    with path.open("w", newline="") as f:
        f.write(HEADER + "\n")
        writer = csv.writer(f)
        for c in concurrencies:
            ttft, itl = 40 + 6 * c, 8 + 0.3 * c
            rps = c / ((ttft + 63 * itl) / 1000)
            writer.writerow(
                ["llama-3-8b", "h100-sxm", "bf16", 1, "concurrency", c, 512, 64, ttft, itl,
                 round(rps, 4), "mean", "mine", "a test sweep", f"c{c}"]
            )  # fmt: skip
    return path


def test_three_levels_fit_the_core_parameters_only(tmp_path: Path) -> None:
    result = calibrate([_rows(tmp_path / "three.csv", [1, 4, 16])], engine="mine")
    (fit,) = result.calibration.groups.values()
    assert fit.fitted == CORE_PARAMS
    assert "4 of " in fit.describe() and "3 rows" in fit.describe()
    assert result.curves == 1


def test_many_levels_fit_every_parameter(tmp_path: Path) -> None:
    levels = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32]
    result = calibrate([_rows(tmp_path / "many.csv", levels)], engine="mine")
    (fit,) = result.calibration.groups.values()
    assert len(fit.fitted) > len(CORE_PARAMS)


def test_too_few_values_are_refused_with_the_reason(tmp_path: Path) -> None:
    data = _rows(tmp_path / "ttft-only.csv", [1, 4, 8])
    lines = data.read_text().splitlines()
    kept = [lines[0]] + [",".join([*line.split(",")[:9], "", "", *line.split(",")[11:]])
                         for line in lines[1:]]  # fmt: skip
    data.write_text("\n".join(kept) + "\n")  # three rows, a TTFT each: 3 values
    out = tmp_path / "p.yaml"
    result = run("calibrate", str(data), "--out", str(out), "--engine", "mine")
    assert_one_line_error(result, "DATA")
    assert "too few" in result.output and not out.exists()
    two = _rows(tmp_path / "two.csv", [1, 4])
    assert_one_line_error(run("calibrate", str(two), "--out", str(out)), "DATA")


def test_repeated_runs_of_a_level_count_once(tmp_path: Path) -> None:
    """Three rounds of three levels pin down nine values, not twenty-seven: still the core."""
    files = [_rows(tmp_path / f"round{i}.csv", [1, 4, 16]) for i in range(3)]
    (fit,) = calibrate(files, engine="mine").calibration.groups.values()
    assert fit.fitted == CORE_PARAMS


def test_one_statistic_is_fitted_and_the_others_are_counted(tmp_path: Path) -> None:
    data = _rows(tmp_path / "stats.csv", [1, 4, 16])
    lines = data.read_text().splitlines()
    p95 = [line.replace(",mean,", ",p95,") for line in lines[1:]]
    data.write_text("\n".join([*lines, *p95]) + "\n")
    means = calibrate([data], engine="mine")
    assert (means.rows, means.statistic) == (3, "mean")
    assert means.skipped == {"rows of another statistic than mean (latency_stat)": 3}
    tails = calibrate([data], engine="mine", statistic="p95")
    assert (tails.rows, tails.statistic) == (3, "p95")
    out = tmp_path / "p.yaml"
    assert_one_line_error(
        run("calibrate", str(data), "--out", str(out), "--statistic", "p42"), "--statistic"
    )
