"""Values of a measured curve at a use case's lengths: exact, or log-log interpolated, never
extrapolated.

Between measured lengths, log(metric) is interpolated linearly in log(input) and log(output):
latency grows roughly as a power of length, so this is exact for power laws and conservative
otherwise. A length outside the measured range is a miss with the range named.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from llmsize.benchdb.schema import CurvePoint

METRICS = ("ttft_ms", "itl_ms", "req_s", "rps_per_8_gpus")
_EXACT_ONLY = frozenset({"rps_per_8_gpus"})
_TOLERANCE = 0.005  # lengths within 0.5 % of a measured length count as that length


@dataclass(frozen=True, slots=True)
class CurveValue:
    """Metrics at the asked lengths, how they were obtained, and the points used."""

    metrics: dict[str, float | None]
    provenance: str  # "measured" or "interpolated"
    points: tuple[CurvePoint, ...]


@dataclass(frozen=True, slots=True)
class CurveMiss:
    reason: str


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return math.fsum(present) / len(present) if present else None


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= _TOLERANCE * max(a, b)


def _bracket(grid: Sequence[float], x: float) -> tuple[float, ...] | None:
    """The measured value equal to x, or the nearest values either side; None outside the grid."""
    for g in grid:
        if _same(g, x):
            return (g,)
    below = [g for g in grid if g < x]
    above = [g for g in grid if g > x]
    if not below or not above:
        return None
    return (max(below), min(above))


def _blend(x: float, anchors: tuple[float, ...], values: list[float | None]) -> float | None:
    if len(anchors) == 1:
        return values[0]
    lo, hi = values
    if lo is None or hi is None or lo <= 0 or hi <= 0:
        return None
    t = math.log(x / anchors[0]) / math.log(anchors[1] / anchors[0])
    return math.exp((1 - t) * math.log(lo) + t * math.log(hi))


def _describe(values: Sequence[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}"


def value_at(
    points: Sequence[CurvePoint], input_tokens: float, output_tokens: float
) -> CurveValue | CurveMiss:
    """The curve's metrics at (input, output) tokens; repeated measurements are averaged."""
    cells: dict[tuple[float, float], list[CurvePoint]] = defaultdict(list)
    for p in points:
        cells[(p.input_tokens, p.output_tokens)].append(p)
    inputs = sorted({i for i, _ in cells})
    in_anchors = _bracket(inputs, input_tokens)
    if in_anchors is None:
        return CurveMiss(
            f"measured input {_describe(inputs)} tokens, asked {input_tokens:g} (no extrapolation)"
        )
    used: list[CurvePoint] = []
    exact = len(in_anchors) == 1
    per_input: dict[str, list[float | None]] = {m: [] for m in METRICS}
    for anchor in in_anchors:
        outputs = sorted(o for i, o in cells if i == anchor)
        out_anchors = _bracket(outputs, output_tokens)
        if out_anchors is None:
            return CurveMiss(
                f"measured output {_describe(outputs)} tokens at input {anchor:g}, "
                f"asked {output_tokens:g} (no extrapolation)"
            )
        exact = exact and len(out_anchors) == 1
        corner: dict[str, list[float | None]] = {m: [] for m in METRICS}
        for out_anchor in out_anchors:
            cell = cells[(anchor, out_anchor)]
            used.extend(cell)
            for m in METRICS:
                corner[m].append(_mean([getattr(p, m) for p in cell]))
        for m in METRICS:
            per_input[m].append(_blend(output_tokens, out_anchors, corner[m]))
    metrics: dict[str, float | None] = {}
    for m in METRICS:
        if m in _EXACT_ONLY and not exact:
            metrics[m] = None
        else:
            metrics[m] = _blend(input_tokens, in_anchors, per_input[m])
    return CurveValue(metrics, "measured" if exact else "interpolated", tuple(used))
