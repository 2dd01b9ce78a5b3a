"""`llmsize calibrate` and `llmsize accuracy`: fit the model to measurements, and say how wrong
it is on measurements it did not see."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from llmsize.cli._common import output_path, user_errors
from llmsize.cli._options import ForceOpt, Format, FormatOpt, JsonOpt, emit


def calibrate_command(
    data: Annotated[
        list[Path],
        typer.Argument(help="Measured rows in the curve CSV schema (one or more files)."),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Where to write the fitted parameters (YAML).")
    ],
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="Name the fit's engine (default: each row's source_id)."),
    ] = None,
    statistic: Annotated[
        str,
        typer.Option(
            "--statistic",
            help="Which rows to fit (their latency_stat; bench writes one per statistic): mean "
            "(the steady state the model predicts), or p50, p90, p95, p99 to have it answer at "
            "that percentile.",
        ),
    ] = "mean",
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
    force: ForceOpt = False,
) -> None:
    """Fit the performance model to your measurements (scipy least squares on relative error),
    per engine, GPU and precision, and print median and p90 error before and after.

    Use the result with --calibration on plan, estimate and configs.
    """
    from llmsize.api import calibrate
    from llmsize.perf.calibration import save_calibration

    for path in data:
        if not path.is_file():
            raise typer.BadParameter(f"{str(path)!r} is not a file", param_hint="DATA")
    output_path(out, "--out", force, data)
    with user_errors():
        result = calibrate(data, engine=engine, statistic=statistic)
        save_calibration(result.calibration, out, force=force, inputs=data)
    if as_json or fmt != Format.table:
        from llmsize.report.documents import calibrate_document

        emit(calibrate_document(result, str(out)), as_json, fmt, "Calibration")
        return
    from llmsize.report.accuracy_table import error_table
    from llmsize.report.console import make_console

    console = make_console()
    console.print(
        f"{result.rows} rows ({result.statistic} figures) in {result.curves} curves; wrote {out}"
    )
    for fit in result.calibration.groups.values():  # its own fits (the shipped stand behind)
        console.print(f"  {fit.describe()}")
    for group, reason in result.left_out.items():
        console.print(f"  [yellow]not fitted, {group}: {reason}[/]")
    for reason, count in result.skipped.items():
        console.print(f"  skipped {count}: {reason}")
    console.print(
        error_table("Error on the fitted rows", {"before": result.before, "after": result.after})
    )


class BundledSet(StrEnum):
    curves = "curves"
    silicon = "silicon"


def accuracy_command(
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data",
            help="Rows to test on (curve CSV or AIConfigurator silicon CSV, repeatable; "
            "default: a bundled set).",
        ),
    ] = None,
    bundled: Annotated[
        BundledSet,
        typer.Option(
            "--dataset",
            help="Which bundled set to test on without --data: curves (2024: TensorRT-LLM 0.9, "
            "NIM, the "
            "talk) or silicon (today's vLLM, SGLang, TensorRT-LLM 1.x; each family held out).",
        ),
    ] = BundledSet.curves,
    engine: Annotated[
        str | None, typer.Option("--engine", help="Treat every row as this engine's.")
    ] = None,
    folds: Annotated[
        int | None,
        typer.Option(
            "--folds",
            min=2,
            max=100,
            help="Cross-validation folds (default 5; one per family for silicon runs).",
        ),
    ] = None,
    simulate: Annotated[
        bool,
        typer.Option(
            "--simulate",
            help="Test the digital twin instead: simulate every closed-loop (concurrency) row.",
        ),
    ] = False,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Prediction error against measurements, cross-validated with whole curves held out:
    median and p90 absolute percentage error of TTFT, ITL and throughput, per GPU and overall.
    Disaggregated silicon runs are checked against the disaggregated model with the shipped
    calibration (out of sample: no fit sees one), each run it cannot take counted by reason."""
    from llmsize.api import accuracy

    for path in data or []:
        if not path.is_file():
            raise typer.BadParameter(f"{str(path)!r} is not a file", param_hint="--data")
    from rich.console import Console
    from rich.progress import Progress

    # on stderr, and only on a terminal: piped output and JSON stay clean
    bar = Progress(console=Console(stderr=True), transient=True)
    task = bar.add_task("cross-validating", total=folds)

    def progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total, description=f"fold {done} of {total} done")

    with bar, user_errors():
        report = accuracy(
            data or [],
            engine=engine,
            folds=folds,
            simulate=simulate,
            progress=progress,
            bundled=bundled.value,
        )
    if as_json or fmt != Format.table:
        from llmsize.report.documents import accuracy_document

        emit(accuracy_document(report), as_json, fmt, "Accuracy")
        return
    from llmsize.report.accuracy_table import render_accuracy
    from llmsize.report.console import make_console

    render_accuracy(report, make_console(), simulated=simulate)
