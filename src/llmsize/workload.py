"""Peak load from average load by the Poisson rule of GTC S62797, and its inverse.

The CDF is computed here in pure Python (log-space terms around the mode) instead of importing
scipy.stats, which alone takes about a second to import; tests check it against scipy.stats.poisson.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsize.catalog import LlmArch

DEFAULT_PERCENTILE = 0.95


def _log_pmf(k: int, lam: float) -> float:
    return k * math.log(lam) - lam - math.lgamma(k + 1)


def poisson_cdf(k: int, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam); terms beyond 40 standard deviations are below 1e-300."""
    if k < 0:
        return 0.0
    if lam <= 0:
        return 1.0
    spread = 40.0 * math.sqrt(lam) + 40.0
    lo = max(0, int(lam - spread))
    if k < lo:
        return 0.0
    hi = min(k, int(lam + spread) + 1)
    total = math.fsum(math.exp(_log_pmf(i, lam)) for i in range(lo, hi + 1))
    return min(total, 1.0)


def peak_from_average(avg_rps: float, percentile: float = DEFAULT_PERCENTILE) -> int:
    """Requests in the busiest second at this percentile: scipy.stats.poisson.ppf(p, avg)."""
    if avg_rps <= 0:
        return 0
    k = max(0, int(avg_rps + _normal_quantile(percentile) * math.sqrt(avg_rps)) - 2)
    while k > 0 and poisson_cdf(k - 1, avg_rps) >= percentile:
        k -= 1
    while poisson_cdf(k, avg_rps) < percentile:
        k += 1
    return k


def sustainable_average(capacity_rps: float, percentile: float = DEFAULT_PERCENTILE) -> float:
    """Largest average rate whose percentile peak does not exceed the capacity (65.6 -> 53.2)."""
    k = math.floor(capacity_rps + 1e-9)
    if k < 0:
        return 0.0
    lo, hi = 0.0, k + 10.0 * math.sqrt(k + 1.0) + 10.0
    # poisson_cdf(k, lam) falls as lam grows: bisect for the lam where it crosses the percentile.
    for _ in range(200):
        mid = (lo + hi) / 2
        if poisson_cdf(k, mid) >= percentile:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10 * max(1.0, hi):
            break
    return lo


def _normal_quantile(p: float) -> float:
    """Acklam-style rational start value for the search; exactness comes from the CDF walk."""
    p = min(max(p, 1e-12), 1 - 1e-12)
    t = math.sqrt(-2.0 * math.log(min(p, 1 - p)))
    z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (
        1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t**3
    )
    return z if p >= 0.5 else -z


# --- Arrivals and request lengths (seeded; no global random state) ---------------------------


@dataclass(frozen=True, slots=True)
class Lengths:
    """Token lengths of requests: fixed (stddev 0) or lognormal with this mean and spread, which
    keeps lengths positive and right-skewed as real prompts are."""

    mean: float
    stddev: float = 0.0

    def sampler(self, rng: random.Random) -> Callable[[], int]:
        if self.stddev <= 0:
            fixed = max(1, round(self.mean))
            return lambda: fixed
        sigma2 = math.log(1 + (self.stddev / self.mean) ** 2)
        mu, sigma = math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)
        return lambda: max(1, round(rng.lognormvariate(mu, sigma)))


@dataclass(frozen=True, slots=True)
class SharedPrefix:
    """A prompt prefix that requests share (the system prompt; a share of chat history or RAG
    documents), computed once per replica and held in the engine's prefix cache: `hit_rate` of
    the requests find it there, the rest prefill it like any other input."""

    tokens: int
    hit_rate: float

    @property
    def cached_tokens(self) -> float:
        """The prompt tokens a request finds cached, on average."""
        return self.tokens * self.hit_rate


@dataclass(frozen=True, slots=True)
class Speculation:
    """Speculative decoding: each step a drafter proposes `draft_tokens` tokens per sequence
    (the model's own MTP layers, an EAGLE head, or a small draft model), one pass of the target
    verifies them all, and each proposed token is accepted with `acceptance_rate` until the
    first rejection. `draft_share` is what one drafting pass reads and computes, as a share of a
    target decode step."""

    method: str  # "mtp", "eagle" or "draft"
    draft_tokens: int
    acceptance_rate: float
    draft_share: float
    draft_params: float  # weights the drafter adds beside the target's
    rate_source: str  # where the acceptance rate comes from ("given": the use case's)
    draft_model: LlmArch | None = None  # method "draft": the model that drafts

    @property
    def tokens_per_step(self) -> float:
        """Tokens a verify step yields on average, (1 - a^(k+1)) / (1 - a), each drafted token
        accepted alike (Leviathan et al., 'Fast Inference from Transformers via Speculative
        Decoding', ICML 2023, eq. 1)."""
        a, k = self.acceptance_rate, self.draft_tokens
        return float(k + 1) if a >= 1 else (1 - a ** (k + 1)) / (1 - a)


@dataclass(frozen=True, slots=True)
class Serving:
    """What the engine does beyond batching prompts and outputs that changes the answer: a
    shared prefix it serves from its prefix cache, and speculative decoding."""

    prefix: SharedPrefix | None = None
    speculation: Speculation | None = None
    history_tokens: float = 0.0  # a session's own earlier turns, found cached (on average)

    @property
    def cached_tokens(self) -> float:
        """Prompt tokens a request finds cached on average: the shared prefix and its history."""
        shared = self.prefix.cached_tokens if self.prefix is not None else 0.0
        return shared + self.history_tokens

    @property
    def beyond_measured(self) -> bool:
        """Whether measured curves (every prompt prefilled whole, one token a step) miss it."""
        return self.cached_tokens > 0 or self.speculation is not None


PLAIN = Serving()
"""Every prompt prefilled whole, one token a step."""


@dataclass(frozen=True, slots=True)
class Sessions:
    """Multi-turn conversations: each request is a turn whose prompt repeats the conversation so
    far (the system prompt, every earlier question and answer) before its new input; a session's
    next turn is sent `think_s` after the answer to the last one ends."""

    turns: int
    think_s: float

    def mean_prompt(self, system: float, new_input: float, output: float) -> float:
        """A turn's prompt, averaged over the turns: turn i repeats i - 1 questions and answers."""
        t = self.turns
        return system + new_input * (t + 1) / 2 + output * (t - 1) / 2

    def mean_history(self, new_input: float, output: float) -> float:
        """The earlier questions and answers a turn repeats, averaged over the turns."""
        return (new_input + output) * (self.turns - 1) / 2

    def longest(self, system: int, new_input: int, output: int) -> int:
        """The last turn's prompt and answer: what the context window must hold."""
        return system + self.turns * (new_input + output)


def poisson_times(rate: float, count: int, rng: random.Random, start: float = 0.0) -> list[float]:
    """Absolute send times of a Poisson process: a slow response never delays the next arrival."""
    times = []
    t = start
    expo = rng.expovariate
    for _ in range(count):
        t += expo(rate)
        times.append(t)
    return times


MOONCAKE_BLOCK_TOKENS = 512
"""Prompt tokens per hash_id of a Mooncake trace (kvcache-ai/Mooncake's trace, as the Dynamo
benchmarks' data_generator README and AISBench's mooncake_trace dataset describe it)."""


@dataclass(frozen=True, slots=True)
class TraceRow:
    arrival_s: float
    input_tokens: int
    output_tokens: int
    shares_prefix: bool = False  # its prompt opens with blocks an earlier request sent (hash_ids)
    blocks: tuple[int, ...] = ()  # its prompt's hash_ids, one per 512-token block

    def segments(self) -> tuple[tuple[int, int], ...]:
        """The prompt's blocks as a prefix cache holds them: (hash id, tokens), the last block
        holding what is left of the prompt."""
        found = []
        left = self.input_tokens
        for block in self.blocks:
            if left <= 0:
                break
            found.append((block, min(MOONCAKE_BLOCK_TOKENS, left)))
            left -= MOONCAKE_BLOCK_TOKENS
        return tuple(found)


def read_trace(path: Path) -> list[TraceRow]:
    """A trace: a CSV with columns arrival_s (or timestamp), input_tokens, output_tokens, or a
    Mooncake-style JSONL (timestamp in ms, input_length, output_length, optional hash_ids), as
    kvcache-ai/Mooncake publishes and AIPerf and Dynamo replay."""
    from llmsize.errors import InputError
    from llmsize.files import csv_rows, read_text

    text = read_text(path, "trace")
    if Path(path).suffix == ".jsonl" or text.lstrip().startswith("{"):
        return _mooncake_rows(text, path)
    records = csv_rows(text, path)
    header = next(records, (1, []))[1]
    time_col = next((c for c in ("arrival_s", "timestamp", "arrival_time") if c in header), None)
    if time_col is None or "input_tokens" not in header or "output_tokens" not in header:
        raise InputError(str(path), "a trace needs columns arrival_s, input_tokens, output_tokens")
    columns = [header.index(c) for c in (time_col, "input_tokens", "output_tokens")]
    rows = []
    for line, values in records:
        if not values:
            continue
        try:
            arrival, given_in, given_out = (float(values[c]) for c in columns)
        except (IndexError, ValueError):
            raise InputError(f"{path}:{line}", "expected numbers in every column") from None
        if not all(math.isfinite(v) for v in (arrival, given_in, given_out)):
            raise InputError(f"{path}:{line}", "NaN and infinity are not times or lengths")
        if arrival < 0 or given_in < 1 or given_out < 1 or max(given_in, given_out) > 1e8:
            raise InputError(f"{path}:{line}", "times must be >= 0 and lengths 1 to 10^8")
        rows.append(TraceRow(arrival, int(given_in), int(given_out)))
    if not rows:
        raise InputError(str(path), "the trace has no rows")
    return sorted(rows, key=lambda r: r.arrival_s)


MOONCAKE_FIELDS = ("timestamp", "input_length", "output_length")


def _mooncake_lines(text: str, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import json

    from llmsize.errors import InputError

    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{line}", f"not JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}:{line}", "each line must be a JSON object")
        yield line, row


def _mooncake_rows(text: str, path: Path) -> list[TraceRow]:
    """The trace's rows in arrival order, each marked when it shares a prompt block with a
    request that arrived before it."""
    from llmsize.errors import InputError

    found: list[TraceRow] = []
    for line, row in _mooncake_lines(text, path):
        missing = [f for f in MOONCAKE_FIELDS if f not in row]
        if missing:
            raise InputError(
                f"{path}:{line}",
                f"a Mooncake trace line needs {', '.join(MOONCAKE_FIELDS)}; missing "
                f"{', '.join(missing)} (text_input traces carry prompts, not lengths)",
            )
        values = [row[f] for f in MOONCAKE_FIELDS]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            raise InputError(f"{path}:{line}", "timestamp and lengths must be numbers")
        stamp_ms, given_in, given_out = (float(v) for v in values)
        if not all(math.isfinite(v) for v in (stamp_ms, given_in, given_out)):
            raise InputError(f"{path}:{line}", "NaN and infinity are not times or lengths")
        if stamp_ms < 0 or given_in < 1 or given_out < 1 or max(given_in, given_out) > 1e8:
            raise InputError(f"{path}:{line}", "times must be >= 0 and lengths 1 to 10^8")
        blocks = row.get("hash_ids", [])
        if not isinstance(blocks, list) or not all(
            isinstance(b, int) and not isinstance(b, bool) for b in blocks
        ):
            raise InputError(f"{path}:{line}", "hash_ids must be a list of integers")
        found.append(TraceRow(stamp_ms / 1e3, int(given_in), int(given_out), blocks=tuple(blocks)))
    if not found:
        raise InputError(str(path), "the trace has no rows")
    found.sort(key=lambda parsed: parsed.arrival_s)
    seen: set[int] = set()
    ordered = []
    for parsed in found:
        ordered.append(replace(parsed, shares_prefix=any(b in seen for b in parsed.blocks)))
        seen.update(parsed.blocks)
    return ordered


def trace_note(rows: Sequence[TraceRow], caching: bool) -> str | None:
    """What a replay of these rows should be read with: prompt blocks that requests share (a
    Mooncake trace's hash_ids) are served from each replica's prefix cache where the engine
    keeps one; where it does not, every prompt is prefilled whole."""
    sharing = sum(r.shares_prefix for r in rows)
    if not sharing:
        return None
    shared = f"{sharing:,} requests of the trace share prompt blocks with earlier ones (hash_ids)"
    if caching:
        return f"{shared}: each replica's prefix cache serves the blocks it holds"
    return f"{shared}; this engine caches no prefixes, so every prompt is prefilled whole"
