"""The disaggregated alternative of a plan (`plan --disaggregated`): per server type, the
fewest servers a prefill pool and a decode pool need to carry the use case's peak within its
limits, by the steady-state model of perf/disaggregated.py.

A unit is P prefill workers and D decode workers (xPyD, the ratios of DISAGGREGATED_RATIOS) of
two layouts that fit (perf/candidates.py, the narrowest few of each precision). A unit's most
concurrent requests whose mean latencies keep every limit give its request rate (C / E2E); the
peak needs ceil(peak / rate) units, and their GPUs fill whole servers (both pools on the same
server type; a rack-scale server such as the GB200 NVL72 holds both in one NVLink domain). Not
replayed in the twin (its two-pool replay is not built): the answer says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmsize.catalog import Server
from llmsize.deployment import Layout
from llmsize.perf.candidates import candidates
from llmsize.perf.context import PerfContext
from llmsize.perf.disaggregated import (
    DisaggregatedTimes,
    PoolSetup,
    disaggregated_times,
    pool_setup,
    shares_domain,
)
from llmsize.perf.sources import modelled_precisions
from llmsize.usecase import Resolved

DISAGGREGATED_RATIOS = ((1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (3, 1), (2, 3), (3, 2), (4, 1))
"""Prefill : decode workers of a unit searched (xPyD; a larger deployment repeats the unit)."""
LAYOUTS_PER_POOL = 4
"""The narrowest layouts of each precision tried for each pool."""
MAX_CONCURRENCY = 1 << 16


@dataclass(frozen=True, slots=True)
class DisaggregatedChoice:
    """The best disaggregated deployment found on one server type."""

    server: Server
    precision: str
    prefill: Layout
    prefill_workers: int
    decode: Layout
    decode_workers: int
    units: int
    servers: int
    gpus: int
    concurrency_per_unit: int
    times: DisaggregatedTimes
    kv_link: str  # "nvlink" (one NVLink domain holds a unit) or "network"

    @property
    def label(self) -> str:
        return (
            f"{self.precision} {self.units * self.prefill_workers} x prefill "
            f"{self.prefill.label} + {self.units * self.decode_workers} x decode "
            f"{self.decode.label}"
        )


@dataclass(frozen=True, slots=True)
class DisaggregatedOption:
    """One server type's disaggregated answer, or why it has none."""

    server: Server
    choice: DisaggregatedChoice | None
    reason: str = ""


def disaggregated_options(
    usecase: Resolved, context: PerfContext
) -> tuple[DisaggregatedOption, ...]:
    """Every server type's disaggregated answer (plan --disaggregated)."""
    return tuple(
        DisaggregatedOption(server, *size_disaggregated(usecase, context, server))
        for server in usecase.servers
    )


def _within(usecase: Resolved, t: DisaggregatedTimes) -> bool:
    return usecase.limits.holds(t.ttft_ms, t.itl_ms, t.e2e_ms)


def _most_concurrent(
    usecase: Resolved, prefill: PoolSetup, decode: PoolSetup, shared: bool
) -> tuple[int, DisaggregatedTimes] | None:
    """The largest closed-loop concurrency whose mean latencies keep every limit (the latencies
    grow with it), by doubling then bisection; None when even one request breaks a limit."""

    def times(c: int) -> DisaggregatedTimes:
        return disaggregated_times(
            prefill,
            decode,
            c,
            usecase.input_tokens_total,
            usecase.output_tokens,
            shared,
        )

    first = times(1)
    if not _within(usecase, first):
        return None
    lo, found, hi = 1, first, 2
    while hi <= MAX_CONCURRENCY:
        t = times(hi)
        if not _within(usecase, t):
            break
        lo, found, hi = hi, t, hi * 2
    hi = min(hi, MAX_CONCURRENCY + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        t = times(mid)
        if _within(usecase, t):
            lo, found = mid, t
        else:
            hi = mid
    return lo, found


def size_disaggregated(
    usecase: Resolved, context: PerfContext, server: Server
) -> tuple[DisaggregatedChoice | None, str]:
    """The fewest servers of this type a disaggregated deployment needs for the peak, or why
    there is none."""
    catalog = context.catalog
    gpu = catalog.gpu_of(server)
    model = usecase.model
    precisions = usecase.precisions or modelled_precisions(gpu, usecase.precision, model)
    found = candidates(
        model,
        server,
        gpu,
        precisions,
        usecase.input_tokens_total + usecase.output_tokens,
        context.engine,
        usecase.kv_precision or "",
    )
    if not found.found:
        return None, "; ".join(found.missing) or "nothing fits"
    best: DisaggregatedChoice | None = None
    by_precision: dict[str, list[Layout]] = {}
    for c in found.found:
        by_precision.setdefault(c.precision, []).append(c.layout)
    for precision, layouts in by_precision.items():
        tried = sorted(set(layouts), key=lambda lay: (lay.gpus, lay.label))[:LAYOUTS_PER_POOL]
        for p_layout in tried:
            for d_layout in tried:
                for p_workers, d_workers in DISAGGREGATED_RATIOS:
                    choice = _unit(
                        usecase, context, server, precision, p_layout, p_workers, d_layout,
                        d_workers,
                    )  # fmt: skip
                    if choice is not None and (
                        best is None
                        or (choice.servers, choice.gpus, choice.times.ttft_ms)
                        < (best.servers, best.gpus, best.times.ttft_ms)
                    ):
                        best = choice
    if best is None:
        return None, "no disaggregated unit keeps the limits even at one request"
    return best, ""


def _unit(
    usecase: Resolved,
    context: PerfContext,
    server: Server,
    precision: str,
    p_layout: Layout,
    p_workers: int,
    d_layout: Layout,
    d_workers: int,
) -> DisaggregatedChoice | None:
    catalog = context.catalog
    gpu = catalog.gpu_of(server)

    def pool(layout: Layout, workers: int) -> PoolSetup:
        return pool_setup(
            usecase.model, gpu, server, layout, precision, context.engine,
            context.calibration, catalog, workers,
        )[0]  # fmt: skip

    prefill, decode = pool(p_layout, p_workers), pool(d_layout, d_workers)
    shared = shares_domain(prefill, server, decode, server)
    most = _most_concurrent(usecase, prefill, decode, shared)
    if most is None:
        return None
    concurrency, times = most
    units = max(1, math.ceil(usecase.peak_rps / times.rps))
    unit_gpus = p_layout.gpus * p_workers + d_layout.gpus * d_workers
    gpus = units * unit_gpus
    return DisaggregatedChoice(
        server,
        precision,
        p_layout,
        p_workers,
        d_layout,
        d_workers,
        units,
        math.ceil(gpus / server.gpus),
        gpus,
        concurrency,
        times,
        "nvlink" if shared else "network",
    )
