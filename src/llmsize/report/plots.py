"""Pictures (matplotlib, an optional extra imported only when a plot is asked for).

Every chart is 1200 x 700 pixels (12 x 7 inches at 100 dpi) and says what its numbers are
(measured, interpolated, modelled or simulated).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmsize.errors import InputError
from llmsize.metrics import percentile as percentile_of
from llmsize.perf.results import ConfigsResult
from llmsize.search import PlanResult
from llmsize.search.disaggregated import DisaggregatedChoice, DisaggregatedConfigs

SIZE_INCHES = (12.0, 7.0)
DPI = 100
MARKERS = {"measured": "o", "interpolated": "s", "modelled": "^"}


def _pyplot(flag: str) -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError(flag, "needs matplotlib: pip install 'llmsize[plot]'") from None
    return plt


def _save(fig: Any, path: Path, flag: str) -> None:
    """Whole or not at all: drawn to a temporary file beside `path`, then renamed onto it."""
    import matplotlib.pyplot as plt

    from llmsize.files import PLOT_SUFFIXES, atomic_path, check_suffix

    try:
        check_suffix(path, PLOT_SUFFIXES, flag)
        with atomic_path(path, flag) as temporary:
            fig.savefig(temporary, dpi=DPI, format=path.suffix.lower().lstrip("."))
    finally:
        plt.close(fig)


METRIC_LABELS = {"ttft_ms": "TTFT (ms)", "e2e_ms": "E2E (ms)", "itl_ms": "ITL (ms)"}
LIMIT_OF_METRIC = {
    "ttft_ms": "first_token_ms",
    "e2e_ms": "last_token_ms",
    "itl_ms": "inter_token_ms",
}


def _limit_line(ax: Any, limits: dict[str, float | None], metric: str) -> None:
    """The use case's limit on the plotted latency, where it has one."""
    limit = limits.get(LIMIT_OF_METRIC[metric])
    if limit is not None:
        ax.axhline(limit, color="tab:red", linestyle="--", linewidth=1, label=f"limit {limit:g} ms")


def frontier_plot(result: ConfigsResult, path: Path) -> None:
    """The calculator's main chart: latency against prompts/s per server, the frontier, both
    optima and the limit line."""
    plt = _pyplot("--plot")
    fig, ax = plt.subplots(figsize=SIZE_INCHES)
    metric = result.metric
    label = METRIC_LABELS[metric]
    for provenance, marker in MARKERS.items():
        points = [e for e in result.points if e.provenance == provenance]
        if points:
            ax.scatter(
                [e.rps_per_server for e in points],
                [getattr(e, metric) for e in points],
                marker=marker,
                alpha=0.35,
                label=f"{provenance} configurations",
            )
    front = sorted(result.frontier, key=lambda e: e.rps_per_server)
    ax.plot(
        [e.rps_per_server for e in front],
        [getattr(e, metric) for e in front],
        "k-",
        linewidth=1.2,
        label="frontier",
    )
    for e, name, color in (
        (result.throughput_optimal, "throughput-optimal", "tab:red"),
        (result.latency_optimal, "latency-optimal", "tab:green"),
    ):
        if e is not None:
            ax.scatter(
                [e.rps_per_server],
                [getattr(e, metric)],
                s=160,
                color=color,
                zorder=5,
                label=f"{name}: {e.label}",
            )
    _limit_line(ax, result.limits, metric)
    ax.set_xlabel(f"prompts/s per {result.server}")
    ax.set_ylabel(label)
    ax.set_yscale("log")
    ax.set_title(
        f"{result.model} on {result.server}: {result.input_tokens} in / {result.output_tokens} out"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    _save(fig, path, "--plot")


def units_plot(result: DisaggregatedConfigs, path: Path) -> None:
    """configs --disaggregated: each unit's limiting latency against its output tokens a second
    per GPU, the frontier, both optima and the limit line."""
    plt = _pyplot("--plot")
    fig, ax = plt.subplots(figsize=SIZE_INCHES)
    metric = result.metric
    label = METRIC_LABELS[metric]

    def rate(unit: DisaggregatedChoice) -> float:
        return unit.tokens_per_gpu(result.output_tokens)

    def latency(unit: DisaggregatedChoice) -> float:
        return float(getattr(unit.times, metric))

    ax.scatter(
        [rate(u) for u in result.units],
        [latency(u) for u in result.units],
        marker=MARKERS["modelled"],
        alpha=0.35,
        label="modelled units (P prefill + D decode workers)",
    )
    front = sorted(result.frontier, key=rate)
    ax.plot([rate(u) for u in front], [latency(u) for u in front], "k-", linewidth=1.2,
            label="frontier")  # fmt: skip
    for unit, name, color in (
        (result.throughput_optimal, "throughput-optimal", "tab:red"),
        (result.latency_optimal, "latency-optimal", "tab:green"),
    ):
        if unit is not None:
            ax.scatter([rate(unit)], [latency(unit)], s=160, color=color, zorder=5,
                       label=f"{name}: {unit.label}")  # fmt: skip
    _limit_line(ax, result.limits, metric)
    ax.set_xlabel(f"output tokens/s per GPU ({result.server})")
    ax.set_ylabel(label)
    ax.set_yscale("log")
    ax.set_title(
        f"{result.model} disaggregated on {result.server} ({result.engine}): "
        f"{result.input_tokens} in / {result.output_tokens} out"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    _save(fig, path, "--plot")


def servers_plot(result: PlanResult, path: Path, monthly_usd: dict[str, float]) -> None:
    """Servers needed per server type, and their monthly cost where a price is known."""
    plt = _pyplot("--plot")
    answered = result.answered
    planned = sorted(
        (p for p in result.plans if p.server.id in answered), key=lambda p: answered[p.server.id][0]
    )
    fig, ax = plt.subplots(figsize=SIZE_INCHES)
    names = [p.server.id for p in planned]
    counts = [answered[p.server.id][0] for p in planned]
    colors = [
        "tab:blue" if p.best and p.best.provenance != "modelled" else "tab:purple" for p in planned
    ]
    ax.bar(names, counts, color=colors)
    methods = {answered[p.server.id][1] for p in planned}
    ax.set_ylabel(
        "servers needed"
        + (" (replayed in the twin)" if methods == {"replay"} else "")
        + (" (replayed where the twin found one)" if len(methods) > 1 else "")
    )
    ax.set_title(
        f"{result.usecase.name}: peak {result.usecase.peak_rps:g} req/s "
        "(blue: measured or interpolated, purple: modelled)"
    )
    for i, p in enumerate(planned):
        cost = monthly_usd.get(p.server.id)
        text = f"{counts[i]}" + (f"\n${cost / 1000:,.0f}k/month" if cost is not None else "")
        ax.annotate(text, (i, counts[i]), ha="center", va="bottom", fontsize=8)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    _save(fig, path, "--plot")


def latency_plot(
    runs: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    path: Path,
    limits: dict[str, float | None],
    percentile: float,
) -> None:
    """TTFT and E2E distributions (one histogram per run: simulated, measured, or both) with the
    limits and the chosen percentile marked."""
    plt = _pyplot("--plot")
    fig, axes = plt.subplots(1, 2, figsize=SIZE_INCHES)
    for ax, index, name, limit in (
        (axes[0], 1, "TTFT (ms)", limits.get("first_token_ms")),
        (axes[1], 2, "E2E (ms)", limits.get("last_token_ms")),
    ):
        for label, *values in runs:
            data = sorted(values[index - 1])
            if not data:
                continue
            ax.hist(data, bins=60, alpha=0.5, label=label)
            q = percentile_of(data, percentile * 100)  # the tables' and JSON's own
            ax.axvline(
                q,
                linestyle=":",
                linewidth=1.2,
                label=f"{label} p{round(percentile * 100)} {q:,.0f}",
            )
        if limit is not None:
            ax.axvline(limit, color="tab:red", linestyle="--", label=f"limit {limit:g}")
        ax.set_xlabel(name)
        ax.set_ylabel("requests")
        ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path, "--plot")


def sweep_plot(
    prefill: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    decode: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    title: str,
    path: Path,
) -> None:
    """The talk's two charts: prefill time against sequence positions (input x batch), decode
    step time against (input + output / 2) x batch; one series per (kind, label)."""
    plt = _pyplot("--sweep-plot")
    fig, axes = plt.subplots(1, 2, figsize=SIZE_INCHES)
    for ax, series, xlabel, ylabel in (
        (axes[0], prefill, "sequence positions (input x batch)", "prefill time, TTFT (ms)"),
        (
            axes[1],
            decode,
            "context tokens read per step ((input + output/2) x batch)",
            "decode step, ITL (ms)",
        ),
    ):
        for label, xs, ys in series:
            style = "o" if label.startswith("measured") else "-"
            ax.plot(xs, ys, style, label=label, markersize=5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path, "--sweep-plot")
