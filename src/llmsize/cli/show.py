"""`llmsize show`: a saved `bench` run, recomputed from its per-request records, and drawn."""

from pathlib import Path
from typing import Annotated

import typer

from llmsize.cli._common import output_path, user_errors
from llmsize.cli._options import ForceOpt, Format, FormatOpt, JsonOpt, LatencyPlotOpt


def show_command(
    results: Annotated[
        Path, typer.Argument(help="Per-request JSONL written by llmsize bench (--out/--jsonl).")
    ],
    level: Annotated[
        str | None,
        typer.Option("--level", help="Only this level: 'concurrency 8', 'rate 2', or just '8'."),
    ] = None,
    plot: LatencyPlotOpt = None,
    first_token_ms: Annotated[
        float | None,
        typer.Option("--first-token-ms", min=0.001, help="TTFT limit to mark on the plot."),
    ] = None,
    last_token_ms: Annotated[
        float | None,
        typer.Option("--last-token-ms", min=0.001, help="E2E limit to mark on the plot."),
    ] = None,
    percentile: Annotated[
        float,
        typer.Option("--percentile", min=0.5, max=0.9999, help="Quantile to mark on the plot."),
    ] = 0.95,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
    force: ForceOpt = False,
) -> None:
    """Recompute a measured run's per-level latencies and throughput from its JSONL, and draw
    its TTFT and E2E distributions (--plot)."""
    from llmsize.api import show

    output_path(plot, "--plot", force, [results], plot=True)
    with user_errors():
        shown = show(results, level)
        if plot is not None:
            from llmsize.report.plots import latency_plot

            latency_plot(
                [
                    (
                        f"measured {s.measured.run.level_label}",
                        s.ttft_ms,
                        s.e2e_ms,
                    )
                    for s in shown
                ],
                plot,
                {"first_token_ms": first_token_ms, "last_token_ms": last_token_ms},
                percentile,
            )
    if as_json or fmt != Format.table:
        from llmsize.cli._options import emit
        from llmsize.report.documents import show_document

        emit(show_document(str(results), shown), as_json, fmt, "Measured run")
        return
    from llmsize.report.bench_table import render_show
    from llmsize.report.console import make_console

    render_show(results, [s.measured for s in shown], make_console())
