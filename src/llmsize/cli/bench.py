"""`llmsize bench` (measure an endpoint) and `llmsize serve-mock` (a server with known timing)."""

import os
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llmsize.bench.credentials import header_value, redacted_url
from llmsize.cli._common import fail, output_path, user_errors
from llmsize.cli._options import ForceOpt, Format, FormatOpt, JsonOpt, PrecisionChoice, emit

if TYPE_CHECKING:
    from llmsize.bench.records_file import RecordsWriter


def bench_command(
    url: Annotated[
        str, typer.Option("--url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="The model: a catalog id or alias, or a path to its config.json, for the curve "
            "rows (needed with --out), and the name sent to the server unless --served-model "
            "says otherwise.",
        ),
    ],
    input_tokens: Annotated[
        int, typer.Option("--input-tokens", min=1, max=1_000_000, help="Prompt tokens per request.")
    ],
    output_tokens: Annotated[
        int,
        typer.Option(
            "--output-tokens",
            min=1,
            max=1_000_000,
            help="Output tokens per request (forced where the server allows).",
        ),
    ],
    rate: Annotated[
        str | None, typer.Option("--rate", help="Poisson rates to sweep, req/s: 2,4,8")
    ] = None,
    concurrency: Annotated[
        str | None, typer.Option("--concurrency", help="Closed-loop concurrencies to sweep: 1,8,64")
    ] = None,
    requests: Annotated[
        int | None,
        typer.Option(
            "--requests", min=1, max=10_000_000, help="Measured requests per level (default 200)."
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration", min=0.1, max=86_400, help="Seconds per level, instead of --requests."
        ),
    ] = None,
    warmup: Annotated[
        int | None,
        typer.Option(
            "--warmup",
            min=0,
            max=1_000_000,
            help="Requests per level sent first and not measured (default: one per stream, "
            "or a second's worth at a rate; at least 4).",
        ),
    ] = None,
    api: Annotated[str, typer.Option("--api", help="chat or completions")] = "chat",
    tokenizer: Annotated[
        Path | None,
        typer.Option(
            "--tokenizer",
            help="A tokenizer.json for exact prompt lengths (pip install 'llmsize[tokenizers]').",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            min=0,
            help="Seed of the send schedule and the prompts (default: drawn, and shown).",
        ),
    ] = None,
    served_model: Annotated[
        str | None,
        typer.Option(
            "--served-model",
            help="The name the server serves the model under, when it is not --model "
            "(vLLM's --served-model-name).",
        ),
    ] = None,
    shared_prefix: Annotated[
        int,
        typer.Option(
            "--shared-prefix",
            min=0,
            help="Tokens every prompt starts with alike, to measure prefix caching (default 0: "
            "no two prompts share a prefix).",
        ),
    ] = 0,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Client processes that share each level (1 to 256): for loads one process "
            "cannot send on time. Default: one, or one per core when a level needs more "
            "(over 1,024 streams, or 50,000 streamed tokens a second); with --ray, one per CPU "
            "of the cluster. A Poisson schedule stays the one a single client sends.",
            show_default=False,
        ),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Run the client workers as Ray actors, spread over the cluster's nodes: "
            "'local' (a Ray started on this machine for the run), 'auto' (the cluster this "
            "machine has joined) or HOST:PORT of its head. Needs llmsize[distributed].",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Curve CSV to write (per-request JSONL beside it).")
    ] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help="Per-request JSONL (default: --out with .jsonl).")
    ] = None,
    gpu: Annotated[
        str | None,
        typer.Option("--gpu", help="GPU the server runs on (catalog id), for the curve rows."),
    ] = None,
    tp: Annotated[
        int,
        typer.Option("--tp", min=1, max=64, help="GPUs per server instance, for the curve rows."),
    ] = 1,
    precision: Annotated[
        PrecisionChoice, typer.Option("--precision", help="Precision served, for the curve rows.")
    ] = PrecisionChoice.bf16,
    api_key_env: Annotated[
        str, typer.Option("--api-key-env", help="Environment variable holding the API key.")
    ] = "OPENAI_API_KEY",
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", min=0.1, max=3600, help="Seconds before a request counts as timed out."
        ),
    ] = 120.0,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
    force: ForceOpt = False,
) -> None:
    """Measure an OpenAI-compatible streaming endpoint: a Poisson open loop or a closed loop at
    each level; TTFT, ITL, TPOT, E2E percentiles, throughput and errors by kind. Ctrl-C stops
    cleanly and keeps what was measured. The API key is read from the environment, never shown.
    """
    from llmsize.api import bench
    from llmsize.bench.results import curve_points, records_path, write_curve_rows

    if out is not None and gpu is None:
        raise fail(
            "--gpu: needed with --out, so the curve rows say what ran (llmsize catalog gpus)"
        )
    if requests is not None and duration is not None:
        raise fail("--requests: give either --requests or --duration, not both")
    records: Path | None = None
    if out is not None:  # checked before the run: a measurement is never lost to a bad path
        records = records_path(out, jsonl)
        if records.resolve() == out.resolve():
            raise fail("--jsonl: is the same file as --out; give the CSV a .csv name")
        given = [tokenizer] if tokenizer else []
        output_path(out, "--out", force, given)
        output_path(records, "--jsonl", force, given)
    elif jsonl is not None:
        raise fail("--jsonl: needs --out (the curve CSV the records go with)")
    with user_errors():
        api_key = header_value(os.environ.get(api_key_env), api_key_env)
        canonical_gpu = None
        canonical_model = model
        if gpu is not None:
            from llmsize.benchdb.store import row_model
            from llmsize.catalog import load_catalog

            catalog = load_catalog()
            canonical_gpu = catalog.gpus.get(gpu, "--gpu").id
            # the rows must name a model plan and calibrate can find, never one they skip
            canonical_model = row_model(catalog, model, "--model")
        if seed is None:
            import secrets

            seed = secrets.randbelow(2**31)
        setup: dict[str, object] = {
            "gpu": canonical_gpu,
            "tp": tp,
            "precision": precision.name_in_table,
        }
        writer = (
            _records_writer(records, force, url, model, seed, setup if canonical_gpu else {})
            if records
            else None
        )
        progress, bar = _progress(as_json)
        try:
            result = bench(
                url,
                served_model or model,
                input_tokens,
                output_tokens,
                rate=rate,
                concurrency=concurrency,
                requests=requests if duration is None else None,
                duration_s=duration,
                warmup=warmup,
                api=api,
                tokenizer=tokenizer,
                seed=seed,
                shared_prefix=shared_prefix,
                api_key=api_key,
                timeout_s=timeout,
                progress=progress,
                sink=writer.record if writer else None,
                workers=workers,
                ray=ray,
            )
        except BaseException:
            if writer is not None:
                if writer.records:
                    writer.close(False, "the run failed", {})
                else:
                    writer.discard()
            raise
        finally:
            if bar is not None:
                bar.stop()
        if writer is not None:
            writer.close(
                result.stop_reason is None, result.stop_reason, result.outcomes, result.server
            )
        if out is not None:
            assert canonical_gpu is not None
            points = curve_points(
                result.levels,
                url,
                canonical_model,
                canonical_gpu,
                tp,
                precision.name_in_table,
                stop_reason=result.stop_reason,
                server=result.server,
            )
            write_curve_rows(out, points, force=force)
    stopped = any(r.stopped_early for r in result.runs)
    if as_json or fmt != Format.table:
        from llmsize.report.documents import bench_document

        doc = bench_document(
            result, url, model, str(out) if out else None, str(records) if records else None
        )
        emit(doc, as_json, fmt, "Benchmark")
    else:
        from llmsize.report.bench_table import render_bench
        from llmsize.report.console import make_console

        render_bench(result, make_console(), out, records, stopped)
    code = bench_exit_code(result.outcomes, result.stop_reason)
    if code:
        raise typer.Exit(code)


BENCH_SOME_FAILED = 4
BENCH_ALL_FAILED = 5
BENCH_STOPPED = 6
"""bench's exit codes beyond 0 (every measured request answered) and 2 (bad input): some
requests failed; every one failed (or none was measured); the run was stopped early by a signal
(its outputs are kept and marked partial)."""


def bench_exit_code(outcomes: dict[str, int], stop_reason: str | None) -> int:
    if stop_reason is not None:
        return BENCH_STOPPED
    ok = outcomes.get("ok", 0)
    if ok == 0:
        return BENCH_ALL_FAILED
    return BENCH_SOME_FAILED if sum(outcomes.values()) > ok else 0


def _records_writer(
    path: Path, force: bool, url: str, model: str, seed: int, setup: dict[str, object]
) -> "RecordsWriter":
    from datetime import datetime

    from llmsize import __version__
    from llmsize.bench.records_file import RecordsWriter

    return RecordsWriter(
        path,
        force,
        {
            "url": redacted_url(url),
            "model": model,
            "seed": seed,
            "llmsize": __version__,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            **setup,  # what ran (--gpu, --tp, --precision): simulate --measured compares it
        },
    )


def _progress(quiet: bool):  # type: ignore[no-untyped-def]
    """A rich progress bar: requests done, errors and the live p50 TTFT."""
    if quiet:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("errors {task.fields[errors]}  p50 TTFT {task.fields[ttft]}"),
        transient=True,
    )
    tasks: dict[str, TaskID] = {}
    bar.start()

    def update(level, done, total, errors, ttft):  # type: ignore[no-untyped-def]
        label = level.label
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=total or None, errors=0, ttft="—")
        bar.update(
            tasks[label],
            completed=done,
            errors=errors,
            ttft="—" if ttft is None else f"{ttft:,.1f} ms",
        )

    return update, bar


def serve_mock_command(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1.")
    ] = 8000,
    ttft_ms: Annotated[float, typer.Option("--ttft-ms", min=0, help="Time to first token.")] = 60.0,
    itl_ms: Annotated[float, typer.Option("--itl-ms", min=0, help="Time between tokens.")] = 10.0,
    output_tokens: Annotated[
        int | None,
        typer.Option(
            "--output-tokens", min=1, help="Tokens per answer (default: the request's max_tokens)."
        ),
    ] = None,
    error_rate: Annotated[
        float, typer.Option("--error-rate", min=0, max=1, help="Share answered HTTP 500.")
    ] = 0.0,
    stall_rate: Annotated[
        float,
        typer.Option("--stall-rate", min=0, max=1, help="Share that stop mid-stream and hang."),
    ] = 0.0,
    cut_rate: Annotated[
        float,
        typer.Option("--cut-rate", min=0, max=1, help="Share whose connection is cut mid-stream."),
    ] = 0.0,
    malformed_rate: Annotated[
        float,
        typer.Option("--malformed-rate", min=0, max=1, help="Share with one malformed chunk."),
    ] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the fault injection.")] = 0,
) -> None:
    """Serve a mock OpenAI-compatible endpoint on 127.0.0.1 with known timing and injected
    faults, for dry runs of llmsize bench (Ctrl-C stops it)."""
    from llmsize.bench.mock import MockConfig, serve

    if error_rate + stall_rate + cut_rate + malformed_rate > 1:
        raise fail("--error-rate: the fault rates add up to more than 1")
    config = MockConfig(
        ttft_ms, itl_ms, output_tokens, error_rate, stall_rate, cut_rate, malformed_rate, seed
    )
    typer.echo(
        f"mock server on http://127.0.0.1:{port}/v1 (TTFT {ttft_ms:g} ms, ITL {itl_ms:g} ms); "
        "Ctrl-C stops",
        err=True,
    )
    try:
        serve(config, "127.0.0.1", port)
    except OSError as exc:
        raise fail(f"--port: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
