"""`llmsize accuracy` on silicon rows with disaggregated runs among them: the aggregated rows are
cross-validated, the disaggregated ones checked against the steady-state disaggregated model
(out of sample: no fit sees them), each refusal counted with its reason."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from llmsize.benchdb.silicon import NO_WORKER_COUNTS, bundled_text
from llmsize.perf.disaggregated import bundled_checks, median_errors
from tests.cli.helpers import run

AGGREGATED = {("vllm", "b300", "moonshotai/Kimi-K2.5"), ("vllm", "b200", "openai/gpt-oss-120b")}
"""Two small aggregated families: cross-validation needs two."""


def _written(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _subset(tmp_path: Path, unlabelled: int) -> Path:
    """The aggregated rows above, TensorRT-LLM's disaggregated B200 runs that name their worker
    counts, and `unlabelled` disaggregated runs that do not."""
    rows = list(csv.DictReader(io.StringIO(bundled_text())))
    kept, left = [], unlabelled
    for row in rows:
        family = (row["backend"], row["system"].removesuffix("_sxm"), row["model_path"])
        if row["mode"] == "agg" and family in AGGREGATED:
            kept.append(row)
        elif row["mode"] == "disagg" and row["backend"] == "trtllm":
            if row["system"] == "b200_sxm" and row["prefill_num_workers"]:
                kept.append(row)
            elif not row["prefill_num_workers"] and left > 0:
                kept.append(row)
                left -= 1
    return _written(tmp_path / "silicon.csv", kept)


def test_disaggregated_rows_are_checked_beside_the_cross_validated_ones(tmp_path: Path) -> None:
    result = run("accuracy", "--data", str(_subset(tmp_path, unlabelled=5)), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["rows"] > 20  # the aggregated rows, cross-validated as before
    found = doc["disaggregated"]
    expected = [c for c in bundled_checks()[0] if c.run.engine == "trtllm" and c.gpu == "b200"]
    assert found["rows"] == len(expected) > 10
    assert found["skipped"] == {NO_WORKER_COUNTS: 5}
    assert found["coverage"] == round(len(expected) / (len(expected) + 5), 4)
    ttft, itl = median_errors(expected)  # the bundled runs' own check, read another way
    assert found["per_engine_gpu"]["trtllm on b200"]["ttft"]["median"] == round(ttft, 2)
    assert found["per_engine_gpu"]["trtllm on b200"]["itl"]["median"] == round(itl, 2)
    assert found["overall"]["ttft"]["n"] == len(expected)


def test_the_table_shows_the_disaggregated_runs_and_why_some_were_not_tested(
    tmp_path: Path,
) -> None:
    result = run("accuracy", "--data", str(_subset(tmp_path, unlabelled=3)))
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "Disaggregated, per engine (median / p90 APE, %)" in out
    assert "trtllm" in out and "out of sample" in out
    assert f"not tested, 3 disaggregated rows: {NO_WORKER_COUNTS}" in out
    assert "not in the aggregated test" not in out  # tested below, not left out


def test_aggregated_rows_alone_have_no_disaggregated_section(tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(bundled_text())))
    aggregated = [
        r
        for r in rows
        if r["mode"] == "agg"
        and (r["backend"], r["system"].removesuffix("_sxm"), r["model_path"]) in AGGREGATED
    ]
    data = _written(tmp_path / "silicon.csv", aggregated)
    doc = json.loads(run("accuracy", "--data", str(data), "--json").stdout)
    assert "disaggregated" not in doc
