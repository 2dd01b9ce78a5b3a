"""Multi-turn sessions: each turn repeats the conversation so far, sticks to its replica, and
finds its history in that replica's prefix cache; the steady-state model credits the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmsize.catalog import load_catalog
from llmsize.errors import InputError
from llmsize.perf.calibration import shipped_calibration
from llmsize.sim.run import Traffic, TwinSetup, run, summarise
from llmsize.usecase import parse_usecase, resolve
from llmsize.workload import Lengths, Sessions, SharedPrefix

CATALOG = load_catalog()
MODEL = CATALOG.models.get("llama-3.1-70b", "m")
GPU = CATALOG.gpus.get("h100-sxm", "g")
PARAMS = shipped_calibration().resolve("vllm", GPU, "fp8", CATALOG).params
SYSTEM, NEW, ANSWER, TURNS = 1500, 200, 300, 6


def _traffic(requests: int = 6000, think_s: float = 5.0) -> Traffic:
    return Traffic(
        requests=requests,
        input_tokens=Lengths(NEW),
        output_tokens=Lengths(ANSWER),
        rate=20.0,
        seed=3,
        prefix=SharedPrefix(SYSTEM, 1.0),
        sessions=Sessions(TURNS, think_s),
        system_tokens=SYSTEM,
    )


def _twin(caching: bool = True) -> TwinSetup:
    return TwinSetup(MODEL, GPU, 4, "fp8", 8, 2, PARAMS, engine="vllm", prefix_caching=caching)


def test_every_turn_of_every_session_is_sent_once() -> None:
    traffic = _traffic(requests=600)
    outcome = run(_twin(), traffic)
    assert len(outcome.end) == 600  # 100 sessions of 6 turns, none lost or repeated


def test_a_turn_finds_its_history_in_the_cache_of_the_replica_it_sticks_to() -> None:
    """Over 6,000 turns on two replicas the cache serves what the use case credits: the system
    prompt and, from the second turn on, every earlier question and answer (within 2 points:
    each session's first turn computes its own input)."""
    result = summarise(run(_twin(), _traffic()), _traffic())
    sessions = Sessions(TURNS, 5.0)
    expected = (SYSTEM + sessions.mean_history(NEW, ANSWER)) / sessions.mean_prompt(
        SYSTEM, NEW, ANSWER
    )
    assert result.cached_token_share == pytest.approx(expected, abs=0.02)


def test_without_a_prefix_cache_every_turn_is_prefilled_whole() -> None:
    result = summarise(run(_twin(caching=False), _traffic(600)), _traffic(600))
    assert result.cached_token_share is None


def test_the_next_turn_waits_for_the_answer_and_the_think_time() -> None:
    """One session at a time: its turns' sends are at least think_s apart after each answer."""
    traffic = _traffic(requests=TURNS, think_s=30.0)
    outcome = run(_twin(), traffic)
    arrivals, ends = list(outcome.arrival), list(outcome.end)
    for turn in range(1, TURNS):
        assert arrivals[turn] >= ends[turn - 1] + 30.0 - 1e-9


def _usecase(**changes: object) -> dict[str, object]:
    return {
        "model": "llama-3.1-70b",
        "system_prompt_tokens": SYSTEM,
        "input_tokens": NEW,
        "output_tokens": ANSWER,
        "sessions": {"turns": TURNS, "think_s": 15},
        "latency": {"first_token_ms": 1000},
        "load": {"avg_rps": 20},
        **changes,
    }


def test_a_sessions_use_case_is_sized_on_the_mean_turn() -> None:
    uc = resolve(parse_usecase(_usecase()), CATALOG)
    assert uc.input_tokens == round(NEW * (TURNS + 1) / 2 + ANSWER * (TURNS - 1) / 2)
    assert uc.history_tokens == (NEW + ANSWER) * (TURNS - 1) / 2
    assert uc.prefilled_tokens == pytest.approx(NEW)  # the system prompt and history are cached


def test_a_conversation_longer_than_the_context_window_is_refused() -> None:
    with pytest.raises(InputError) as info:
        resolve(parse_usecase(_usecase(sessions={"turns": 400})), CATALOG)
    assert info.value.where == "sessions.turns" and "context window" in info.value.message


def test_a_closed_loop_of_a_sessions_use_case_is_refused_in_one_line(tmp_path: Path) -> None:
    """A closed loop would send each turn's new input alone: refused, not answered wrong."""
    import yaml

    from tests.cli.helpers import assert_one_line_error
    from tests.cli.helpers import run as cli

    case = tmp_path / "sessions.yaml"
    case.write_text(yaml.safe_dump(_usecase()))
    assert_one_line_error(
        cli("simulate", str(case), "--concurrency", "4", "--requests", "20"), "--concurrency"
    )
