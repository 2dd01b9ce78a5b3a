"""`llmsize simulate`: the digital twin of one deployment under seeded traffic."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from llmsize.api import ShownLevel

from llmsize.cli import _complete as complete
from llmsize.cli import _options as opts
from llmsize.cli._common import NO_CONFIG, fail, output_path, user_errors


def simulate_command(
    usecase: Annotated[Path, typer.Argument(help="Use-case checklist (YAML).")],
    server: Annotated[
        str | None,
        typer.Option("--server", help="Server type to simulate.", autocompletion=complete.servers),
    ] = None,
    tp: Annotated[int | None, typer.Option("--tp", min=1, max=64, help="TP per replica.")] = None,
    precision: Annotated[
        opts.PrecisionChoice | None, typer.Option("--precision", help="Weights and math precision.")
    ] = None,
    kv_precision: opts.KvPrecisionOpt = None,
    servers: Annotated[
        int | None, typer.Option("--servers", min=1, max=100_000, help="How many servers.")
    ] = None,
    replicas: Annotated[
        int | None,
        typer.Option(
            "--replicas",
            min=1,
            max=1_000_000,
            help="Simulate only this many replicas (default: all the servers hold; with "
            "--measured, one, as a run against one endpoint measures).",
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            min=0.0001,
            max=1e6,
            help="Poisson arrivals, req/s (default: the use case's average, else peak).",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            max=1_000_000,
            help="Closed loop: clients that each wait for their answer.",
        ),
    ] = None,
    trace: Annotated[
        Path | None,
        typer.Option(
            "--trace",
            help="Trace to replay: a CSV of arrival_s, input_tokens, output_tokens, or a "
            "Mooncake-style JSONL (timestamp ms, input_length, output_length, hash_ids).",
        ),
    ] = None,
    requests: Annotated[
        int, typer.Option("--requests", min=1, max=10_000_000, help="Requests to simulate.")
    ] = 5000,
    warmup: Annotated[
        int | None, typer.Option("--warmup", min=0, help="Requests not measured (default 10 %).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same result.")] = 0,
    seeds: Annotated[
        int,
        typer.Option(
            "--seeds",
            min=1,
            max=1000,
            help="Replay with this many seeds (--seed, --seed + 1, ...) and show the spread of "
            "the limits' percentiles across them; exit 1 when any seed misses a limit.",
        ),
    ] = 1,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=256,
            help="Processes that replay the --seeds at once (each replay is the serial one).",
        ),
    ] = 1,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Replay the --seeds as tasks of a Ray cluster: 'local', 'auto' or HOST:PORT "
            "of its head. Needs llmsize[distributed].",
        ),
    ] = None,
    router: Annotated[
        str, typer.Option("--router", help="round-robin or least-outstanding.")
    ] = "round-robin",
    max_batch: Annotated[
        int | None,
        typer.Option(
            "--max-batch",
            min=1,
            max=65536,
            help="Sequences per replica step (default: the engine's, e.g. vLLM's max_num_seqs).",
        ),
    ] = None,
    chunked_prefill: Annotated[
        bool | None,
        typer.Option(
            "--chunked-prefill/--no-chunked-prefill",
            help="Split long prompts across steps (default: as the engine does).",
        ),
    ] = None,
    calibration: opts.CalibrationOpt = None,
    engine: opts.EngineOpt = None,
    disaggregated: Annotated[
        bool,
        typer.Option(
            "--disaggregated",
            help="Run the disaggregated deployment plan --disaggregated sizes (a prefill and a "
            "decode pool, the KV cache pulled between them) in the disaggregated twin, under "
            "the same traffic: a rate, a closed loop, a trace or the use case's sessions.",
        ),
    ] = False,
    plot: opts.LatencyPlotOpt = None,
    force: opts.ForceOpt = False,
    measured: Annotated[
        Path | None,
        typer.Option(
            "--measured",
            help="A bench run's per-request JSONL to compare with (and draw beside) this run.",
        ),
    ] = None,
    measured_level: Annotated[
        str | None,
        typer.Option("--measured-level", help="Which level of --measured ('concurrency 8')."),
    ] = None,
    fmt: opts.FormatOpt = opts.Format.table,
    as_json: opts.JsonOpt = False,
) -> None:
    """Simulate continuous batching (admission by KV cache, max batch, token budget, preemption)
    under Poisson, closed-loop or traced traffic; report TTFT, ITL and E2E percentiles,
    throughput, goodput, occupancy and preemptions. Exit 1 when a limit's percentile is missed.
    """
    from llmsize.api import simulate

    if not usecase.exists():
        raise fail(f"USECASE: file {str(usecase)!r} does not exist")
    if router not in ("round-robin", "least-outstanding"):
        raise fail(f"--router: {router!r} is not one of round-robin, least-outstanding")
    if warmup is not None and warmup >= requests:
        raise fail("--warmup: must be smaller than --requests")
    if measured_level is not None and measured is None:
        raise fail("--measured-level: needs --measured")
    if disaggregated and measured is not None:
        raise fail("--measured: not with --disaggregated (bench measures one endpoint)")
    inputs = [usecase, *(p for p in (trace, measured, calibration) if p is not None)]
    output_path(plot, "--plot", force, inputs, plot=True)
    compared = _measured_level(measured, measured_level) if measured is not None else None
    if compared is not None and replicas is None and servers is None:
        replicas = 1  # like for like: bench measured one endpoint
    progress = None
    bar = None
    if requests >= 100_000 and not as_json:
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task("simulating", total=requests)
        bar.start()

        def progress(done: int) -> None:
            bar.update(task, completed=done)

    try:
        with user_errors():
            result = simulate(
                usecase,
                server=server,
                tp=tp,
                precision=precision.name_in_table if precision else None,
                kv_precision=kv_precision.value if kv_precision else None,
                servers=servers,
                rate=rate,
                concurrency=concurrency,
                trace=trace,
                requests=requests,
                warmup=warmup,
                seed=seed,
                router=router,
                max_batch=max_batch,
                chunked_prefill=chunked_prefill,
                calibration=calibration,
                engine=engine,
                progress=progress,
                replicas=replicas,
                seeds=seeds,
                workers=workers,
                ray=ray,
                disaggregated=disaggregated,
            )
    finally:
        if bar is not None:
            bar.stop()
    if plot is not None:
        from llmsize.report.plots import latency_plot

        limits: dict[str, float | None]
        with user_errors():
            from llmsize.api import load_usecase

            latency = load_usecase(usecase).latency
            limits = {
                "first_token_ms": latency.first_token_ms if latency else None,
                "last_token_ms": latency.last_token_ms if latency else None,
            }
            runs: list[tuple[str, Sequence[float], Sequence[float]]] = [
                ("simulated", result.ttft_samples_ms, result.e2e_samples_ms)
            ]
            if compared is not None:
                runs.append((compared[0], compared[1].ttft_ms, compared[1].e2e_ms))
            latency_plot(
                runs,
                plot,
                limits,
                result.percentile,
            )
    differs = _unlike(measured, result.deployment) if measured is not None else []
    if as_json or fmt != opts.Format.table:
        from llmsize.report.documents import simulation_document

        opts.emit(simulation_document(result, compared, differs), as_json, fmt, "Simulation")
    else:
        from llmsize.report.console import make_console
        from llmsize.report.sim_table import render_simulation

        console = make_console()
        render_simulation(result, console)
        if result.seed_runs:
            from llmsize.report.sim_table import render_seed_spread

            render_seed_spread(result, console)
        note = result.traffic.get("trace_note")
        if note:
            console.print(f"[yellow]Note: {note}.[/]", soft_wrap=True)
        if compared is not None:
            from llmsize.report.sim_table import render_measured_beside

            render_measured_beside(result, compared[0], compared[1].measured, console)
            for note in differs:
                console.print(f"[yellow]not like for like: {note}[/]")
    if result.broken or any(missed for _, _, missed in result.seed_runs):
        raise typer.Exit(NO_CONFIG)


def _unlike(path: Path, deployment: dict[str, object]) -> list[str]:
    """How the measured run's set-up (its JSONL's first line, where bench had --gpu) differs
    from the simulated one; a run that did not record its set-up says so."""
    from llmsize.bench.records_file import run_header

    with user_errors():
        ran = run_header(path)
    if not ran.get("gpu"):
        return [f"{path} does not say what ran (bench records it with --gpu, --tp, --precision)"]
    notes = []
    for key, name in (("gpu", "GPU"), ("tp", "TP"), ("precision", "precision")):
        if key in ran and ran[key] != deployment.get(key):
            notes.append(f"{name} {ran[key]} measured, {deployment.get(key)} simulated")
    return notes  # replicas beside one endpoint: render_measured_beside says so


def _measured_level(path: Path, level: str | None) -> tuple[str, ShownLevel]:
    """The one measured level to compare with: named, or the file's only one."""
    from llmsize.api import show

    with user_errors():
        shown = show(path, level)
    if len(shown) > 1:
        labels = ", ".join(f"'{s.measured.run.level_label}'" for s in shown)
        raise fail(f"--measured-level: {path} holds several levels ({labels}); name one")
    run = shown[0].measured.run
    return f"measured {run.level_label}", shown[0]
