"""`llmsize validate`: every problem by field path, exit 2; valid files exit 0."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import run
from tests.conftest import EXAMPLES, ROOT

BAD = """\
model: llama-2-70b
input_tokens: -5
output_tokns: 100
latency: {first_token_ms: -1}
load: {peak_rps: 3}
hardware: {precision: fp9}
"""


def test_shipped_examples_and_curves_are_valid() -> None:
    files = [str(p) for p in sorted(EXAMPLES.glob("*.yaml"))]
    files.append(str(ROOT / "src" / "llmsize" / "data" / "curves.csv"))
    result = run("validate", *files, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["valid"] and len(doc["files"]) == len(files)
    assert {f["kind"] for f in doc["files"]} == {"usecase", "curves"}


def test_every_problem_is_listed_by_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    result = run("validate", str(bad), str(EXAMPLES / "seed-nemo-43b.yaml"))
    assert result.exit_code == 2
    for field in ("input_tokens", "latency.first_token_ms", "hardware.precision", "output_tokns"):
        assert f"bad.yaml: {field}:" in result.stdout, field
    assert "did you mean 'output_tokens'" in result.stdout
    assert "4 problem(s)" in result.stdout and "seed-nemo-43b.yaml: valid" in result.stdout
    assert "Traceback" not in result.output


def test_catalog_and_context_problems_after_the_schema(tmp_path: Path) -> None:
    long = tmp_path / "long.yaml"
    long.write_text(
        "model: llama-2-7b\ninput_tokens: 4000\noutput_tokens: 500\n"
        "latency: {first_token_ms: 1000}\nload: {peak_rps: 3}\n"
    )
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(long.read_text().replace("llama-2-7b", "llama-2-7"))
    curves = tmp_path / "c.csv"
    curves.write_text("model,gpu\nx,y\n")
    doc = json.loads(run("validate", str(long), str(unknown), str(curves), "--json").stdout)
    problems = {Path(f["path"]).name: f["problems"] for f in doc["files"]}
    assert "context window" in problems["long.yaml"][0]
    assert "did you mean" in problems["unknown.yaml"][0]
    assert "missing column" in problems["c.csv"][0]
    assert not doc["valid"]


def test_every_bad_curve_row_is_listed(tmp_path: Path) -> None:
    lines = (ROOT / "src" / "llmsize" / "data" / "curves.csv").read_text().splitlines()[:4]
    header = lines[0].split(",")
    gpu, precision = header.index("gpu"), header.index("precision")
    bad_gpu, bad_precision = lines[1].split(","), lines[2].split(",")
    bad_gpu[gpu] = "z100"
    bad_precision[precision] = "bf17"
    path = tmp_path / "rows.csv"
    path.write_text("\n".join([*lines, ",".join(bad_gpu), ",".join(bad_precision)]) + "\n")
    doc = json.loads(run("validate", str(path), "--json").stdout)
    (checked,) = doc["files"]
    assert checked["summary"] == "3 valid curve rows"
    assert [p.split(": ")[0] for p in checked["problems"]] == [f"{path}:5", f"{path}:6"]
    assert "did you mean" in checked["problems"][0] and "bf17" in checked["problems"][1]
