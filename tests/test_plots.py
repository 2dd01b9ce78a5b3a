"""Every picture is generated, is a PNG of 1200 x 700 pixels with something drawn on it, and
without matplotlib the flag says how to get it (exit 2)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.cli.helpers import assert_one_line_error, run
from tests.conftest import EXAMPLES, ROOT

MEASURED = ROOT / "tests" / "data" / "llmsize_bench" / "results.jsonl"

CASES = {
    "frontier": [
        "configs",
        "--model",
        "llama-2-70b",
        "--gpu",
        "h100-sxm",
        "--input-tokens",
        "128",
        "--output-tokens",
        "512",
        "--first-token-ms",
        "2000",
    ],
    "units": [
        *("configs", "--model", "deepseek-r1", "--gpu", "b200", "--server", "dgx-b200"),
        *("--input-tokens", "8000", "--output-tokens", "1000", "--first-token-ms", "2000"),
        "--disaggregated",
    ],
    "servers": ["plan", str(EXAMPLES / "rag-compare-all.yaml")],
    "measured": ["show", str(MEASURED), "--first-token-ms", "100"],
    "simulated-vs-measured": [
        "simulate",
        str(EXAMPLES / "llama-2-70b-chat.yaml"),
        "--concurrency",
        "8",
        "--requests",
        "300",
        "--measured",
        str(MEASURED),
        "--measured-level",
        "8",
    ],
    "latency": ["simulate", str(EXAMPLES / "llama-2-70b-chat.yaml"), "--requests", "800"],
    "sweep": [
        "estimate",
        "--model",
        "llama-2-70b",
        "--gpu",
        "h100-sxm",
        "--tp",
        "4",
        "--batch",
        "64",
        "--input-tokens",
        "128",
        "--output-tokens",
        "512",
        "--precision",
        "fp8",
    ],
}
FLAG = {"sweep": "--sweep-plot"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_picture_is_a_drawn_png_of_the_right_size(name: str, tmp_path: Path) -> None:
    import matplotlib.image

    path = tmp_path / f"{name}.png"
    result = run(*CASES[name], FLAG.get(name, "--plot"), str(path))
    assert result.exit_code == 0, result.output
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (700, 1200)
    assert image.std() > 0.05  # not a blank canvas


def test_without_matplotlib_the_flag_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert_one_line_error(
        run(*CASES["frontier"], "--plot", str(tmp_path / "x.png")), "llmsize[plot]"
    )


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_makes_a_report(example: str, tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    result = run(
        "plan",
        str(EXAMPLES / example),
        "--report",
        str(report),
        "--plot",
        str(tmp_path / "servers.png"),
    )
    assert result.exit_code == 0, result.output
    text = report.read_text()
    for section in (
        "## The use case",
        "## Assumptions",
        "## Recommendation",
        "## Alternatives",
        "## Cost",
        "## Sources",
        "![servers](servers.png)",
    ):
        assert section in text, section


def test_plan_formats() -> None:
    example = str(EXAMPLES / "seed-nemo-43b.yaml")
    csv_out = run("plan", example, "--format", "csv").stdout.splitlines()
    assert csv_out[0].startswith("server,status,servers") and csv_out[1].startswith(
        "dgx-h100,planned,13"
    )
    markdown = run("plan", example, "--format", "markdown").stdout
    assert "**13 × dgx-h100**" in markdown
    assert '"recommendation"' in run("plan", example, "--format", "json").stdout
    assert_one_line_error(run("plan", example, "--format", "xml"), "--format")
