"""`llmsize configs`: the calculator's main screen for one model on one GPU type."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llmsize.cli import _options as opts
from llmsize.cli._common import NO_CONFIG, output_path, user_errors
from llmsize.cli.estimate import GpuOpt, InputOpt, ModelOpt, OutputOpt, ServerOpt

if TYPE_CHECKING:
    from llmsize.limits import Limits

LimitOpt = Annotated[float | None, typer.Option(min=0.001, max=86_400_000)]


@opts.perf_flags
def configs_command(
    model: ModelOpt,
    gpu: GpuOpt,
    input_tokens: InputOpt,
    output_tokens: OutputOpt,
    precision: opts.BestPrecisionOpt = None,
    kv_precision: opts.KvPrecisionOpt = None,
    first_token_ms: opts.FirstTokenOpt = None,
    last_token_ms: opts.LastTokenOpt = None,
    inter_token_ms: opts.InterTokenOpt = None,
    mode: opts.ModeOpt = opts.Mode.inflight,
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
    from llmsize.limits import Limits

    if disaggregated:
        _disaggregated(
            model, gpu, input_tokens, output_tokens, precision, kv_precision,
            Limits(first_token_ms, last_token_ms, inter_token_ms), mode, server, plot, force,
            frontier_only, fmt, as_json, perf,
        )  # fmt: skip
        return
    output_path(plot, "--plot", force, perf.inputs, plot=True)
    with user_errors():
        result = configs(
            model,
            gpu,
            input_tokens,
            output_tokens,
            precision.name_in_table if precision else None,
            kv_precision=kv_precision.value if kv_precision else None,
            limits=Limits(first_token_ms, last_token_ms, inter_token_ms),
            mode=mode.value,
            server=server,
            **perf.settings(),
        )
    if plot is not None:
        from llmsize.report.plots import frontier_plot

        with user_errors():
            frontier_plot(result, plot)
    if as_json or fmt != opts.Format.table:
        from llmsize.report.configs_table import configs_document

        opts.emit(configs_document(result), as_json, fmt, "Configurations")
    else:
        from llmsize.report.configs_table import render_configs
        from llmsize.report.console import make_console

        render_configs(result, make_console(), frontier_only=frontier_only)
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
