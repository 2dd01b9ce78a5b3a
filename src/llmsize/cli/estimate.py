"""`llmsize estimate`: one configuration, the calculator's clicked point."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llmsize.cli import _complete as complete
from llmsize.cli import _options as opts
from llmsize.cli._common import NO_CONFIG, output_path, user_errors

if TYPE_CHECKING:
    from llmsize.perf.results import EstimateResult

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        help="Catalog id or alias, or a path to a HF config.json.",
        autocompletion=complete.models,
    ),
]
GpuOpt = Annotated[
    str,
    typer.Option(
        "--gpu", help="Catalog GPU id (llmsize catalog gpus).", autocompletion=complete.gpus
    ),
]
InputOpt = Annotated[
    int,
    typer.Option("--input-tokens", min=1, help="Input tokens per request (incl. system prompt)."),
]
OutputOpt = Annotated[
    int, typer.Option("--output-tokens", min=1, help="Output tokens per request.")
]
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="Server type (default: 8 GPUs of --gpu, per-8-GPU figures).",
        autocompletion=complete.servers,
    ),
]


@opts.perf_flags
def estimate_command(
    model: ModelOpt,
    gpu: GpuOpt,
    tp: Annotated[
        int, typer.Option("--tp", min=1, max=64, help="Tensor-parallel GPUs per instance.")
    ],
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=65536, help="Static batch size, or concurrency.")
    ],
    input_tokens: InputOpt,
    output_tokens: OutputOpt,
    precision: Annotated[
        opts.PrecisionChoice | None,
        typer.Option(
            "--precision",
            help="Weights and math precision [default: the checkpoint's own, else bf16].",
            show_default=False,
        ),
    ] = None,
    kv_precision: Annotated[
        opts.KvChoice | None,
        typer.Option(
            "--kv-precision",
            help="KV-cache precision [default: what the weights' precision or the checkpoint "
            "caches in].",
            show_default=False,
        ),
    ] = None,
    mode: opts.ModeOpt = opts.Mode.inflight,
    server: ServerOpt = None,
    pp: Annotated[
        int, typer.Option("--pp", min=1, max=64, help="Pipeline stages per replica.")
    ] = 1,
    attention_dp: Annotated[
        int,
        typer.Option("--attention-dp", min=1, max=64, help="Attention data-parallel ranks."),
    ] = 1,
    ep: Annotated[
        int,
        typer.Option("--ep", min=1, max=1024, help="Expert-parallel ranks (MoE layers)."),
    ] = 1,
    moe_tp: Annotated[
        int | None,
        typer.Option(
            "--moe-tp",
            min=1,
            max=64,
            help="MoE tensor parallel; EP x MoE-TP must equal TP x attention-DP (default: so).",
        ),
    ] = None,
    sweep_plot: Annotated[
        Path | None,
        typer.Option(
            "--sweep-plot",
            help="Write prefill time against input x batch and decode time against context x "
            "batch (PNG), modelled and measured.",
        ),
    ] = None,
    fmt: opts.FormatOpt = opts.Format.table,
    as_json: opts.JsonOpt = False,
    force: opts.ForceOpt = False,
    *,
    perf: opts.PerfFlags,
) -> None:
    """TTFT, ITL, E2E, requests/s per server and output tokens/s per GPU of one configuration,
    with memory use, the largest batch that fits, and where the numbers come from.

    Exit code 1 when the configuration does not fit in memory (the numbers say by how much).
    """
    from llmsize.api import estimate

    output_path(sweep_plot, "--sweep-plot", force, perf.inputs, plot=True)
    with user_errors():
        result = estimate(
            model,
            gpu,
            tp,
            batch,
            input_tokens,
            output_tokens,
            precision.name_in_table if precision else None,
            mode.value,
            server=server,
            pp=pp,
            attention_dp=attention_dp,
            ep=ep,
            moe_tp=moe_tp or 0,
            kv_precision=kv_precision.value if kv_precision else None,
            **perf.settings(),
        )
    if sweep_plot is not None:
        _sweep_plot(result, sweep_plot, perf.calibration, perf.engine)
    if as_json or fmt != opts.Format.table:
        from llmsize.report.documents import estimate_document

        opts.emit(estimate_document(result), as_json, fmt, "Estimate")
    else:
        from llmsize.report.console import make_console
        from llmsize.report.estimate_table import render_estimate

        render_estimate(result, make_console())
    if not result.fits:
        raise typer.Exit(NO_CONFIG)


def _sweep_plot(
    r: EstimateResult, path: Path, calibration: Path | None, engine: str | None
) -> None:
    """The talk's two charts for this estimate's model, GPU, precision and TP."""
    from llmsize.catalog import load_catalog
    from llmsize.perf.calibration import load_calibration
    from llmsize.perf.roofline import default_nvlink_domain
    from llmsize.report.plots import sweep_plot
    from llmsize.report.sweep import sweep

    with user_errors():
        catalog = load_catalog()
        model = catalog.resolve_model(r.model, "--model")
        gpu = catalog.gpus.get(r.gpu, "--gpu")
        prefill, decode = sweep(
            model,
            gpu,
            r.tp,
            r.precision,
            r.output_tokens,
            default_nvlink_domain(gpu),
            load_calibration(calibration),
            engine,
        )
        title = f"{model.id} on {gpu.id}, {r.precision} TP{r.tp}"
        sweep_plot(prefill, decode, title, path)
