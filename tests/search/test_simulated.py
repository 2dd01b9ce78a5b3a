"""The simulated search's bracket-and-bisect finds the fewest passing servers."""

from __future__ import annotations

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
