"""The simulated search's bracket-and-bisect finds the fewest passing servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmsize.search.simulated import smallest_passing


@given(st.integers(1, 200), st.integers(1, 60))
def test_finds_the_threshold_of_a_monotone_check(threshold: int, guess: int) -> None:
    asked: list[int] = []

    def passes(servers: int) -> bool:
        asked.append(servers)
        return servers >= threshold

    found = smallest_passing(passes, guess)
    if threshold <= 4 * guess + 4:
        assert found == threshold
    else:
        assert found is None
    assert len(asked) <= 4 * (guess.bit_length() + threshold.bit_length() + 2)


def test_server_types_replayed_in_worker_processes_give_the_serial_answer() -> None:
    """plan --workers 2: each server type's search runs in its own process, seeded as in the
    serial run, so the twin's answer is the same to the last figure."""
    from llmsize.api import plan

    case = Path(__file__).parents[2] / "examples" / "usecases" / "llama-70b-chat-2026.yaml"
    serial = plan(case).simulated
    parallel = plan(case, workers=2).simulated
    assert serial is not None and parallel == serial


def test_server_types_replayed_on_a_ray_cluster_give_the_serial_answer(ray_head: str) -> None:
    """plan --method simulate --ray: each server type's search is a task of the cluster (two
    CPUs on this machine, started by the test); the same answer as the serial run."""
    import json

    from tests.cli.helpers import run

    case = Path(__file__).parents[2] / "examples" / "usecases" / "llama-70b-chat-2026.yaml"
    serial = run("plan", str(case), "--json")
    on_ray = run("plan", str(case), "--json", "--ray", ray_head)
    assert serial.exit_code == on_ray.exit_code == 0, on_ray.output
    assert json.loads(on_ray.stdout)["simulated"] == json.loads(serial.stdout)["simulated"]
    assert json.loads(serial.stdout)["simulated"]["alternatives"]  # several server types


def test_plan_workers_below_one_is_one_line() -> None:
    from tests.cli.helpers import assert_one_line_error, run

    case = Path(__file__).parents[2] / "examples" / "usecases" / "seed-nemo-43b.yaml"
    assert_one_line_error(run("plan", str(case), "--workers", "0"), "--workers")


def test_a_replay_over_seeds_sends_back_only_the_first_seeds_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """simulate --seeds 3 shows the first seed's requests and the others' summaries, so only
    the first replay returns its per-request outcome (up to 1,000 seeds otherwise held)."""
    import llmsize.parallel
    from llmsize.api import simulate

    real = llmsize.parallel.map_jobs
    returned: list[bool] = []

    def recording(fn: Any, jobs: Any, workers: int = 1, ray: str | None = None) -> Any:
        for outcome, summary in real(fn, jobs, workers, ray):
            returned.append(outcome is not None)
            yield outcome, summary

    monkeypatch.setattr(llmsize.parallel, "map_jobs", recording)
    case = Path(__file__).parents[2] / "examples" / "usecases" / "seed-nemo-43b.yaml"
    result = simulate(case, requests=300, seeds=3)
    assert returned == [True, False, False]
    assert len(result.ttft_samples_ms) == result.run.requests  # the first seed's, all shown
