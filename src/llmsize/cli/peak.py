"""`llmsize peak`: peak requests/s from an average by the Poisson rule, and the inverse."""

from typing import Annotated

import typer

from llmsize.cli._common import fail
from llmsize.cli._options import Format, FormatOpt, emit


def peak_command(
    avg: Annotated[
        float | None,
        typer.Option(
            "--avg", min=0, max=1e6, help="Average requests/s: prints the peak to size for."
        ),
    ] = None,
    capacity: Annotated[
        float | None,
        typer.Option(
            "--capacity",
            min=0,
            max=1e6,
            help="Requests/s a deployment serves: prints the largest average whose peak fits.",
        ),
    ] = None,
    percentile: Annotated[
        float,
        typer.Option(
            "--percentile", min=0.5, max=0.9999, help="Quantile of the one-second counts."
        ),
    ] = 0.95,
    fmt: FormatOpt = Format.table,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Peak req/s to size for, from an average (Poisson quantile), or the reverse.

    --avg 64 gives 77 (scipy.stats.poisson.ppf(0.95, 64)); --capacity 65.6 gives 53.2.
    """
    from llmsize.workload import peak_from_average, sustainable_average

    if (avg is None) == (capacity is None):
        raise fail("llmsize peak: give exactly one of --avg or --capacity")
    if avg is not None:
        peak = peak_from_average(avg, percentile)
        rise = (peak / avg - 1) * 100 if avg > 0 else 0.0
        if as_json or fmt != Format.table:
            from llmsize.report.documents import peak_document

            emit(peak_document(avg, percentile, peak), as_json, fmt, "Peak")
        else:
            typer.echo(
                f"{peak} req/s peak: the {percentile:.0%} quantile of one-second request counts "
                f"at an average of {avg:g} req/s (Poisson; +{rise:.0f} %)"
            )
        return
    assert capacity is not None
    average = sustainable_average(capacity, percentile)
    if as_json or fmt != Format.table:
        from llmsize.report.documents import sustainable_document

        doc = sustainable_document(capacity, percentile, average)
        emit(doc, as_json, fmt, "Sustainable average")
    else:
        typer.echo(
            f"{average:.3g} req/s average: the largest Poisson average whose {percentile:.0%} "
            f"one-second peak fits a capacity of {capacity:g} req/s"
        )
