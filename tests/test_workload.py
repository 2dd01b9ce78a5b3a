"""Peak from average by the Poisson rule (GTC S62797), checked against scipy.stats.poisson."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from llmsize.workload import peak_from_average, poisson_cdf, sustainable_average


@pytest.mark.parametrize(("avg", "peak"), [(64, 77), (7, 12)])
def test_talk_peaks(avg: float, peak: int) -> None:
    # GTC S62797: poisson.ppf(0.95, 64) = 77 (+20 %), poisson.ppf(0.95, 7) = 12 (+71 %).
    assert peak_from_average(avg) == peak


@pytest.mark.parametrize(("capacity", "avg"), [(65.6, 53.2), (11.2, 6.92)])
def test_talk_sustainable_averages(capacity: float, avg: float) -> None:
    # GTC S62797: 65.6 prompts/s sustain 53.2 req/s on average; 11.2 sustain 6.92. The talk shows
    # three significant digits, so that is the tolerance.
    assert float(f"{sustainable_average(capacity):.3g}") == avg


@settings(max_examples=200, deadline=None)
@given(
    avg=st.floats(min_value=0.01, max_value=5000),
    p=st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.999]),
)
def test_peak_matches_scipy(avg: float, p: float) -> None:
    assert peak_from_average(avg, p) == int(poisson.ppf(p, avg))


@settings(max_examples=100, deadline=None)
@given(k=st.integers(min_value=0, max_value=3000), lam=st.floats(min_value=0.01, max_value=3000))
def test_cdf_matches_scipy(k: int, lam: float) -> None:
    assert poisson_cdf(k, lam) == pytest.approx(float(poisson.cdf(k, lam)), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(capacity=st.floats(min_value=1, max_value=2000), p=st.sampled_from([0.9, 0.95, 0.99]))
def test_sustainable_average_is_the_inverse(capacity: float, p: float) -> None:
    avg = sustainable_average(capacity, p)
    assert peak_from_average(avg * 0.999, p) <= capacity
    assert peak_from_average(avg * 1.01 + 0.01, p) > int(capacity + 1e-9)


def test_more_average_never_lowers_peak() -> None:
    peaks = [peak_from_average(a / 10) for a in range(1, 2000)]
    assert peaks == sorted(peaks)


def test_a_mooncake_trace_is_read_in_seconds_and_its_shared_blocks_are_named(
    tmp_path: Path,
) -> None:
    """Mooncake's format (kvcache-ai/Mooncake mooncake_trace.jsonl; Dynamo's data_generator
    README): timestamp in ms since the first request, input and output lengths, hash_ids of the
    prompt's blocks (shared ids: a shared prefix)."""
    from llmsize.workload import read_trace, trace_note

    path = tmp_path / "mooncake.jsonl"
    path.write_text(
        '{"timestamp": 3052, "input_length": 2287, "output_length": 316, "hash_ids": [0, 42]}\n'
        '{"timestamp": 0, "input_length": 6755, "output_length": 500, "hash_ids": [0, 1, 2]}\n'
        "\n"
        '{"timestamp": 0, "input_length": 7319, "output_length": 490, "hash_ids": [0, 14]}\n'
    )
    rows = read_trace(path)
    assert [(r.arrival_s, r.input_tokens, r.output_tokens) for r in rows] == [
        (0.0, 6755, 500),
        (0.0, 7319, 490),
        (3.052, 2287, 316),
    ]
    note = trace_note(read_trace(path), caching=True)
    assert note is not None and note.startswith("2 requests of the trace share prompt blocks")
    assert "prefix cache serves" in note
    assert "prefilled whole" in (trace_note(read_trace(path), caching=False) or "")
    assert [r.segments() for r in rows][2] == ((0, 512), (42, 512))
    assert rows[0].segments() == ((0, 512), (1, 512), (2, 512))  # 6,755 tokens: 3 blocks given
    alone = tmp_path / "alone.jsonl"
    alone.write_text('{"timestamp": 0, "input_length": 10, "output_length": 5, "hash_ids": [7]}\n')
    assert trace_note(read_trace(alone), caching=True) is None


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('{"timestamp": 0, "input_length": 10}', "missing output_length"),
        ('{"text_input": "hi", "output_length": 5}', "text_input traces carry prompts"),
        ('{"timestamp": "soon", "input_length": 10, "output_length": 5}', "must be numbers"),
        ('{"timestamp": -1, "input_length": 10, "output_length": 5}', "times must be >= 0"),
        ("[1, 2]", "JSON object"),
        (
            '{"timestamp": 0, "input_length": 10, "output_length": 5, "hash_ids": "0,1"}',
            "hash_ids must be a list of integers",
        ),
        ("{oops", "not JSON"),
    ],
)
def test_a_bad_mooncake_line_is_named(line: str, fragment: str, tmp_path: Path) -> None:
    from llmsize.errors import InputError
    from llmsize.workload import read_trace

    path = tmp_path / "t.jsonl"
    path.write_text('{"timestamp": 0, "input_length": 10, "output_length": 5}\n' + line + "\n")
    with pytest.raises(InputError) as info:
        read_trace(path)
    assert info.value.where == f"{path}:2"
    assert fragment in info.value.message
