"""Fit roofline parameters to measured rows: scipy least squares on log relative error.

Each (engine, GPU, precision class) with enough rows gets its own parameters; a weak pull towards
a prior (the default engine's fit, the shipped calibration, or the defaults) keeps a group with
few rows sensible. Residuals are log(predicted / measured) of TTFT and ITL (and of throughput for
in-flight rows), so every metric and every scale counts alike.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from llmsize.benchdb.schema import CurvePoint
from llmsize.benchdb.silicon import SiliconRun, ran_on
from llmsize.catalog import Catalog, LlmArch
from llmsize.perf.calibration import (
    DEFAULT_ENGINE,
    ENGINE_OF_SOURCE,
    PROFILE,
    Calibration,
    GroupFit,
    precision_class,
)
from llmsize.perf.roofline import (
    EFFICIENCIES,
    FRACTIONS,
    Params,
    Setup,
    Work,
    default_nvlink_domain,
    inflight_from_work,
    inflight_load,
    static_from_work,
    static_works,
)

MIN_ROWS = 3
SHARED_PARAMS = (*FRACTIONS, "allreduce_us", "e_link")
"""Fitted once per engine over all its rows: they describe the engine and its workload (routing,
attention kernels, batching, its all-reduce library), not a GPU."""
PROFILE_ONLY = ("moe_width_exponent",)
"""Fitted only in an engine profile, over many MoE models and layouts: the 2024 per-GPU groups
have one MoE model (Mixtral in the DLI sweep, random weights, unrealistic routing) and keep 0."""
GROUP_PARAMS = tuple(n for n in Params.names() if n not in SHARED_PARAMS + PROFILE_ONLY)
CLASS_PARAMS = ("e_compute", "e_attention", "e_memory", "e_kv")
"""Fitted per precision class: how well FP8 or 16-bit kernels use the GPU."""
GPU_PARAMS = tuple(n for n in GROUP_PARAMS if n not in CLASS_PARAMS)
"""Fitted per GPU and shared by its precision classes: launch and step overheads, all-reduce
cost, how many rows a matmul needs. They do not depend on the number format, so FP8 and BF16
predictions differ only in rates and bytes."""
CORE_PARAMS = ("e_compute", "request_overhead_ms", "step_overhead_ms", "sequence_overhead_us")
"""What a handful of rows can pin down: prefill speed, the front end's time per request, a
decode step's fixed cost and its growth with the batch. Not e_memory: on one model's rows the
weights a decode step reads are the same every step, so their time and the step's fixed cost
cannot be told apart."""
EARNED_PARAMS = ("gemm_half_tokens",)
"""Fitted beside CORE_PARAMS on few rows only where they earn their place (`fit_few`): how many
rows a matmul needs to reach half its efficiency starts at a GPU's value (tensor-core tiles,
tens of rows), far off for a device whose matmuls are efficient at a few rows (a CPU), whose
first token then grows with the batch in a way the core parameters cannot follow."""
PRIOR_WEIGHT = 0.1
"""Pull of each log-parameter towards its start value, per unit of log error."""
METRICS = ("ttft", "itl", "throughput")
_BOUNDS = {
    **{name: (0.01, 1.0) for name in EFFICIENCIES},
    **{name: (0.001, 1.0) for name in FRACTIONS},
    "allreduce_us": (0.5, 500.0),
    "gemm_half_tokens": (1.0, 4096.0),
    "layer_overhead_us": (0.1, 1000.0),
    "prefill_overhead_ms": (0.01, 500.0),
    "step_overhead_ms": (0.01, 200.0),
    "request_overhead_ms": (0.001, 2000.0),
    "sequence_overhead_us": (0.01, 2000.0),
    "moe_width_exponent": (0.001, 1.0),
}


ZERO_STARTS = {"sequence_overhead_us": 10.0, "moe_width_exponent": 0.05}
"""Where a fit starts a parameter that is zero: vLLM's host work per sequence per step is tens
of microseconds on a GPU server (its V1 scheduler, sampler and output processing)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """A measured row made ready for prediction: its setup, mode, work and measured values."""

    point: CurvePoint
    engine: str
    setup: Setup
    mode: str  # "static" or "inflight"
    load: tuple[float, ...]  # static: batch, batch, 1; in-flight: concurrency, running, group
    output_tokens: float
    works: tuple[Work, ...]  # static: prefill, decode; in-flight: decode, prefill group, one
    measured: dict[str, float | None]
    family: tuple[str, ...] = ()  # a silicon run's (mode, engine, system, model, precision)

    @property
    def curve(self) -> tuple[str, ...]:
        """The cross-validation group: a silicon run's whole family (every layout, length and
        concurrency of one model in one precision under one engine on one GPU), else one
        model's sweep at one TP on one GPU and precision."""
        if self.family:
            return self.family
        p = self.point
        return (p.model, p.gpu, precision_class(p.precision), str(self.setup.tp), p.load_type)


def engine_of(point: CurvePoint, override: str | None) -> str:
    if override:
        return override
    return ENGINE_OF_SOURCE.get(point.source_id, point.source_id or "user")


def _measured(point: CurvePoint, mode: str, tp: int) -> dict[str, float | None]:
    out = point.output_tokens
    rps: float | None = None
    if point.req_s is not None:
        rps = point.req_s
    elif mode == "static" and point.e2e_ms:
        rps = (point.load_value or 0) / (point.e2e_ms / 1000)
    elif point.out_tok_s:
        rps = point.out_tok_s / out
    elif point.rps_per_8_gpus is not None:
        rps = point.rps_per_8_gpus * tp / 8
    itl = point.itl_ms if out > 1 else None
    return {"ttft": point.ttft_ms, "itl": itl, "throughput": rps or None}


def _row_model(point: CurvePoint, catalog: Catalog) -> LlmArch | None:
    """A row's model: a catalog entry, or the config.json or bundled Hugging Face id it names
    (a relative path read from the row's file's folder); None when it is neither."""
    from llmsize.errors import InputError

    found = catalog.models.find(point.model)
    if found is not None or point.origin == "bundled":
        return found
    try:
        return catalog.resolve_model(point.model, point.origin, Path(point.origin).parent)
    except InputError:
        return None


def make_samples(
    points: Iterable[CurvePoint], catalog: Catalog, engine: str | None = None
) -> tuple[list[Sample], Counter[str]]:
    """Rows the model can be fitted to, and a count of the others by reason."""
    samples: list[Sample] = []
    skipped: Counter[str] = Counter()
    for p in points:
        model = _row_model(p, catalog)
        gpu = catalog.gpus.find(p.gpu)
        if p.load_type == "rate":
            skipped["open-loop rate runs (the simulator's job)"] += 1
            continue
        if model is None or gpu is None:
            skipped["model or GPU not in the catalog"] += 1
            continue
        if p.tp is None or p.load_value is None:
            skipped["TP or batch not stated"] += 1
            continue
        if not gpu.supports(p.precision):
            skipped["precision not modelled on that GPU"] += 1
            continue
        setup = Setup(model, gpu, p.tp, p.precision, default_nvlink_domain(gpu))
        mode = "static" if p.load_type == "batch" else "inflight"
        if mode == "static":
            works: tuple[Work, ...] = static_works(
                setup, p.load_value, p.input_tokens, p.output_tokens
            )
            shape: tuple[float, ...] = (p.load_value, p.load_value, 1.0)
        else:
            load = inflight_load(setup, p.load_value, p.input_tokens, p.output_tokens)
            works = (load.decode, load.prefill, load.first)
            shape = (load.concurrency, load.running, load.group)
        measured = _measured(p, mode, p.tp)
        if measured["ttft"] is None and measured["itl"] is None:
            skipped["no TTFT or ITL"] += 1
            continue
        samples.append(
            Sample(
                p,
                engine_of(p, engine),
                setup,
                mode,
                shape,
                max(p.output_tokens, 1.0),
                works,
                measured,
            )
        )
    return samples, skipped


def _closed_loop_rate(p: CurvePoint) -> float | None:
    """A closed loop's request rate from its own latencies (Little's law: C requests, each
    living TTFT + (out - 1) x TPOT), for runs that publish only those."""
    if p.ttft_ms is None or p.itl_ms is None or not p.load_value:
        return None
    lifetime_ms = p.ttft_ms + (p.output_tokens - 1) * p.itl_ms
    return p.load_value / (lifetime_ms / 1000)


def silicon_samples(
    runs: Iterable[SiliconRun], catalog: Catalog, engine: str | None = None
) -> tuple[list[Sample], Counter[str]]:
    """Closed-loop silicon runs the model can be fitted to (benchdb/silicon.py), each on its own
    layout under its own engine, fitted as `engine`'s where one is named (as make_samples takes
    it), and a count of the others by reason."""
    samples: list[Sample] = []
    skipped: Counter[str] = Counter()
    for run in runs:
        p = run.point
        where = f"{p.origin} (run {p.source_row}): model_path"
        found = ran_on(catalog, p.model, p.gpu, p.precision, where)
        if found is None:
            skipped["GPU not in the catalog"] += 1
            continue
        model, gpu, precision, server = found.model, found.gpu, found.precision, found.server
        domain = server.nvlink_domain if server else default_nvlink_domain(gpu)
        if run.layout.faults(model, server.gpus if server else None):
            skipped["layout the model cannot take (TP not dividing the heads)"] += 1
            continue
        if not gpu.runs(precision):
            skipped["precision not modelled on that GPU"] += 1
            continue
        setup = Setup.of(
            model,
            gpu,
            run.layout,
            precision,
            domain,
            server.network_gb_s if server else 50.0,
            engine=run.engine,  # memory and scheduler: the engine that ran
        )
        concurrency = p.load_value or 1.0
        load = inflight_load(setup, concurrency, p.input_tokens, p.output_tokens)
        samples.append(
            Sample(
                p,
                engine or run.engine,
                setup,
                "inflight",
                (load.concurrency, load.running, load.group),
                max(p.output_tokens, 1.0),
                (load.decode, load.prefill, load.first),
                {"ttft": p.ttft_ms, "itl": p.itl_ms, "throughput": _closed_loop_rate(p)},
                run.family,
            )
        )
    return samples, skipped


def _stack(works: Sequence[Work]) -> Work:
    return Work(*(np.array([getattr(w, f) for w in works], dtype=float) for f in Work.__slots__))


@dataclass(frozen=True, slots=True)
class _Batch:
    """Samples of one mode as arrays, for vectorised prediction."""

    mode: str
    works: tuple[Work, ...]  # static: prefill, decode; in-flight: decode, prefill group, one
    load: Any
    output: Any
    measured: dict[str, Any]  # metric -> array with nan where not measured


def _batches(samples: Sequence[Sample]) -> list[_Batch]:
    batches = []
    for mode in ("static", "inflight"):
        chosen = [s for s in samples if s.mode == mode]
        if not chosen:
            continue
        batches.append(
            _Batch(
                mode,
                tuple(_stack([s.works[i] for s in chosen]) for i in range(len(chosen[0].works))),
                np.array([s.load for s in chosen], dtype=float).T,
                np.array([s.output_tokens for s in chosen], dtype=float),
                {
                    m: np.array(
                        [np.nan if s.measured[m] is None else s.measured[m] for s in chosen]
                    )
                    for m in METRICS
                },
            )
        )
    return batches


def _predict(batch: _Batch, params: Params) -> dict[str, Any]:
    if batch.mode == "static":
        first, second = batch.works
        times = static_from_work(first, second, params, batch.load[0], batch.output, np.maximum)
    else:
        decode, group_pass, one = batch.works
        concurrency, running, group = batch.load
        times = inflight_from_work(
            decode, group_pass, one, params, concurrency, running, group, batch.output, np.maximum
        )
    return {"ttft": times.ttft_ms, "itl": times.itl_ms, "throughput": times.instance_rps}


def predict_samples(samples: Sequence[Sample], params: Params) -> list[dict[str, float]]:
    """Predicted ttft (ms), itl (ms) and throughput (instance req/s) for each sample, in order."""
    out: list[dict[str, float]] = []
    for s in samples:
        if s.mode == "static":
            first, second = s.works
            t = static_from_work(first, second, params, s.load[0], s.output_tokens)
        else:
            decode, group_pass, one = s.works
            concurrency, running, group = s.load
            t = inflight_from_work(
                decode, group_pass, one, params, concurrency, running, group, s.output_tokens
            )
        out.append({"ttft": t.ttft_ms, "itl": t.itl_ms, "throughput": t.instance_rps})
    return out


def _residuals(batches: Sequence[_Batch], params: Params, metrics: Sequence[str]) -> Any:
    parts = []
    for batch in batches:
        predicted = _predict(batch, params)
        for m in metrics:
            measured = batch.measured[m]
            mask = ~np.isnan(measured)
            if mask.any():
                parts.append(np.log(predicted[m][mask] / measured[mask]))
    return np.concatenate(parts) if parts else np.zeros(0)


def _fit_metrics(samples: Sequence[Sample]) -> tuple[str, ...]:
    """Static throughput follows from TTFT and ITL; in-flight throughput is its own measurement."""
    return (
        ("ttft", "itl", "throughput")
        if any(s.mode == "inflight" for s in samples)
        else ("ttft", "itl")
    )


def _least_squares(
    residuals: Callable[[Params], Any],
    start: Params,
    free: Sequence[str],
    max_nfev: int = 400,
    loss: str = "linear",
) -> Params:
    """Minimise residuals over the `free` parameters (in log space, within bounds), pulled weakly
    towards their start values; the other parameters stay as in `start`. `loss="soft_l1"`
    lets a few runs the model cannot explain count less than the many it can."""
    lo = np.log([_BOUNDS[n][0] for n in free])
    hi = np.log([_BOUNDS[n][1] for n in free])
    x0 = _log_start(free, [getattr(start, n) for n in free], lo, hi)

    def params_at(x: Any) -> Params:
        return replace(start, **dict(zip(free, np.exp(x).tolist(), strict=True)))

    def residual(x: Any) -> Any:
        return np.concatenate([residuals(params_at(x)), PRIOR_WEIGHT * (x - x0)])

    result = least_squares(
        residual,
        x0,
        bounds=(lo, hi),
        method="trf",
        max_nfev=max_nfev,
        loss=loss,
        f_scale=ROBUST_SCALE,
    )
    return params_at(result.x)


ROBUST_SCALE = 0.3
"""Log error beyond which a profile fit's residuals count less than quadratically (about 35 %)."""


def fit_profile(samples: Sequence[Sample], prior: Params) -> Params:
    """An engine profile: one parameter set over every GPU and precision of its rows, robust to
    the runs no roofline explains (a warm-up inside the timing, a misconfigured server).
    `group_wait` stays as the prior has it: the engine's scheduler says it (_profile_fit)."""
    batches = _batches(samples)
    metrics = _fit_metrics(samples)
    return _least_squares(
        lambda p: _residuals(batches, p, metrics),
        prior,
        [n for n in Params.names() if n != "group_wait"],
        max_nfev=1000,
        loss="soft_l1",
    )


def _log_start(names: Sequence[str], starts: Sequence[float], lo: Any, hi: Any) -> Any:
    """Start values in log space, inside the bounds; a parameter at zero (one a calibration
    did not need) starts from ZERO_STARTS, where a fit in log space can still move it."""
    values = [v if v > 0 else ZERO_STARTS[n] for n, v in zip(names, starts, strict=True)]
    return np.clip(np.log(values), lo + 1e-9, hi - 1e-9)


def fit_params(
    samples: Sequence[Sample], prior: Params, free: Sequence[str] = GROUP_PARAMS
) -> Params:
    """Fit one group's parameters to its rows."""
    batches = _batches(samples)
    metrics = _fit_metrics(samples)
    return _least_squares(lambda p: _residuals(batches, p, metrics), prior, free)


def fit_few(samples: Sequence[Sample], prior: Params) -> tuple[Params, tuple[str, ...]]:
    """Fit a group with few rows: CORE_PARAMS, and EARNED_PARAMS beside them where the
    corrected Akaike criterion (`aicc`) says the better fit pays for the extra parameters.
    Returns the parameters and the names fitted."""
    batches = _batches(samples)
    metrics = _fit_metrics(samples)

    def fitted(free: tuple[str, ...]) -> tuple[float, Params, tuple[str, ...]]:
        params = _least_squares(lambda p: _residuals(batches, p, metrics), prior, free)
        return aicc(_residuals(batches, params, metrics), len(free)), params, free

    # a tie keeps the fewer parameters (min takes the first)
    _, params, free = min(
        (fitted(free) for free in (CORE_PARAMS, CORE_PARAMS + EARNED_PARAMS)),
        key=lambda found: found[0],
    )
    return params, free


def aicc(log_errors: Any, parameters: int) -> float:
    """The corrected Akaike information criterion of a least-squares fit (lower is better): its
    log errors' sum of squares against how many parameters it spent on how many values
    (Hurvich and Tsai 1989); infinite where the values are too few to judge."""
    n = len(log_errors)
    if n <= parameters + 1:
        return math.inf
    squares = max(float(np.sum(np.square(log_errors))), 1e-12)
    k = parameters
    return n * math.log(squares / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def fit_gpu(groups: Sequence[tuple[Sequence[Sample], Params]]) -> list[Params]:
    """Fit one GPU's precision classes together: GPU_PARAMS tied, CLASS_PARAMS per class."""
    if len(groups) == 1:
        rows, start = groups[0]
        return [fit_params(rows, start)]
    prepared = [(_batches(rows), _fit_metrics(rows), start) for rows, start in groups]
    tied, own = list(GPU_PARAMS), list(CLASS_PARAMS)
    names = tied + [n for _ in groups for n in own]
    starts = [getattr(groups[0][1], n) for n in tied] + [
        getattr(start, n) for _, start in groups for n in own
    ]
    lo = np.log([_BOUNDS[n][0] for n in names])
    hi = np.log([_BOUNDS[n][1] for n in names])
    x0 = _log_start(names, starts, lo, hi)

    def params_at(x: Any) -> list[Params]:
        values = np.exp(x).tolist()
        common = dict(zip(tied, values[: len(tied)], strict=True))
        out = []
        for i, (_, _, start) in enumerate(prepared):
            at = len(tied) + i * len(own)
            out.append(
                replace(start, **common, **dict(zip(own, values[at : at + len(own)], strict=True)))
            )
        return out

    def residual(x: Any) -> Any:
        parts = [_residuals(b, p, m) for (b, m, _), p in zip(prepared, params_at(x), strict=True)]
        return np.concatenate([*parts, PRIOR_WEIGHT * (x - x0)])

    result = least_squares(residual, x0, bounds=(lo, hi), method="trf", max_nfev=400)
    return params_at(result.x)


def fit_shared(
    groups: Sequence[tuple[Sequence[Sample], Params]], start: Params
) -> dict[str, float]:
    """Fit an engine's shared parameters over all its groups, each group's own parameters fixed."""
    prepared = [(_batches(rows), _fit_metrics(rows), params) for rows, params in groups]

    def residuals(shared: Params) -> Any:
        values = {n: getattr(shared, n) for n in SHARED_PARAMS}
        parts = [_residuals(b, replace(p, **values), m) for b, m, p in prepared]
        return np.concatenate(parts) if parts else np.zeros(0)

    fitted = _least_squares(residuals, start, SHARED_PARAMS, max_nfev=100)
    return {n: float(getattr(fitted, n)) for n in SHARED_PARAMS}


def ape_summary(apes: Sequence[float]) -> dict[str, float]:
    """Median and 90th-percentile absolute percentage error, in percent."""
    if not apes:
        return {"n": 0}
    values = sorted(apes)
    return {
        "n": len(values),
        "median": round(100 * quantile(values, 0.5), 2),
        "p90": round(100 * quantile(values, 0.9), 2),
    }


def quantile(sorted_values: Sequence[float], q: float) -> float:
    position = (len(sorted_values) - 1) * q
    lo, hi = math.floor(position), math.ceil(position)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (position - lo)


def errors(
    samples: Sequence[Sample], predictions: Sequence[dict[str, float]]
) -> dict[str, list[float]]:
    """Absolute relative errors per metric, over the samples that measured it."""
    apes: dict[str, list[float]] = {m: [] for m in METRICS}
    for s, pred in zip(samples, predictions, strict=True):
        for m in METRICS:
            measured = s.measured[m]
            if measured:
                apes[m].append(abs(pred[m] / measured - 1))
    return apes


def observations(rows: Sequence[Sample]) -> int:
    """Measured values a fit of these rows can use: each configuration's TTFT, ITL and, in
    flight, its throughput. Repeated runs of one configuration count once: they pin down the
    same values, not more of them."""
    metrics = _fit_metrics(rows)
    found: dict[tuple[object, ...], set[str]] = defaultdict(set)
    for s in rows:
        u, p = s.setup, s.point
        key: tuple[object, ...] = (u.model.id, u.gpu.id, u.tp, u.pp, u.attention_dp, u.ep)
        key += (u.precision, s.mode, p.load_value, round(p.input_tokens), round(p.output_tokens))
        found[key].update(m for m in metrics if s.measured.get(m))
    return sum(len(v) for v in found.values())


def _profile_fit(engine: str, rows: Sequence[Sample]) -> GroupFit:
    from llmsize.perf.kv_budget import scheduler

    # prompt chunks in the decode steps: a first token waits for its own prompt only
    mixed = scheduler(engine).mixed_prefill
    start = Params(group_wait=_BOUNDS["group_wait"][0] if mixed else 1.0)
    params = fit_profile(rows, start)
    return GroupFit(
        engine=engine,
        gpu=PROFILE,
        precision=PROFILE,
        rows=len(rows),
        params=params,
        before={m: ape_summary(v) for m, v in errors(rows, predict_samples(rows, start)).items()},
        after={m: ape_summary(v) for m, v in errors(rows, predict_samples(rows, params)).items()},
        gpus=tuple(sorted({s.setup.gpu.id for s in rows})),
        layouts=tuple(
            name
            for name in ("pp", "attention_dp", "ep")
            if any(getattr(s.setup, name) > 1 for s in rows)
        ),
    )


def _engine_order(engines: Iterable[str]) -> list[str]:
    return sorted(set(engines), key=lambda e: (e != DEFAULT_ENGINE, e))


def fit_calibration(
    samples: Sequence[Sample],
    catalog: Catalog,
    prior: Calibration | None = None,
    origin: str = "fit",
    min_rows: int = MIN_ROWS,
    rounds: int = 4,
    per_param: int = 0,
    left_out: dict[str, str] | None = None,
) -> Calibration:
    """One parameter set per (engine, GPU, precision class) with at least `min_rows` rows, plus
    each engine's shared parameters (SHARED_PARAMS) fitted over all its rows; an engine measured
    in silicon runs gets one parameter set over all its rows instead (an engine profile: fewer
    parameters, so a model or GPU held out is predicted about as well as one fitted).

    The default engine is fitted first, so other engines start from (and are pulled towards) its
    parameters for the same GPU; the prior calibration backs whatever has no fit of its own. Group
    and shared parameters are fitted in turn, `rounds` times.

    With `per_param` > 0 no parameter is fitted without that many measured values for it: a GPU
    whose groups are too few for all their parameters gets only CORE_PARAMS fitted, a group too
    small even for those keeps the prior's (named with the reason in `left_out`), and the
    engine's shared parameters are fitted only with enough values left over for them.
    """
    profiles = {s.engine for s in samples if s.family}
    grouped: dict[tuple[str, str, str], list[Sample]] = defaultdict(list)
    for s in samples:
        grouped[(s.engine, s.setup.gpu.id, precision_class(s.setup.precision))].append(s)
    engines = _engine_order(k[0] for k in grouped)
    default = (
        DEFAULT_ENGINE if DEFAULT_ENGINE in engines else (engines[0] if engines else DEFAULT_ENGINE)
    )
    if prior is not None and default not in engines:
        default = prior.default_engine
    groups: dict[tuple[str, str, str], GroupFit] = {}
    shared: dict[str, dict[str, float]] = {}

    def current() -> Calibration:
        return Calibration(dict(groups), default, origin, prior, shared=dict(shared))

    for engine in engines:
        if engine in profiles:
            rows = [s for k, v in grouped.items() if k[0] == engine for s in v]
            groups[(engine, PROFILE, PROFILE)] = _profile_fit(engine, rows)
            continue
        keys = sorted(k for k in grouped if k[0] == engine)
        starts = {
            k: current()
            .resolve(engine, grouped[k][0].setup.gpu, grouped[k][0].setup.precision, catalog)
            .params
            for k in keys
        }
        shared_fitted = False
        for _ in range(rounds):
            for gpu_id in sorted({k[1] for k in keys}):
                chosen = [k for k in keys if k[1] == gpu_id and len(grouped[k]) >= min_rows]
                if not chosen:
                    continue
                full = len(GPU_PARAMS) + len(CLASS_PARAMS) * len(chosen)
                seen = sum(observations(grouped[k]) for k in chosen)
                fits: list[tuple[Params, tuple[str, ...]]]
                if seen >= per_param * full:
                    fits = [
                        (params, GROUP_PARAMS)
                        for params in fit_gpu(
                            [
                                (grouped[k], replace(starts[k], **shared.get(engine, {})))
                                for k in chosen
                            ]
                        )
                    ]
                else:
                    core = len(CORE_PARAMS)
                    small = [k for k in chosen if observations(grouped[k]) < per_param * core]
                    for key in small:
                        if left_out is not None:
                            left_out[" ".join(key)] = (
                                f"{observations(grouped[key])} measured values in "
                                f"{len(grouped[key])} rows: too few for even the "
                                f"{core} core parameters ({per_param} values each); "
                                "the prior's parameters stay"
                            )
                    chosen = [k for k in chosen if k not in small]
                    fits = [
                        fit_few(grouped[k], replace(starts[k], **shared.get(engine, {})))
                        for k in chosen
                    ]
                for key, (params, free) in zip(chosen, fits, strict=True):
                    groups[key] = GroupFit(
                        engine, key[1], key[2], len(grouped[key]), params, fitted=free
                    )
            fitted = [
                (
                    grouped[k],
                    current()
                    .resolve(
                        engine, grouped[k][0].setup.gpu, grouped[k][0].setup.precision, catalog
                    )
                    .params,
                )
                for k in keys
            ]
            spent = sum(len(groups[k].fitted) for k in keys if k in groups)
            enough = sum(observations(grouped[k]) for k in keys if k in groups) >= per_param * (
                spent + len(SHARED_PARAMS)
            )
            shared_fitted = enough and any(k in groups for k in keys)
            if shared_fitted:
                shared[engine] = fit_shared(fitted, fitted[0][1])
            else:
                shared[engine] = {n: float(getattr(fitted[0][1], n)) for n in SHARED_PARAMS}
        for key in keys:
            if key not in groups:
                continue
            rows, start = grouped[key], replace(starts[key])
            final = replace(groups[key].params, **shared[engine])
            groups[key] = GroupFit(
                engine=engine,
                gpu=key[1],
                precision=key[2],
                rows=len(rows),
                params=final,
                # the engine's shared parameters were fitted on these rows too, with the others
                fitted=groups[key].fitted + (SHARED_PARAMS if shared_fitted else ()),
                before={
                    m: ape_summary(v) for m, v in errors(rows, predict_samples(rows, start)).items()
                },
                after={
                    m: ape_summary(v) for m, v in errors(rows, predict_samples(rows, final)).items()
                },
            )
    return current()
