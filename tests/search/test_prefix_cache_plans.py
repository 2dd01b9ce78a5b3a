"""Plans with a cached prefix: credited where the engine caches, never costing servers."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from llmsize.api import plan
from llmsize.usecase import parse_usecase
from tests.cli.helpers import run

EXAMPLE = Path(__file__).parents[2] / "examples" / "usecases" / "chat-cached-system-prompt.yaml"


def _chat(hit_rate: float, **changes: object) -> dict[str, object]:
    return {
        "model": "llama-3.1-70b",
        "system_prompt_tokens": 4000,
        "input_tokens": 500,
        "output_tokens": 200,
        "prefix_cache": {"hit_rate": hit_rate},
        "latency": {"first_token_ms": 1000, "inter_token_ms": 50},
        "load": {"peak_rps": 25},
        "hardware": {"server": "dgx-h100", "precision": "fp8"},
        "engine": "vllm",
        **changes,
    }


def _servers(hit_rate: float, **changes: object) -> int:
    result = plan(parse_usecase(_chat(hit_rate, **changes)), method="peak")
    rec = result.recommendation
    assert rec is not None and rec.servers is not None
    return rec.servers


@settings(max_examples=12, deadline=None)
@given(low=st.floats(0.0, 1.0), more=st.floats(0.0, 1.0))
def test_more_prefix_hits_never_need_more_servers(low: float, more: float) -> None:
    high = low + (1.0 - low) * more
    assert _servers(high) <= _servers(low)


def test_the_cached_system_prompt_saves_servers_and_says_so(tmp_path: Path) -> None:
    out = run("plan", str(EXAMPLE), "--json", "--method", "peak")
    doc = json.loads(out.stdout)
    cached = doc["prefix_cache"]
    assert cached["shared_tokens"] == 6000 and cached["hit_rate"] == 1.0
    assert cached["prefilled_tokens"] == 600
    uncached = tmp_path / "uncached.yaml"
    uncached.write_text(EXAMPLE.read_text().replace("hit_rate: 1.0", "hit_rate: 0"))
    plain = json.loads(run("plan", str(uncached), "--json", "--method", "peak").stdout)
    assert plain["prefix_cache"] is None
    assert doc["recommendation"]["servers"] < plain["recommendation"]["servers"]


def test_the_static_calculator_prefills_every_prompt_whole() -> None:
    result = plan(parse_usecase(_chat(1.0, batching="static")), method="peak")
    assert result.usecase.prefix is None
    assert "static-batch calculator" in result.usecase.prefix_note


def test_the_twin_replays_the_shared_prefix_from_its_cache() -> None:
    from llmsize.api import simulate

    result = simulate(parse_usecase(_chat(0.8)), requests=2000, seed=1)
    assert result.run.prefix_hit_rate is not None
    assert abs(result.run.prefix_hit_rate - 0.8) < 0.05
    assert result.traffic["prefix_cache"] == {"shared_tokens": 4000, "hit_rate": 0.8}
