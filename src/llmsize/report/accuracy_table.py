"""Error tables: median and p90 absolute percentage error per metric and group."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from llmsize.benchdb.silicon import DISAGGREGATED
from llmsize.perf.accuracy import DISAGGREGATED_METRICS, AccuracyReport, DisaggregatedAccuracy
from llmsize.report.console import SafeTable

METRICS = ("ttft", "itl", "throughput")


def _cell(summary: dict[str, float]) -> str:
    if not summary.get("n"):
        return "—"
    return f"{summary['median']:.1f} / {summary['p90']:.1f}"


def error_table(
    title: str,
    rows: dict[str, dict[str, dict[str, float]]],
    metrics: tuple[str, ...] = METRICS,
) -> Table:
    table = SafeTable(
        title=f"{title} (median / p90 APE, %)", title_justify="left", box=box.SIMPLE_HEAD
    )
    table.add_column("")
    for metric in metrics:
        table.add_column(
            metric.upper() if metric != "throughput" else "throughput", justify="right"
        )
    table.add_column("rows", justify="right")
    for name, found in rows.items():
        n = max((int(found.get(m, {}).get("n", 0)) for m in metrics), default=0)
        table.add_row(name, *(_cell(found.get(m, {})) for m in metrics), str(n))
    return table


def render_disaggregated(report: DisaggregatedAccuracy, console: Console) -> None:
    """The disaggregated runs: not cross-validated, as no fit ever sees one."""
    asked = report.rows + sum(report.skipped.values())
    console.print(
        f"Disaggregated runs: the steady-state model with the shipped calibration answered "
        f"{report.rows} of {asked} ({report.coverage:.1%}); none of them is fitted on, so every "
        "answer is out of sample (ITL: the runs' TPOT)."
    )
    if report.rows:
        per_engine = {**report.per_engine, "all": report.overall}
        console.print(error_table("Disaggregated, per engine", per_engine, DISAGGREGATED_METRICS))
        if len(report.per_engine_gpu) > len(report.per_engine):
            console.print(
                error_table(
                    "Disaggregated, per engine and GPU",
                    report.per_engine_gpu,
                    DISAGGREGATED_METRICS,
                )
            )
    for reason, count in report.skipped.items():
        console.print(f"  not tested, {count} disaggregated rows: {reason}")


def render_accuracy(report: AccuracyReport, console: Console, *, simulated: bool = False) -> None:
    what = "The digital twin against measured closed-loop runs" if simulated else "The model"
    console.print(
        f"{what}: cross-validated on {report.rows} rows ({report.coverage:.1%} of those asked), "
        f"{report.folds} folds; each fold holds out {report.grouping} and refits from the "
        "default parameters."
    )
    console.print(error_table("Per GPU", {**report.per_gpu, "all": report.overall}))
    console.print(error_table("Per engine", report.per_engine))
    if len(report.per_engine_gpu) > len(report.per_engine):
        console.print(error_table("Per engine and GPU", report.per_engine_gpu))
    console.print(error_table("Per mode", report.per_mode))
    for reason, count in report.skipped.items():
        if reason != DISAGGREGATED or report.disaggregated is None:
            console.print(f"  not tested, {count} rows: {reason}")
    if report.disaggregated is not None:
        render_disaggregated(report.disaggregated, console)
