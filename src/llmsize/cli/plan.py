"""`llmsize plan`: from a use-case checklist to a server count."""

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from llmsize.cli import _options as opts
from llmsize.cli._common import NO_CONFIG, OK, OVER_MAX_SERVERS, fail, output_path, user_errors


@opts.perf_flags
def plan_command(
    usecase: Annotated[
        Path, typer.Argument(help="Use-case checklist (YAML); see examples/usecases/.")
    ],
    as_json: opts.JsonOpt = False,
    max_servers: Annotated[
        int | None,
        typer.Option(
            "--max-servers", min=1, help="Exit 3 when the plan needs more servers (a CI gate)."
        ),
    ] = None,
    mode: Annotated[
        opts.Mode | None,
        typer.Option(
            "--mode",
            help="inflight: continuous batching, as vLLM, SGLang and TensorRT-LLM serve; static: "
            "the talk's calculator's static batches. Default: the use case's batching, else "
            "static when every --bench row is a static batch, else inflight.",
        ),
    ] = None,
    method: Annotated[
        opts.Method,
        typer.Option(
            "--method",
            help="auto (default): continuous batching is replayed in the digital twin and the "
            "replayed count is the recommendation, static batches take the Poisson-peak rule; "
            "peak: the steady-state Poisson-peak rule only (fast); simulate: always replay.",
        ),
    ] = opts.Method.auto,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated traffic.")] = 0,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=256,
            help="Processes that replay the server types at once (the answer is the serial one).",
        ),
    ] = 1,
    disaggregated: Annotated[
        bool,
        typer.Option(
            "--disaggregated",
            help="Also size a disaggregated deployment per server type (a prefill and a "
            "decode pool; layouts and the prefill:decode ratio searched) by the steady-state "
            "model, shown beside the aggregated answer.",
        ),
    ] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Replay the server types as tasks of a Ray cluster instead: 'local' (a Ray "
            "started on this machine for the run), 'auto' (the cluster this machine has "
            "joined) or HOST:PORT of its head. Needs llmsize[distributed].",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write servers and monthly cost per server type (PNG)."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write a self-contained Markdown sizing report."),
    ] = None,
    fmt: Annotated[
        opts.Format,
        typer.Option("--format", help="table, json, csv (one row per server type) or markdown."),
    ] = opts.Format.table,
    force: opts.ForceOpt = False,
    kv_precision: opts.KvPrecisionOpt = None,
    api: Annotated[
        str | None,
        typer.Option(
            "--api",
            help="Packaged API price to compare the traffic with (llmsize catalog apis); "
            "default: the use case's cost.api, else the first listed.",
        ),
    ] = None,
    rank: Annotated[
        opts.Rank,
        typer.Option(
            "--rank",
            help="How to pick the recommendation: servers (fewest), cost (lowest monthly cost, "
            "where prices are known) or latency (lowest on the use case's first limit).",
        ),
    ] = opts.Rank.servers,
    emit: Annotated[
        str | None,
        typer.Option(
            "--emit",
            help="Print, instead of the plan, the launch command of one replica of its answer: "
            "vllm, sglang or trtllm (the engine's flags: layout, batch limit, step token budget, "
            "context, precision), or k8s (a Deployment and Service running vLLM's image).",
        ),
    ] = None,
    *,
    perf: opts.PerfFlags,
) -> None:
    """Size a use case: servers needed per server type, the best configuration, and why.

    Exit codes: 0 planned, 1 nothing meets the limits, 2 bad input, 3 over --max-servers.
    """
    from llmsize.api import plan

    if not usecase.exists():
        raise fail(f"USECASE: file {str(usecase)!r} does not exist")
    if emit is not None:
        from llmsize.report.launch import TARGETS

        if emit not in TARGETS:
            raise fail(f"--emit: {emit!r} is not one of {', '.join(TARGETS)}")
    inputs = [usecase, *perf.inputs]
    output_path(plot, "--plot", force, inputs, plot=True)
    output_path(report, "--report", force, [*inputs, *([plot] if plot else [])])
    if plot is not None and report is not None and plot.resolve() == report.resolve():
        raise fail("--report: is the same file as --plot")
    with user_errors():
        result = plan(
            usecase,
            **perf.settings(),
            mode=mode.value if mode else None,
            method=method.value,
            seed=seed,
            workers=workers,
            ray=ray,
            disaggregated=disaggregated,
            kv_precision=kv_precision.value if kv_precision else None,
            api=api,
            rank=rank.value,
        )
    rec = result.recommendation
    if plot is not None:
        from llmsize.report.plots import servers_plot

        monthly = {k: v.per_month_usd for k, v in result.costs.items() if v.per_month_usd}
        with user_errors():
            servers_plot(result, plot, monthly)
    if report is not None:
        from llmsize.report.plan_markdown import plan_markdown

        pictures = None
        if plot is not None:
            pictures = {"servers": str(plot.resolve())}
            with contextlib.suppress(ValueError):  # beside the report: a relative link
                pictures = {"servers": str(plot.resolve().relative_to(report.resolve().parent))}
        from llmsize.files import write_output

        with user_errors():
            text = plan_markdown(result, pictures)
            write_output(report, text, force=force, inputs=inputs, where="--report")
    if emit is not None:
        from llmsize.report.launch import launch_text

        with user_errors():
            typer.echo(launch_text(result, emit), nl=False)
    elif as_json or fmt == opts.Format.json:
        from llmsize.report.plan_json import plan_document

        typer.echo(json.dumps(plan_document(result, max_servers), indent=2))
    elif fmt == opts.Format.markdown:
        from llmsize.report.plan_markdown import plan_markdown

        typer.echo(plan_markdown(result))
    elif fmt == opts.Format.csv:
        from llmsize.report.plan_json import plan_csv

        typer.echo(plan_csv(result), nl=False)
    else:
        from llmsize.report.console import make_console
        from llmsize.report.plan_table import render_plan

        render_plan(result, make_console())
    headline = result.headline
    if rec is None and headline is None:
        raise typer.Exit(NO_CONFIG)
    needed = headline.servers if headline is not None else rec.servers if rec else None
    if max_servers is not None and needed is not None and needed > max_servers:
        if not as_json:
            typer.echo(
                f"error: plan needs {needed} servers, over --max-servers {max_servers}",
                err=True,
            )
        raise typer.Exit(OVER_MAX_SERVERS)
    raise typer.Exit(OK)
