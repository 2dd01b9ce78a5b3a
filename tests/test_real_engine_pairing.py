"""The real-engine check's pairing of two clients' requests (scripts/real_engine/check.py), without
vLLM: each client's requests over the stretch both were measuring. The independent client
starts once llmsize's first warm-up request completes, so its first send can come after llmsize's
first measured one; CI once stopped there. And how many rounds decide: eight, or sixteen where eight
leave the two near the bound."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts" / "real_engine"


def _modules() -> tuple[ModuleType, ModuleType]:
    sys.path.insert(0, str(SCRIPTS))
    try:
        import check
        import raw_client
    finally:
        sys.path.remove(str(SCRIPTS))
    return check, raw_client


CHECK, RAW = _modules()


def _sends(first: float, count: int) -> list[Any]:
    return [RAW.Sample(first + i, 10.0 + i % 3, 5.0) for i in range(count)]


def _level(ours: list[Any]) -> dict[str, Any]:
    return {
        "ttft_ms": {"p50": statistics.median(s.ttft_ms for s in ours)},
        "itl_ms": {"p50": statistics.median(s.itl_ms for s in ours)},
    }


def test_a_later_first_send_trims_llmsizes_requests_not_the_round() -> None:
    ours = _sends(100.0, 48)
    theirs = _sends(103.5, 60)
    both, inside = CHECK.paired(ours, _level(ours), theirs)
    assert [s.sent_unix_s for s in both] == [100.0 + i for i in range(4, 48)]
    assert inside[0].sent_unix_s == 103.5 and inside[-1].sent_unix_s <= 147.0
    assert len(inside) == 44


def test_an_earlier_start_keeps_every_measured_request() -> None:
    ours = _sends(100.0, 48)
    both, inside = CHECK.paired(ours, _level(ours), _sends(90.0, 80))
    assert both == ours and len(inside) == 48


def test_too_little_overlap_is_a_round_to_run_again() -> None:
    ours = _sends(100.0, 48)
    with pytest.raises(CHECK.Unpaired, match="llmsize sent 8 and the independent client 5"):
        CHECK.paired(ours, _level(ours), _sends(140.0, 5))
    with pytest.raises(CHECK.Unpaired):
        CHECK.paired(ours, _level(ours), [])


def test_medians_llmsize_did_not_print_stop_the_check() -> None:
    ours = _sends(100.0, 48)
    level = _level(ours)
    level["ttft_ms"]["p50"] += 1
    with pytest.raises(RuntimeError, match="llmsize printed ttft_ms"):
        CHECK.paired(ours, level, _sends(90.0, 80))


def test_a_difference_near_the_bound_is_undecided_and_only_there() -> None:
    assert not CHECK.undecided(0.01, 0.069)  # passes as it is
    assert CHECK.undecided(0.01, 0.071)
    assert CHECK.undecided(0.102, 0.02)
    assert CHECK.undecided(0.01, 0.13)
    assert not CHECK.undecided(0.01, 0.131)  # fails as it is
    assert not CHECK.undecided(0.2, 0.08)


def _rounds_at(itl_ratios: list[float], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """compare() with llmsize bench and the independent client replaced: each round's requests a
    side as the check sends them, the independent client's ITL the given ratio of llmsize's 5 ms."""
    ratios = iter(itl_ratios)

    def bench(*_: Any, **__: Any) -> tuple[dict[str, float], tuple[list[Any], list[Any]]]:
        ratio = next(ratios)
        ours = _sends(100.0, CHECK.ROUND_REQUESTS)
        theirs = [RAW.Sample(s.sent_unix_s, s.ttft_ms, s.itl_ms * ratio) for s in ours]
        return {"reliable": 1.0, "prompt_tokens": 128.0}, (ours, theirs)

    monkeypatch.setattr(CHECK, "llmsize_bench", bench)
    monkeypatch.setattr(CHECK, "say", lambda _: None)
    rows: list[dict[str, Any]] = CHECK.compare(0, Path("model"))
    assert len(rows) == 1
    return rows[0]


def test_rounds_near_the_bound_are_followed_by_more_that_decide_with_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, more = CHECK.ROUNDS, CHECK.MORE_ROUNDS
    near = _rounds_at([1.11] * first + [1.0] * more, monkeypatch)  # 9.9 % apart after the first
    assert near["rounds"] == first + more and near["agree"]  # about 5 % over all of them
    clear = _rounds_at([1.02] * first, monkeypatch)
    assert clear["rounds"] == first and clear["agree"]
    far = _rounds_at([1.2] * first, monkeypatch)
    assert far["rounds"] == first and not far["agree"]
    still = _rounds_at([1.12] * (first + more), monkeypatch)  # 10.7 % apart, before and after
    assert still["rounds"] == first + more and not still["agree"]


def test_a_paired_round_pools_as_many_requests_as_eight_rounds_of_48_did() -> None:
    """The pooled count the 3 % standard error was measured at (about 400 a side) holds."""
    assert CHECK.ROUNDS * CHECK.requests_for(None, 1.0) >= 8 * 48
    assert CHECK.requests_for(16) == 16 * 16 and CHECK.requests_for(1) == CHECK.REQUESTS
