"""The library facade: plan a use case, estimate one configuration, list the configurations on
the latency-throughput frontier, calibrate, measure accuracy, derive peaks. Returns result
objects; never prints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmsize.perf.results import ConfigsResult, EstimateResult
from llmsize.search import PlanResult
from llmsize.usecase import UseCase, load_usecase, parse_usecase
from llmsize.workload import peak_from_average, sustainable_average

if TYPE_CHECKING:  # numpy and scipy load only when calibrating
    from llmsize.bench.results import BenchResult, Measured
    from llmsize.catalog import Gpu, LlmArch, Precision, Server
    from llmsize.economics import ApiCost, DailyCapacity, ServerPrice
    from llmsize.perf.accuracy import AccuracyReport
    from llmsize.perf.calibration import Calibration
    from llmsize.perf.context import PerfContext
    from llmsize.perf.fit import Sample
    from llmsize.sizing_sim import SimulationResult

__all__ = [
    "ConfigsResult",
    "EstimateResult",
    "accuracy",
    "bench",
    "calibrate",
    "capacity",
    "configs",
    "estimate",
    "load_usecase",
    "parse_usecase",
    "peak_from_average",
    "plan",
    "simulate",
    "sustainable_average",
]


def plan(
    usecase: UseCase | Path | str,
    bench: Sequence[Path | str] = (),
    base_dir: Path | None = None,
    *,
    source: str = "auto",
    calibration: Path | str | None = None,
    engine: str | None = None,
    mode: str | None = None,
    method: str = "peak",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> PlanResult:
    """Size a use case (a parsed UseCase or a YAML path): measured curves where they answer, the
    calibrated model elsewhere (`source` = auto | measured | model). With method="simulate", the
    digital twin also sizes it by latency percentiles under Poisson arrivals (result.simulated)."""
    from llmsize.catalog import load_catalog
    from llmsize.perf.context import perf_context
    from llmsize.search import plan as search_plan
    from llmsize.usecase import resolve

    if not isinstance(usecase, UseCase):
        path = Path(usecase)
        base_dir = base_dir or path.parent
        usecase = load_usecase(path)
    resolved = resolve(usecase, load_catalog(), base_dir or Path())
    model = resolved.model
    mode = mode or _mode_of([Path(b) for b in bench])
    context = perf_context(
        {model.id, model.name.lower()},
        [Path(b) for b in bench],
        Path(calibration) if calibration else None,
        engine,
        source,
        mode,
    )
    result = search_plan(resolved, context.catalog, context.perf)
    if method == "peak":
        return result
    if method != "simulate":
        from llmsize.errors import InputError

        raise InputError("--method", f"{method!r} is not one of peak, simulate")
    from dataclasses import replace

    from llmsize.sizing_sim import size_by_simulation

    simulated = size_by_simulation(resolved, context, seed=seed, progress=progress)
    return replace(result, simulated=simulated)


def _mode_of(bench: Sequence[Path]) -> str:
    """In-flight when every row the user measured is a closed-loop (concurrency) run, as
    `llmsize bench --concurrency` writes; otherwise the calculator's static batches."""
    from llmsize.benchdb.schema import read_curve_file

    rows = [p for path in bench for p in read_curve_file(path)]
    if rows and all(p.load_type == "concurrency" for p in rows):
        return "inflight"
    return "static"


@dataclass(frozen=True, slots=True)
class _Question:
    """A question about one model on one GPU type: its parts, checked, and what answers it."""

    model: LlmArch
    gpu: Gpu
    server: Server
    precision: Precision | None
    context: PerfContext


def _question(
    model: str,
    gpu: str,
    server: str | None,
    precision: str | None,
    tokens: int,
    bench: Sequence[Path | str],
    calibration: Path | str | None,
    engine: str | None,
    source: str,
    mode: str,
) -> _Question:
    """Resolve and check the flags estimate and configs share; load what answers them."""
    from llmsize.catalog import PRECISIONS, load_catalog
    from llmsize.errors import InputError
    from llmsize.perf.context import bare_server, perf_context

    catalog = load_catalog()
    arch = catalog.resolve_model(model, "--model")
    chip = catalog.gpus.get(gpu, "--gpu")
    box = catalog.servers.get(server, "--server") if server else bare_server(chip)
    if server and catalog.gpu_of(box).id != chip.id:
        raise InputError("--server", f"{box.id} holds {box.gpu}, not {chip.id}")
    asked: Precision | None = None
    if precision is not None:
        if precision not in PRECISIONS:
            allowed = ", ".join(PRECISIONS)
            raise InputError("--precision", f"{precision!r} is not one of {allowed}")
        asked = precision
    if tokens > arch.context_window:
        raise InputError(
            "--input-tokens",
            f"input + output = {tokens} tokens exceeds the {arch.context_window}-token context "
            f"window of {arch.id}",
        )
    context = perf_context(
        {arch.id, arch.name.lower()},
        [Path(b) for b in bench],
        Path(calibration) if calibration else None,
        engine,
        source,
        mode,
    )
    return _Question(arch, chip, box, asked, context)


def estimate(
    model: str,
    gpu: str,
    tp: int,
    batch: int,
    input_tokens: int,
    output_tokens: int,
    precision: str = "bf16",
    mode: str = "static",
    *,
    server: str | None = None,
    source: str = "auto",
    calibration: Path | str | None = None,
    engine: str | None = None,
    bench: Sequence[Path | str] = (),
) -> EstimateResult:
    """TTFT, ITL, E2E and throughput of one configuration, with memory use and its source."""
    from llmsize.errors import InputError
    from llmsize.perf.modelled import tp_problem, unsupported

    for flag, value in (
        ("--tp", tp),
        ("--batch", batch),
        ("--input-tokens", input_tokens),
        ("--output-tokens", output_tokens),
    ):
        if value < 1:
            raise InputError(flag, "must be at least 1")
    q = _question(
        model,
        gpu,
        server,
        precision,
        input_tokens + output_tokens,
        bench,
        calibration,
        engine,
        source,
        mode,
    )
    arch, chip, box, ctx = q.model, q.gpu, q.server, q.context
    problem = unsupported(chip, precision) or tp_problem(arch, tp, box.gpus)
    if problem:
        raise InputError("--tp" if "TP" in problem else "--precision", problem)
    point = ctx.perf.modelled.point(
        arch, chip, tp, batch, precision, input_tokens, output_tokens, box.nvlink_domain
    )
    memory = point.memory
    fits = memory.max_batch >= (batch if mode == "static" else 1)
    instances = box.gpus // tp
    found = None
    ttft: float | None
    itl: float | None
    e2e: float | None
    rps: float | None
    if source != "model":
        lookup = ctx.perf.measured.lookup(
            arch, box, chip, q.precision, input_tokens, output_tokens, mode
        )
        found = next((e for e in lookup.estimates if e.tp == tp and e.batch == batch), None)
    if found is not None:
        ttft, itl, e2e, rps = found.ttft_ms, found.itl_ms, found.e2e_ms, found.rps_per_server
        provenance, origin, error = found.provenance, "; ".join(found.citations) or found.source, ""
        fits = True  # it ran
    elif source == "measured":
        raise InputError(
            "--source", "no measured curve covers this configuration; try --source auto"
        )
    elif fits:
        t = point.times
        ttft, itl, e2e, rps = t.ttft_ms, t.itl_ms, t.e2e_ms, instances * t.instance_rps
        provenance, origin, error = (
            "modelled",
            f"model ({point.calibration.label})",
            point.typical_error,
        )
    else:
        ttft = itl = e2e = rps = None  # does not fit: no times to give
        provenance, origin, error = "modelled", f"model ({point.calibration.label})", ""
    per_gpu = None if rps is None else rps * output_tokens / box.gpus
    return EstimateResult(
        model=arch.id,
        gpu=chip.id,
        server=box.id,
        tp=tp,
        batch=batch,
        precision=precision,
        mode=mode,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        fits=fits,
        max_batch=memory.max_batch,
        weights_gb_per_gpu=memory.weights_gb,
        kv_gb_per_sequence=memory.kv_gb_per_sequence,
        memory_needed_gb_per_gpu=memory.needed_gb,
        memory_usable_gb_per_gpu=memory.capacity_gb,
        ttft_ms=ttft,
        itl_ms=itl,
        e2e_ms=e2e,
        rps_per_server=rps,
        output_tokens_per_s_per_gpu=per_gpu,
        provenance=provenance,
        source=origin,
        typical_error=error,
        reason="" if fits else memory.reason,
    )


def configs(
    model: str,
    gpu: str,
    input_tokens: int,
    output_tokens: int,
    precision: str | None = None,
    *,
    first_token_ms: float | None = None,
    last_token_ms: float | None = None,
    inter_token_ms: float | None = None,
    mode: str = "static",
    server: str | None = None,
    source: str = "auto",
    calibration: Path | str | None = None,
    engine: str | None = None,
    bench: Sequence[Path | str] = (),
) -> ConfigsResult:
    """The calculator's main screen: every (TP, batch), the latency-throughput frontier, and the
    throughput- and latency-optimal configurations within the limits."""
    from llmsize.search import Limits, frontier, pick_optimal, primary_metric

    q = _question(
        model,
        gpu,
        server,
        precision,
        input_tokens + output_tokens,
        bench,
        calibration,
        engine,
        source,
        mode,
    )
    arch, chip, box, ctx = q.model, q.gpu, q.server, q.context
    lookup = ctx.perf.lookup(arch, box, chip, q.precision, input_tokens, output_tokens)
    limits = Limits(first_token_ms, last_token_ms, inter_token_ms)
    metric = primary_metric(limits) if limits.any else "ttft_ms"
    feasible, best, fastest = pick_optimal(lookup.estimates, limits, metric)
    return ConfigsResult(
        model=arch.id,
        gpu=chip.id,
        server=box.id,
        precision=precision,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        limits=limits.as_dict(),
        metric=metric,
        points=lookup.estimates,
        frontier=frontier(lookup.estimates, metric),
        feasible=feasible,
        throughput_optimal=best,
        latency_optimal=fastest,
        missing=lookup.missing,
    )


@dataclass(frozen=True, slots=True)
class CalibrateResult:
    """The fitted calibration, what was left out, and the error before and after the fit."""

    calibration: Calibration
    rows: int
    skipped: dict[str, int]
    before: dict[str, dict[str, float]]
    after: dict[str, dict[str, float]]


def _samples(
    files: Sequence[Path | str], engine: str | None
) -> tuple[list[Sample], dict[str, int]]:
    """Rows of the given curve files (or the bundled ones) ready for fitting."""
    from llmsize.benchdb.schema import read_curve_file
    from llmsize.benchdb.store import CurvePointMapper, bundled_store
    from llmsize.catalog import load_catalog
    from llmsize.perf.fit import make_samples

    catalog = load_catalog()
    if files:
        mapper = CurvePointMapper(catalog)
        points = [p for f in files for p in read_curve_file(Path(f), mapper)]
    else:
        store = bundled_store()
        points = [p for groups in store.groups.values() for ps in groups.values() for p in ps]
    samples, skipped = make_samples(points, catalog, engine)
    return samples, dict(skipped)


def calibrate(
    files: Sequence[Path | str],
    *,
    engine: str | None = None,
    start_from_shipped: bool = True,
) -> CalibrateResult:
    """Fit model parameters to measured rows (per engine, GPU and precision class) starting from,
    and backed by, the shipped calibration. Errors are median and p90 APE over the fitted rows."""
    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.perf.calibration import shipped_calibration
    from llmsize.perf.fit import ape_summary, errors, fit_calibration, predict_samples

    catalog = load_catalog()
    samples, skipped = _samples(files, engine)
    if not samples:
        raise InputError("DATA", "no rows the model can be fitted to (see the curve schema)")
    prior = shipped_calibration() if start_from_shipped else None
    fitted = fit_calibration(samples, catalog, prior, origin="llmsize calibrate")
    before_cal = prior if prior is not None else fit_calibration([], catalog)

    def summary(cal: Calibration) -> dict[str, dict[str, float]]:
        predictions = [
            predict_samples(
                [s], cal.resolve(s.engine, s.setup.gpu, s.setup.precision, catalog).params
            )[0]
            for s in samples
        ]
        return {m: ape_summary(v) for m, v in errors(samples, predictions).items()}

    return CalibrateResult(fitted, len(samples), skipped, summary(before_cal), summary(fitted))


def accuracy(
    files: Sequence[Path | str] = (),
    *,
    engine: str | None = None,
    folds: int = 5,
    simulate: bool = False,
) -> AccuracyReport:
    """Cross-validated prediction error (whole curves held out) on the given or bundled rows;
    with simulate=True, the digital twin's error on the closed-loop (concurrency) rows."""
    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.perf.accuracy import accuracy_report

    samples, skipped = _samples(files, engine)
    if len({s.curve for s in samples}) < 2:
        raise InputError("DATA", "cross-validation needs rows from at least two curves")
    if not simulate:
        return accuracy_report(samples, load_catalog(), folds, skipped)
    from llmsize.sim.fidelity import is_closed_loop, simulated

    if not any(is_closed_loop(s) for s in samples):
        raise InputError("DATA", "--simulate needs closed-loop (load_type concurrency) rows")
    skipped = {
        **skipped,
        "static-batch rows (the twin runs in-flight batching)": sum(
            not is_closed_loop(s) for s in samples
        ),
    }
    return accuracy_report(samples, load_catalog(), folds, skipped, simulated, is_closed_loop)


def simulate(
    usecase: UseCase | Path | str,
    *,
    server: str | None = None,
    tp: int | None = None,
    precision: str | None = None,
    servers: int | None = None,
    rate: float | None = None,
    concurrency: int | None = None,
    trace: Path | str | None = None,
    requests: int = 5000,
    warmup: int | None = None,
    seed: int = 0,
    router: str = "round-robin",
    max_batch: int = 256,
    chunked_prefill: bool = False,
    calibration: Path | str | None = None,
    engine: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run the digital twin: the use case's lengths (and spreads) under Poisson arrivals at its
    average rate (or peak, or --rate), a closed loop at --concurrency, or a trace. The deployment
    is the one given, or the one the steady-state model suggests."""
    from dataclasses import replace

    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.perf.context import perf_context
    from llmsize.sim.run import Traffic, run, summarise
    from llmsize.sizing_sim import (
        SimulationResult,
        broken_at_percentile,
        candidates,
        deployment,
        limits_of,
        rate_of,
    )
    from llmsize.usecase import resolve
    from llmsize.workload import Lengths

    base_dir = Path()
    if not isinstance(usecase, UseCase):
        base_dir = Path(usecase).parent
        usecase = load_usecase(Path(usecase))
    catalog = load_catalog()
    resolved = resolve(usecase, catalog, base_dir)
    if server is not None:
        resolved = replace(resolved, servers=(catalog.servers.get(server, "--server"),))
    if precision is not None:
        if precision not in ("bf16", "fp16", "fp8", "int4"):
            raise InputError("--precision", f"{precision!r} is not one of bf16, fp16, fp8, int4")
        resolved = replace(resolved, precision=precision)  # type: ignore[arg-type]
    loads = [x is not None for x in (rate, concurrency, trace)]
    if sum(loads) > 1:
        raise InputError("--rate", "give at most one of --rate, --concurrency, --trace")
    chosen_rate = rate if rate is not None else rate_of(resolved)[0]
    context = perf_context(
        (), (), Path(calibration) if calibration else None, engine, "model", "inflight"
    )
    options = [
        c
        for s in resolved.servers
        for c in candidates(resolved, context, s, chosen_rate)[0]
        if tp is None or c.tp == tp
    ]
    if not options:
        raise InputError(
            "--tp" if tp is not None else "hardware.server",
            "no configuration of this model fits the chosen server and TP (see llmsize plan)",
        )
    best = min(options, key=lambda c: (c.servers_guess * c.server.gpus, c.tp))
    count = servers if servers is not None else best.servers_guess
    d = deployment(
        resolved,
        context,
        best,
        count,
        max_batch=max_batch,
        chunked_prefill=chunked_prefill,
        router=router,
    )
    traffic = Traffic(
        requests=requests,
        input_tokens=Lengths(resolved.input_tokens_total, resolved.input_stddev),
        output_tokens=Lengths(resolved.output_tokens, resolved.output_stddev),
        rate=None if concurrency is not None or trace is not None else chosen_rate,
        concurrency=concurrency,
        trace=Path(trace) if trace is not None else None,
        warmup=requests // 10 if warmup is None else warmup,
        seed=seed,
    )
    outcome = run(d, traffic, progress)
    result = summarise(outcome, traffic, limits_of(resolved))
    params_label = context.calibration.resolve(
        context.engine, best.gpu, best.precision, catalog
    ).label
    return SimulationResult(
        name=resolved.name,
        deployment={
            "server": best.server.id,
            "gpu": best.gpu.id,
            "servers": count,
            "tp": best.tp,
            "precision": best.precision,
            "replicas": d.replicas,
            "kv_capacity_tokens_per_replica": d.kv_capacity_tokens(),
            "max_batch": max_batch,
            "chunked_prefill": chunked_prefill,
            "router": router,
            "step_times": f"model ({params_label})",
        },
        traffic={
            "rate": traffic.rate,
            "concurrency": concurrency,
            "trace": str(trace) if trace is not None else None,
            "requests": requests,
            "warmup": traffic.warmup,
            "seed": seed,
            "input_tokens": {"mean": resolved.input_tokens_total, "stddev": resolved.input_stddev},
            "output_tokens": {"mean": resolved.output_tokens, "stddev": resolved.output_stddev},
        },
        run=result,
        percentile=resolved.percentile,
        broken=broken_at_percentile(result, resolved),
        ttft_samples_ms=tuple(
            (f - a) * 1e3 for a, f in zip(outcome.arrival, outcome.first, strict=True)
        ),
        e2e_samples_ms=tuple(
            (e - a) * 1e3 for a, e in zip(outcome.arrival, outcome.end, strict=True)
        ),
    )


def bench(
    url: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    *,
    rate: str | None = None,
    concurrency: str | None = None,
    requests: int | None = 200,
    duration_s: float | None = None,
    warmup: int = 0,
    api: str = "chat",
    tokenizer: Path | str | None = None,
    seed: int = 0,
    api_key: str | None = None,
    timeout_s: float = 120.0,
    progress: Callable[..., None] | None = None,
    transport: object | None = None,
) -> BenchResult:
    """Measure an OpenAI-compatible endpoint at each load level; see llmsize.bench."""
    import asyncio

    from llmsize.bench.client import Endpoint
    from llmsize.bench.prompts import PromptMaker
    from llmsize.bench.results import BenchResult, measure
    from llmsize.bench.runner import BenchPlan, parse_levels, run_plan
    from llmsize.errors import InputError

    if (rate is None) == (concurrency is None):
        raise InputError("--rate", "give exactly one of --rate or --concurrency")
    try:
        levels = parse_levels(rate, concurrency)
    except ValueError as exc:
        flag = "--rate" if rate is not None else "--concurrency"
        raise InputError(
            flag, f"{exc} is not a positive number (a whole one for concurrency)"
        ) from None
    if not url.startswith(("http://", "https://")):
        raise InputError("--url", f"{url!r} is not an http(s) URL such as http://127.0.0.1:8000/v1")
    if api not in ("chat", "completions"):
        raise InputError("--api", f"{api!r} is not one of chat, completions")
    plan = BenchPlan(
        Endpoint(url, model, api, api_key, timeout_s),
        input_tokens,
        output_tokens,
        levels,
        None if duration_s is not None else requests,
        duration_s,
        warmup,
        seed,
    )
    prompts = PromptMaker(input_tokens, seed, Path(tokenizer) if tokenizer else None)
    runs = asyncio.run(run_plan(plan, prompts, progress, transport=transport))  # type: ignore[arg-type]
    return BenchResult(plan, runs, [measure(r) for r in runs], prompts.calibrated_from)


@dataclass(frozen=True, slots=True)
class FileCheck:
    """One checked file: what it was read as, and every problem found (none: valid)."""

    path: Path
    kind: str  # "usecase" or "curves"
    problems: list[str]
    summary: str


def validate(paths: Sequence[Path]) -> list[FileCheck]:
    """Check use-case YAML files (schema, then the catalog and context window) and curve CSVs
    (schema and catalog names) without planning."""
    from llmsize.benchdb.schema import parse_curves
    from llmsize.benchdb.store import canonicalizer
    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.usecase import read_usecase_data, resolve, usecase_problems

    catalog = load_catalog()
    checks = []
    for path in paths:
        if path.suffix.lower() == ".csv":
            bad_rows: list[InputError] = []
            try:
                text = path.read_text(encoding="utf-8")
                rows = parse_curves(text, str(path), canonicalizer(catalog), problems=bad_rows)
            except OSError as exc:
                checks.append(FileCheck(path, "curves", [f"{path}: cannot read: {exc}"], ""))
            except InputError as exc:  # the header: nothing else can be checked
                checks.append(FileCheck(path, "curves", [str(exc)], ""))
            else:
                summary = f"{len(rows)} valid curve rows"
                checks.append(FileCheck(path, "curves", [str(p) for p in bad_rows], summary))
            continue
        try:
            data = read_usecase_data(path)
        except InputError as exc:
            checks.append(FileCheck(path, "usecase", [str(exc)], ""))
            continue
        problems = [str(p) for p in usecase_problems(data, str(path))]
        summary = ""
        if not problems:
            try:
                resolved = resolve(parse_usecase(data, str(path)), catalog, path.parent)
            except InputError as exc:
                problems.append(f"{path}: {exc}")
            else:
                summary = (
                    f"{resolved.model.id}: {resolved.input_tokens_total} in / "
                    f"{resolved.output_tokens} out, peak {resolved.peak_rps:g} req/s"
                )
        checks.append(FileCheck(path, "usecase", problems, summary))
    return checks


@dataclass(frozen=True, slots=True)
class ShownLevel:
    """One level of a saved run: its statistics and the per-request latencies to draw."""

    measured: Measured
    ttft_ms: list[float]
    e2e_ms: list[float]


def show(path: Path, level: str | None = None) -> list[ShownLevel]:
    """Recompute a saved `bench` run from its per-request JSONL (every level, or one)."""
    from llmsize.bench.records_file import read_runs, select
    from llmsize.bench.results import latency_samples, measure

    shown = []
    for run in select(read_runs(path), level):
        ttft, e2e = latency_samples(run)
        shown.append(ShownLevel(measure(run), ttft, e2e))
    return shown


@dataclass(frozen=True, slots=True)
class CapacityResult:
    """One server type's capacity and what it means per working day, with costs."""

    configs: ConfigsResult
    daily: DailyCapacity | None
    api: ApiCost | None
    server_price: ServerPrice | None
    server_month_usd: float | None
    usd_per_million_output_tokens: float | None


def capacity(
    model: str,
    server: str,
    input_tokens: int,
    output_tokens: int,
    precision: str | None = None,
    *,
    first_token_ms: float | None = None,
    last_token_ms: float | None = None,
    inter_token_ms: float | None = None,
    hours_per_day: float = 8.0,
    requests_per_user: float = 3.0,
    api_input_per_1k: float | None = None,
    api_output_per_1k: float | None = None,
    server_usd_per_hour: float | None = None,
    server_purchase_usd: float | None = None,
    amortisation_months: int = 36,
    server_running_usd_per_month: float = 0.0,
    basis: str = "cloud",
    mode: str = "static",
    source: str = "auto",
    calibration: Path | str | None = None,
    engine: str | None = None,
    bench: Sequence[Path | str] = (),
) -> CapacityResult:
    """The talk's business view: peak capacity per server, the sustainable average, requests,
    users and tokens per working day, the API cost of the same traffic and the server's own."""
    from llmsize.catalog import load_catalog
    from llmsize.economics import (
        DAYS_PER_MONTH,
        api_cost,
        daily_capacity,
        given_api_price,
        given_server_price,
        load_prices,
    )

    box = load_catalog().servers.get(server, "--server")
    found = configs(
        model,
        box.gpu,
        input_tokens,
        output_tokens,
        precision,
        first_token_ms=first_token_ms,
        last_token_ms=last_token_ms,
        inter_token_ms=inter_token_ms,
        mode=mode,
        server=box.id,
        source=source,
        calibration=calibration,
        engine=engine,
        bench=bench,
    )
    best = found.throughput_optimal
    if best is None:
        return CapacityResult(found, None, None, None, None, None)
    daily = daily_capacity(
        best.rps_per_server, input_tokens, output_tokens, hours_per_day, requests_per_user
    )
    given_in = "given on the command line"
    price = given_api_price(api_input_per_1k, api_output_per_1k, "yours", given_in)
    if server_purchase_usd is not None and server_usd_per_hour is not None:
        from llmsize.errors import InputError

        raise InputError("--server-purchase-usd", "give it or --server-usd-per-hour, not both")
    server_price = given_server_price(
        box.id,
        given_in,
        server_usd_per_hour,
        server_purchase_usd,
        amortisation_months,
        server_running_usd_per_month,
    ) or load_prices().server(box.id, basis)
    month = server_price.per_month_usd if server_price else None
    per_million = None
    if month is not None:
        tokens_month = daily.output_tokens_per_day * DAYS_PER_MONTH
        per_million = month / (tokens_month / 1e6) if tokens_month else None
    return CapacityResult(found, daily, api_cost(daily, price), server_price, month, per_million)
