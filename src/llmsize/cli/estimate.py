"""`llmsize estimate`: one configuration, the calculator's clicked point."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llmsize.cli import _complete as complete
from llmsize.cli import _options as opts
from llmsize.cli._common import NO_CONFIG, fail, output_path, user_errors

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
    input_tokens: InputOpt,
    output_tokens: OutputOpt,
    tp: Annotated[
        int | None,
        typer.Option("--tp", min=1, max=64, help="Tensor-parallel GPUs per instance (aggregated)."),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch",
            min=1,
            max=65536,
            help="Static batch size, or in-flight concurrency (aggregated; --concurrency too).",
        ),
    ] = None,
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
    prefill: Annotated[
        str | None,
        typer.Option(
            "--prefill",
            metavar="SPEC",
            help="A disaggregated deployment's prefill pool, as 'tp=1,attention_dp=4,ep=4,"
            "workers=2,batch=1' (keys tp, pp, attention_dp, ep, moe_tp, workers, batch per "
            "attention-DP rank, gpu, server; as the silicon runs' prefill_* columns). With "
            "--decode, instead of --tp and --batch.",
        ),
    ] = None,
    decode: Annotated[
        str | None,
        typer.Option(
            "--decode",
            metavar="SPEC",
            help="The decode pool, as --prefill ('attention_dp=8,ep=8,workers=4,batch=64').",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            max=1_000_000,
            help="Closed-loop requests in flight: in-flight batching's --batch, or a "
            "disaggregated deployment's (default: what the decode pool holds, batch x "
            "attention_dp x workers).",
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

    if prefill is not None or decode is not None:
        aggregated_only = {
            "--tp": tp is not None,
            "--batch": batch is not None,
            "--sweep-plot": sweep_plot is not None,
            "--kv-precision": kv_precision is not None,
            "--pp": pp != 1,
            "--attention-dp": attention_dp != 1,
            "--ep": ep != 1,
            "--moe-tp": moe_tp is not None,
            "--mode": mode != opts.Mode.inflight,
        }
        _disaggregated(
            model, gpu, input_tokens, output_tokens, precision, server, prefill, decode,
            concurrency, [flag for flag, given in aggregated_only.items() if given], fmt,
            as_json, perf,
        )  # fmt: skip
        return
    if concurrency is not None:
        if mode == opts.Mode.static:
            raise fail("--concurrency: a static batch is --batch (--mode static)")
        if batch is not None and batch != concurrency:
            raise fail(
                f"--concurrency: {concurrency} against --batch {batch}; in-flight batching's "
                "concurrency is one number: give one of them"
            )
        batch = concurrency
    if tp is None or batch is None:
        raise fail(
            f"--{'tp' if tp is None else 'batch'}: required (or --prefill and --decode for a "
            "disaggregated deployment)"
        )
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


def _disaggregated(
    model: str,
    gpu: str,
    input_tokens: int,
    output_tokens: int,
    precision: opts.PrecisionChoice | None,
    server: str | None,
    prefill: str | None,
    decode: str | None,
    concurrency: int | None,
    aggregated_flags: list[str],
    fmt: opts.Format,
    as_json: bool,
    perf: opts.PerfFlags,
) -> None:
    """`estimate --prefill SPEC --decode SPEC`: a disaggregated deployment."""
    from llmsize.api import estimate_disaggregated

    if prefill is None or decode is None:
        raise fail(f"--{'prefill' if prefill is None else 'decode'}: needs its other pool too")
    if aggregated_flags:
        raise fail(
            f"{aggregated_flags[0]}: for an aggregated deployment; a disaggregated one says its "
            "layouts in --prefill and --decode"
        )
    if perf.source == "measured" or perf.bench:
        flag = "--bench" if perf.bench else "--source"
        raise fail(f"{flag}: a disaggregated deployment is answered by the model only")
    with user_errors():
        result = estimate_disaggregated(
            model,
            gpu,
            input_tokens,
            output_tokens,
            precision.name_in_table if precision else None,
            engine=perf.engine,
            prefill=pool_spec(prefill, "--prefill"),
            decode=pool_spec(decode, "--decode"),
            concurrency=concurrency,
            server=server,
            calibration=perf.calibration,
        )
    if as_json or fmt != opts.Format.table:
        from dataclasses import asdict

        from llmsize.report.documents import versioned

        opts.emit(versioned(asdict(result)), as_json, fmt, "Disaggregated estimate")
    else:
        from llmsize.report.console import make_console
        from llmsize.report.estimate_table import render_disaggregated

        render_disaggregated(result, make_console())


def pool_spec(text: str, flag: str) -> dict[str, object]:
    """'tp=1,attention_dp=4,workers=2,gpu=h200' -> a pool for estimate_disaggregated (numbers
    as whole numbers, gpu and server as names); one clear line for anything else."""
    from llmsize.api.disaggregated import POOL_KEYS

    pool: dict[str, object] = {}
    for part in text.split(","):
        key, sep, value = (p.strip() for p in part.partition("="))
        if not sep or not key or not value:
            raise fail(f"{flag}: {part.strip()!r} is not key=value (e.g. 'tp=4,workers=2')")
        if key not in POOL_KEYS:
            from llmsize.errors import unknown_name

            with user_errors():
                raise unknown_name(flag, "key", key, POOL_KEYS)
        if key in ("gpu", "server"):
            pool[key] = value
        elif value.isdigit():
            pool[key] = int(value)
        else:
            raise fail(f"{flag}: {key}={value!r} is not a whole number")
    return pool


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
