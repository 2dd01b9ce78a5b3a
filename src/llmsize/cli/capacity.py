"""`llmsize capacity`: a server's capacity per working day, and what it costs against an API."""

from enum import StrEnum
from typing import Annotated

import typer

from llmsize.cli import _complete as complete
from llmsize.cli import _options as opts
from llmsize.cli._common import NO_CONFIG, user_errors
from llmsize.cli._usecase import UseCaseArg

Usd = Annotated[float | None, typer.Option(min=0)]


class Basis(StrEnum):
    cloud = "cloud"
    on_prem = "on-prem"


@opts.perf_flags
def capacity_command(
    usecase: UseCaseArg = None,
    model: opts.OptionalModelOpt = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            help="Server type (llmsize catalog servers); with a use case, the one of its "
            "servers to answer for (needed where it lists several).",
            autocompletion=complete.servers,
        ),
    ] = None,
    input_tokens: opts.OptionalInputOpt = None,
    output_tokens: opts.OptionalOutputOpt = None,
    precision: opts.BestPrecisionOpt = None,
    kv_precision: opts.KvPrecisionOpt = None,
    first_token_ms: opts.FirstTokenOpt = None,
    last_token_ms: opts.LastTokenOpt = None,
    inter_token_ms: opts.InterTokenOpt = None,
    hours_per_day: Annotated[
        float | None,
        typer.Option(
            "--hours-per-day",
            min=0.1,
            max=24,
            help="Working hours of traffic [default: a batch job's window, else 8].",
        ),
    ] = None,
    requests_per_user: Annotated[
        float, typer.Option("--requests-per-user", min=0.01, help="Requests per user per day.")
    ] = 3.0,
    api: Annotated[
        str | None,
        typer.Option(
            "--api",
            help="Packaged API price to compare with (llmsize catalog apis); default the first.",
        ),
    ] = None,
    api_input_per_1k: Annotated[
        float | None,
        typer.Option("--api-input-per-1k", min=0, help="API price, USD per 1k input tokens."),
    ] = None,
    api_output_per_1k: Annotated[
        float | None,
        typer.Option("--api-output-per-1k", min=0, help="API price, USD per 1k output tokens."),
    ] = None,
    server_usd_per_hour: Annotated[
        float | None,
        typer.Option("--server-usd-per-hour", min=0, help="Your server cost per hour."),
    ] = None,
    server_purchase_usd: Annotated[
        float | None,
        typer.Option(
            "--server-purchase-usd", min=0, help="On-prem: what one server cost (amortised)."
        ),
    ] = None,
    amortisation_months: Annotated[
        int | None,
        typer.Option(
            "--amortisation-months",
            min=1,
            max=240,
            help="On-prem amortisation period [default: a use case's, else 36].",
        ),
    ] = None,
    server_running_usd_per_month: Annotated[
        float | None,
        typer.Option(
            "--server-running-usd-per-month",
            min=0,
            help="On-prem: power, space and support per server per month [default: 0].",
        ),
    ] = None,
    basis: Annotated[
        Basis | None,
        typer.Option(
            "--basis",
            help="Packaged server price: cloud (per hour) or on-prem [default: a use case's, "
            "else cloud].",
        ),
    ] = None,
    mode: opts.OptionalModeOpt = None,
    fmt: opts.FormatOpt = opts.Format.table,
    as_json: opts.JsonOpt = False,
    *,
    perf: opts.PerfFlags,
) -> None:
    """Peak capacity per server, the sustainable average (inverse Poisson rule), requests, users
    and tokens per working day, the server's monthly cost and the API cost of the same traffic.
    Exit 1 when no configuration meets the limits."""
    from llmsize.api import capacity
    from llmsize.cli._usecase import (
        asked,
        credits,
        limits_over,
        print_credits,
    )
    from llmsize.economics import GivenPrices
    from llmsize.errors import InputError
    from llmsize.limits import Limits

    kv = kv_precision.value if kv_precision else None
    with user_errors():
        q = asked(
            usecase,
            (model, input_tokens, output_tokens),
            server=server,
            gpu=None,
            engine=perf.engine,
            mode=mode.value if mode else None,
            calibration=perf.calibration,
            kv_precision=kv,
        )
        if q is None and server is None:
            raise InputError("--server", "required (or give a use-case file naming one)")
        asked_precision = precision.name_in_table if precision else None
        prices = GivenPrices(
            server_usd_per_hour,
            server_purchase_usd,
            amortisation_months or 36,
            server_running_usd_per_month or 0.0,
            basis.value if basis else "cloud",
            api_input_per_1k,
            api_output_per_1k,
            api=api,
        )
        server_flags = (
            server_usd_per_hour,
            server_purchase_usd,
            amortisation_months,
            server_running_usd_per_month,
            basis,
        )
        server_flags_given = any(v is not None for v in server_flags)
        settings = perf.settings()
        if q is not None:
            settings["engine"] = q.engine
        r = capacity(
            q.model if q is not None else str(model),
            (q.server if q is not None else None) or str(server),
            q.input_tokens if q is not None else int(input_tokens or 0),
            q.output_tokens if q is not None else int(output_tokens or 0),
            asked_precision or (q.precision if q is not None else None),
            kv_precision=kv or (q.kv_precision if q is not None else None),
            limits=(
                limits_over(q, first_token_ms, last_token_ms, inter_token_ms)
                if q is not None
                else Limits(first_token_ms, last_token_ms, inter_token_ms)
            ),
            prices=prices if q is None else q.prices(prices, server_flags_given),
            hours_per_day=hours_per_day or (q.traffic_hours if q is not None else 8.0),
            requests_per_user=requests_per_user,
            mode=q.mode if q is not None else (mode.value if mode else "inflight"),
            precisions=() if asked_precision or q is None else q.precisions,
            serving=q.serving if q is not None else None,
            queued=q is not None and q.usecase.is_batch,
            cached_share=q.cached_share if q is not None else 0.0,
            api_cached_input_per_1k=(
                q.usecase.cost.api_cached_input_per_1k_usd if q is not None else None
            ),
            **settings,
        )
    best = r.configs.throughput_optimal
    if as_json or fmt != opts.Format.table:
        from llmsize.report.documents import capacity_document

        doc = capacity_document(r)
        if q is not None:
            doc["usecase"] = credits(q)
        opts.emit(doc, as_json, fmt, "Capacity")
    else:
        from llmsize.report.console import make_console, safe

        console = make_console()
        if q is not None:
            print_credits(q, console)
        if best is None or r.daily is None:
            console.print("[bold red]No configuration meets the limits.[/]")
        else:
            from llmsize.report.documents import capacity_range

            d = r.daily
            span = capacity_range(best, d.queued)
            peak_range = " (range unvalidated)" if span["range_note"] else ""
            avg_range = ""
            if span["interval"] is not None:
                widened = f"; {span['range_note']}" if span["range_note"] else ""
                peak_range = (
                    f" (90 % range {span['rps_low']:,.2f}–{span['rps_high']:,.2f}{widened})"
                )
                avg_range = f" ({_rate(span['avg_rps_low'])}–{_rate(span['avg_rps_high'])})"
            if d.queued:  # a batch job's requests wait: the server runs full all window
                rate = (
                    f"capacity {d.peak_rps:,.2f} req/s{peak_range}, all {d.hours_per_day:g} "
                    "hours of the job's window (its requests wait in a queue: no Poisson peak)"
                )
                day = f"per {d.hours_per_day:g}-hour window: {d.requests_per_day:,.0f} requests, "
            else:
                rate = (
                    f"peak capacity {d.peak_rps:,.2f} req/s{peak_range} -> sustainable average "
                    f"{_rate(d.avg_rps)} req/s{avg_range} (its 95 % Poisson peak fits)"
                )
                day = (
                    f"per {d.hours_per_day:g}-hour day: {d.requests_per_day:,.0f} requests, "
                    f"{d.users_per_day:,.0f} users at {requests_per_user:g} each, "
                )
            console.print(
                f"[bold]{safe(r.configs.model)}[/] on 1 x {safe(r.configs.server)} ({best.label}, "
                f"{best.provenance}, {safe(best.source)})\n{rate}\n{day}"
                f"{d.input_tokens_per_day / 1e6:,.1f} M input and "
                f"{d.output_tokens_per_day / 1e6:,.1f} M output tokens"
            )
            if r.server_month_usd is not None and r.server_price is not None:
                rented = r.server_month_usd < r.server_price.per_month_usd
                billed = f", rented {d.hours_per_day:g} h a day" if rented else ""
                console.print(
                    f"server: ${r.server_month_usd:,.0f} a month{billed} "
                    f"({r.server_price.usd_per_hour:g} "
                    f"$/h; {r.server_price.source}), ${r.usd_per_million_output_tokens:,.2f} per "
                    "million output tokens at that traffic",
                    soft_wrap=True,
                )
            if r.api is not None:
                console.print(
                    f"the same traffic from an API ({r.api.price.id}): "
                    f"${r.api.input_per_day_usd:,.1f} + ${r.api.output_per_day_usd:,.1f} a day, "
                    f"${r.api.per_month_usd:,.0f} a month ({r.api.price.source})"
                    f"{'; ' + r.api.notes if r.api.notes else ''}",
                    soft_wrap=True,
                )
    if best is None:
        raise typer.Exit(NO_CONFIG)


def _rate(rps: float) -> str:
    """Three significant figures, without an exponent: 13.3, 604, 1,040."""
    return f"{rps:,.0f}" if rps >= 100 else f"{rps:,.3g}"
