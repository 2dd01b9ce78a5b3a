"""`llmsize configs`: the calculator's main screen for one model on one GPU type."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llmsize.cli import _complete as complete
from llmsize.cli import _options as opts
from llmsize.cli._common import NO_CONFIG, output_path, user_errors
from llmsize.cli._usecase import UseCaseArg
from llmsize.cli.estimate import ServerOpt

if TYPE_CHECKING:
    from llmsize.limits import Limits

LimitOpt = Annotated[float | None, typer.Option(min=0.001, max=86_400_000)]


@opts.perf_flags
def configs_command(
    usecase: UseCaseArg = None,
    model: opts.OptionalModelOpt = None,
    gpu: Annotated[
        str | None,
        typer.Option(
            "--gpu",
            help="Catalog GPU id (llmsize catalog gpus); required without a use case or --server.",
            autocompletion=complete.gpus,
            show_default=False,
        ),
    ] = None,
    input_tokens: opts.OptionalInputOpt = None,
    output_tokens: opts.OptionalOutputOpt = None,
    precision: opts.BestPrecisionOpt = None,
    kv_precision: opts.KvPrecisionOpt = None,
    first_token_ms: opts.FirstTokenOpt = None,
    last_token_ms: opts.LastTokenOpt = None,
    inter_token_ms: opts.InterTokenOpt = None,
    mode: opts.OptionalModeOpt = None,
    server: ServerOpt = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write the frontier chart (PNG; needs llmsize[plot])."),
    ] = None,
    frontier_only: Annotated[
        bool, typer.Option("--frontier-only", help="Show only the frontier's configurations.")
    ] = False,
    disaggregated: Annotated[
        bool,
        typer.Option(
            "--disaggregated",
            help="List prefill/decode units instead (P prefill and D decode workers, each at "
            "its most concurrent requests within the limits; modelled).",
        ),
    ] = False,
    fmt: opts.FormatOpt = opts.Format.table,
    as_json: opts.JsonOpt = False,
    force: opts.ForceOpt = False,
    *,
    perf: opts.PerfFlags,
) -> None:
    """Every (TP, batch) that fits, the latency-throughput frontier, and the throughput-optimal
    and latency-optimal configurations within the limits (prompts/s per 8 GPUs).

    Exit code 1 when no configuration meets the limits.
    """
    from llmsize.api import configs
    from llmsize.cli._usecase import asked, credits, limits_over, print_credits
    from llmsize.errors import InputError
    from llmsize.limits import Limits

    with user_errors():
        q = asked(
            usecase,
            (model, input_tokens, output_tokens),
            server=server,
            gpu=gpu,
            engine=perf.engine,
            mode=mode.value if mode else None,
            calibration=perf.calibration,
            kv_precision=kv_precision.value if kv_precision else None,
        )
        if q is None and gpu is None:
            raise InputError("--gpu", "required (or give a use-case file naming one server)")
        if q is not None and disaggregated:
            raise InputError(
                "--disaggregated",
                "lists units for flags, not a use case: llmsize plan USECASE --disaggregated "
                "sizes them for its load, prefix cache and drafting",
            )
    if disaggregated:
        _disaggregated(
            str(model), str(gpu), int(input_tokens or 0), int(output_tokens or 0), precision,
            kv_precision, Limits(first_token_ms, last_token_ms, inter_token_ms),
            mode or opts.Mode.inflight, server, plot, force, frontier_only, fmt, as_json, perf,
        )  # fmt: skip
        return
    output_path(plot, "--plot", force, perf.inputs, plot=True)
    asked_precision = precision.name_in_table if precision else None
    settings = perf.settings()
    with user_errors():
        if q is not None:
            settings["engine"] = q.engine
            result = configs(
                q.model,
                q.gpu,
                q.input_tokens,
                q.output_tokens,
                asked_precision or q.precision,
                kv_precision=q.kv_precision,
                limits=limits_over(q, first_token_ms, last_token_ms, inter_token_ms),
                mode=q.mode,
                server=q.server,
                precisions=() if asked_precision else q.precisions,
                serving=q.serving,
                **settings,
            )
        else:
            result = configs(
                str(model),
                str(gpu),
                int(input_tokens or 0),
                int(output_tokens or 0),
                asked_precision,
                kv_precision=kv_precision.value if kv_precision else None,
                limits=Limits(first_token_ms, last_token_ms, inter_token_ms),
                mode=mode.value if mode else "inflight",
                server=server,
                **settings,
            )
    if plot is not None:
        from llmsize.report.plots import frontier_plot

        with user_errors():
            frontier_plot(result, plot)
    if as_json or fmt != opts.Format.table:
        from llmsize.report.configs_table import configs_document

        doc = configs_document(result)
        if q is not None:
            doc["usecase"] = credits(q)
        opts.emit(doc, as_json, fmt, "Configurations")
    else:
        from llmsize.report.configs_table import render_configs
        from llmsize.report.console import make_console

        console = make_console()
        if q is not None:
            print_credits(q, console)
        render_configs(result, console, frontier_only=frontier_only)
    if result.throughput_optimal is None:
        raise typer.Exit(NO_CONFIG)


def _disaggregated(
    model: str,
    gpu: str,
    input_tokens: int,
    output_tokens: int,
    precision: opts.PrecisionChoice | None,
    kv_precision: opts.KvChoice | None,
    limits: "Limits",
    mode: opts.Mode,
    server: str | None,
    plot: Path | None,
    force: bool,
    frontier_only: bool,
    fmt: opts.Format,
    as_json: bool,
    perf: opts.PerfFlags,
) -> None:
    """configs --disaggregated: the prefill/decode units (modelled, continuous batching)."""
    from llmsize.api import configs_disaggregated
    from llmsize.errors import InputError

    output_path(plot, "--plot", force, perf.inputs, plot=True)
    with user_errors():
        if mode != opts.Mode.inflight:
            raise InputError("--mode", "--disaggregated serves with continuous batching only")
        if perf.source not in ("auto", "model") or perf.bench:
            raise InputError("--source", "--disaggregated units are modelled only")
        result = configs_disaggregated(
            model,
            gpu,
            input_tokens,
            output_tokens,
            precision.name_in_table if precision else None,
            limits=limits,
            server=server,
            engine=perf.engine,
            calibration=perf.calibration,
            kv_precision=kv_precision.value if kv_precision else None,
        )
    if plot is not None:
        from llmsize.report.plots import units_plot

        with user_errors():
            units_plot(result, plot)
    if as_json or fmt != opts.Format.table:
        from llmsize.report.disaggregated_configs import disaggregated_configs_document

        opts.emit(disaggregated_configs_document(result), as_json, fmt, "Disaggregated units")
    else:
        from llmsize.report.console import make_console
        from llmsize.report.disaggregated_configs import render_disaggregated_configs

        render_disaggregated_configs(result, make_console(), frontier_only=frontier_only)
    if result.throughput_optimal is None:
        raise typer.Exit(NO_CONFIG)
