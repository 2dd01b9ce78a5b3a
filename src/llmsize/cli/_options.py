"""Options shared by every predicting command, so each is spelled and validated one way."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Source(StrEnum):
    auto = "auto"
    measured = "measured"
    model = "model"


class Mode(StrEnum):
    static = "static"
    inflight = "inflight"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class Method(StrEnum):
    peak = "peak"
    simulate = "simulate"


class PrecisionChoice(StrEnum):
    """The --precision choices: the precision table's (catalog/precisions.py; a test keeps
    them equal)."""

    bf16 = "bf16"
    fp16 = "fp16"
    fp8 = "fp8"
    int4 = "int4"


SourceOpt = Annotated[
    Source,
    typer.Option(
        "--source",
        help="auto: measured curves where they answer, the calibrated model elsewhere; "
        "measured or model alone.",
    ),
]
ModeOpt = Annotated[
    Mode,
    typer.Option(
        "--mode",
        help="static: the calculator's static batches; inflight: continuous batching at a "
        "fixed concurrency (steady-state estimate).",
    ),
]
CalibrationOpt = Annotated[
    Path | None,
    typer.Option(
        "--calibration",
        help="Model parameters fitted by `llmsize calibrate` (default: the shipped fit).",
    ),
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="Which engine's fit to use: trtllm-0.9 (default), nim, nemo-s62797, or yours.",
    ),
]
BenchOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--bench",
        help="Your own measurements in the curve CSV schema (repeatable); they replace "
        "bundled curves of the same configuration.",
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace output files that already exist.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one versioned JSON document.")]
LatencyPlotOpt = Annotated[
    Path | None,
    typer.Option("--plot", help="Write TTFT and E2E distributions with limits (PNG)."),
]
FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format", help="table (default), json, csv or markdown (--json = --format json)."
    ),
]


def emit(doc: object, as_json: bool, fmt: Format, title: str) -> None:
    """Print a command's JSON document as JSON, CSV or Markdown."""
    from llmsize.report.formats import render

    typer.echo(render(doc, "json" if as_json else fmt.value, title), nl=False)
