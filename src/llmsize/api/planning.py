"""Size a use case: the server count per server type, the recommendation, and (method
"simulate") the digital twin's answer beside it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from llmsize.search import PlanResult
from llmsize.usecase import UseCase


def plan(
    usecase: UseCase | Path | str,
    bench: Sequence[Path | str] = (),
    base_dir: Path | None = None,
    *,
    source: str = "auto",
    calibration: Path | str | None = None,
    engine: str | None = None,
    mode: str | None = None,
    method: str = "auto",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    kv_precision: str | None = None,
    rank: str = "servers",
    workers: int = 1,
    ray: str | None = None,
    disaggregated: bool = False,
    api: str | None = None,
) -> PlanResult:
    """Size a use case (a parsed UseCase or a YAML path): measured curves where they answer, the
    calibrated model elsewhere (`source` = auto | measured | model). With method="simulate", the
    digital twin also sizes it by latency percentiles under Poisson arrivals (result.simulated),
    and its count is the headline (result.headline); method="auto" (the default) does so for
    continuous batching and keeps the Poisson-peak rule for the calculator's static batches and
    the throughput rule for batch jobs (load.batch).
    `kv_precision` overrides the use case's `hardware.kv_precision`; `rank` (servers, cost,
    latency) is how the recommendation is picked among the server types that meet the limits.
    `workers` processes replay the server types at once, or with `ray` (a Ray address: local,
    auto, HOST:PORT) tasks of that cluster (the same answer as one process). `disaggregated`
    adds each server type's best prefill/decode deployment by the steady-state model
    (result.disaggregated), shown beside the aggregated answer and, unless method="peak",
    replayed in the disaggregated twin (sim/disaggregated.py). `api` names the packaged API
    price the traffic is compared with (the use case's `cost.api` otherwise)."""
    from dataclasses import replace

    from llmsize.catalog import load_catalog
    from llmsize.economics import checked_api_price
    from llmsize.perf.context import PerfOptions, perf_context
    from llmsize.perf.served import as_served
    from llmsize.search import plan as search_plan
    from llmsize.usecase import flag_or_field, read_resolved

    if workers < 1:
        from llmsize.errors import InputError

        raise InputError("--workers", "must be at least 1")
    # origin: the file a use-case field named in an error was read from (usecase.field_in)
    usecase, resolved, origin = read_resolved(usecase, load_catalog(), base_dir, kv_precision)
    if api is not None:  # the flag over the use case's cost.api
        resolved = replace(resolved, cost=resolved.cost.model_copy(update={"api": api}))
    checked_api_price(resolved.cost, flag_or_field(api is not None, "--api", origin, "cost.api"))
    model = resolved.model
    mode = mode or usecase.batching or _mode_of([Path(b) for b in bench])
    from llmsize.metrics import statistic_of

    # your rows answer at the percentile the limits hold at, where they carry it (bench's do)
    statistic = statistic_of(resolved.percentile)
    options = PerfOptions.of(source, calibration, engine or usecase.engine, bench, mode, statistic)
    field = flag_or_field(bool(engine), "--engine", origin, "engine")
    context = perf_context({model.id, model.name.lower()}, options, field)
    resolved = as_served(resolved, context.engine, mode)
    result = replace(
        search_plan(resolved, context.catalog, context.perf, rank),
        engine=context.engine,
        batching=mode,
    )
    if disaggregated:
        if mode != "inflight" or resolved.is_batch:
            from llmsize.errors import InputError

            raise InputError(
                "--disaggregated",
                "compares continuous-batching deployments at a peak rate (not static batches "
                "or batch jobs)",
            )
        from llmsize.search.disaggregated import disaggregated_options

        replayed = method != "peak"  # replayed in the twin as the aggregated answers are
        result = replace(
            result, disaggregated=disaggregated_options(resolved, context, seed, replayed)
        )
    if method == "auto":  # the twin runs continuous batching: it checks in-flight answers
        # a batch job is sized for throughput: its requests queue, no Poisson replay applies
        method = "simulate" if mode == "inflight" and not resolved.is_batch else "peak"
    if method == "peak":
        return result
    if method != "simulate":
        from llmsize.errors import InputError

        raise InputError("--method", f"{method!r} is not one of auto, peak, simulate")
    from llmsize.search.simulated import size_by_simulation

    simulated = size_by_simulation(
        resolved, context, seed=seed, progress=progress, workers=workers, ray_address=ray
    )
    return result.with_replay(simulated)


def _mode_of(bench: Sequence[Path]) -> str:
    """Continuous batching, as today's engines serve, unless every row the user measured is a
    static batch (the calculator's semantics)."""
    from llmsize.benchdb.schema import read_curve_file

    rows = [p for path in bench for p in read_curve_file(path)]
    if rows and all(p.load_type == "batch" for p in rows):
        return "static"
    return "inflight"
