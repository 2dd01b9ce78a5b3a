"""The checklist schema: alternatives, units, limits, the context window, one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from llmsize.catalog import load_catalog
from llmsize.errors import InputError
from llmsize.usecase import load_usecase, parse_usecase, resolve

BASE = {
    "model": "llama-2-7b",
    "input_tokens": 128,
    "output_tokens": 512,
    "latency": {"first_token_ms": 300},
    "load": {"avg_rps": 64},
}


def _resolve(**changes: object) -> object:
    data = {**BASE, **changes}
    return resolve(parse_usecase(data, "uc.yaml"), load_catalog())


def test_words_and_system_prompt_count_as_input() -> None:
    r = resolve(
        parse_usecase(
            {**BASE, "input_tokens": None, "input_words": 2625, "system_prompt": "a b c"}, "uc"
        ),
        load_catalog(),
    )
    assert (r.input_tokens, r.system_prompt_tokens, r.input_tokens_total) == (3500, 4, 3504)


def test_peak_is_derived_from_average() -> None:
    r = resolve(parse_usecase(BASE, "uc"), load_catalog())
    assert (r.peak_rps, r.peak_source, r.avg_rps) == (77, "poisson", 64)


def test_every_server_type_is_compared_by_default() -> None:
    r = resolve(parse_usecase(BASE, "uc"), load_catalog())
    assert len(r.servers) == len(load_catalog().servers.entries)


@pytest.mark.parametrize(
    ("changes", "where", "fragment"),
    [
        ({"input_words": 100}, "uc", "either input_tokens or input_words"),
        ({"input_tokens": None}, "uc", "give input_tokens"),
        ({"input_tokens": 0}, "uc: input_tokens", "greater than or equal to 1"),
        ({"input_tokens": -5}, "uc: input_tokens", "greater than or equal to 1"),
        ({"input_tokens": "many"}, "uc: input_tokens", "valid integer"),
        ({"latency": {}}, "uc: latency", "at least one of"),
        (
            {"latency": {"first_token": 3}},
            "uc: latency.first_token",
            "did you mean 'first_token_ms'",
        ),
        ({"load": {"peak_rps": 3, "avg_rps": 2}}, "uc: load", "not peak_rps and avg_rps"),
        (
            {"load": {"avg_rps": 2, "peak_percentile": 1.5}},
            "uc: load.peak_percentile",
            "less than 1",
        ),
        ({"hardware": {"precision": "fp6"}}, "uc: hardware.precision", "bf16"),
        (
            {"load": {"avg_rps": 2, "batch": {"requests": 5, "window_hours": 8}}},
            "uc: load",
            "not avg_rps and batch",
        ),
        ({"load": {"batch": {"window_hours": 8}}}, "uc: load.batch", "give requests"),
        (
            {"load": {"batch": {"requests": 5, "window_hour": 8}}},
            "uc: load.batch.window_hour",
            "did you mean 'window_hours'",
        ),
        (
            {"load": {"batch": {"requests": 5, "window_hours": 30}}},
            "uc: load.batch.window_hours",
            "24",
        ),
        ({"latency": None}, "uc", "only a batch job"),
        ({"colour": "red"}, "uc: colour", "unknown field"),
    ],
)
def test_bad_fields_name_the_field(changes: dict[str, object], where: str, fragment: str) -> None:
    data = {k: v for k, v in {**BASE, **changes}.items() if v is not None}
    with pytest.raises(InputError) as info:
        parse_usecase(data, "uc")
    assert info.value.where == where
    assert fragment in info.value.message
    assert "\n" not in str(info.value)


def test_context_window_is_enforced() -> None:
    with pytest.raises(InputError, match="exceeds the 4096-token context window of llama-2-7b"):
        _resolve(input_tokens=4000, output_tokens=200)


def test_unknown_model_and_server_suggest_names() -> None:
    with pytest.raises(InputError, match="did you mean 'llama-2-7b'"):
        _resolve(model="llama-2-7")
    with pytest.raises(InputError, match=r"hardware\.server.*did you mean 'dgx-h100'"):
        _resolve(hardware={"server": "dgx-h10"})


def test_model_from_config_json(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        '{"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,'
        ' "num_attention_heads": 32, "num_hidden_layers": 32, "vocab_size": 32000,'
        ' "max_position_embeddings": 4096}'
    )
    r = _resolve(model=str(config))
    assert r.model.params == load_catalog().models.get("llama-2-7b", "m").params  # type: ignore[attr-defined]


def test_malformed_yaml_is_one_line(write_usecase: Callable[..., Path]) -> None:
    path = write_usecase(raw="model: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML at line") as info:
        load_usecase(path)
    assert "\n" not in str(info.value)


def test_top_level_must_be_a_mapping(write_usecase: Callable[..., Path]) -> None:
    with pytest.raises(InputError, match="mapping"):
        load_usecase(write_usecase(raw="- a\n- b\n"))


def test_named_tokenizer_without_the_extra_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "tokenizers", None)
    with pytest.raises(InputError, match=r"llmsize\[tokenizers\]"):
        _resolve(system_prompt="hello there", tokenizer="tok.json")


def test_a_batch_job_is_sized_for_its_window_not_a_poisson_peak() -> None:
    job = {"batch": {"requests": 2_000_000, "window_hours": 8}}
    r = resolve(parse_usecase({**BASE, "latency": None, "load": job}, "uc"), load_catalog())
    assert r.peak_source == "batch" and r.avg_rps is None
    assert r.peak_rps == pytest.approx(2_000_000 / (8 * 3600))  # 69.4 req/s, no Poisson rise
    assert (r.batch_requests, r.window_hours) == (2_000_000, 8)
    assert not r.limits.any  # latencies shown, not limiting
    assert r.cost.hours_per_day == 8  # its servers run for the window
    kept = {**BASE, "load": job, "cost": {"hours_per_day": 24}}
    assert resolve(parse_usecase(kept, "uc"), load_catalog()).cost.hours_per_day == 24


def test_a_batch_job_in_tokens_counts_whole_requests() -> None:
    # 128 in + 512 out = 640 tokens a request (plus a 10-token system prompt: 650)
    job = {"batch": {"tokens": 650_001, "window_hours": 2}}
    r = resolve(
        parse_usecase({**BASE, "system_prompt_tokens": 10, "load": job}, "uc"), load_catalog()
    )
    assert r.batch_requests == 1001  # rounded up: the job is finished, not nearly finished
    assert r.batch_tokens == 650_001
    assert r.limits.first_token_ms == 300  # a batch job may still limit its latency


def test_the_system_prompt_is_the_shared_prefix_by_default() -> None:
    from llmsize.usecase import Resolved

    r = _resolve(system_prompt_tokens=100)
    assert isinstance(r, Resolved)
    assert r.prefix is not None and (r.prefix.tokens, r.prefix.hit_rate) == (100, 1.0)
    assert r.prefilled_tokens == 128
    given = _resolve(system_prompt_tokens=100, prefix_cache={"shared_tokens": 200, "hit_rate": 0.5})
    assert isinstance(given, Resolved) and given.prefix is not None
    assert given.prefilled_tokens == 228 - 100
    off = _resolve(system_prompt_tokens=100, prefix_cache={"hit_rate": 0.0})
    assert isinstance(off, Resolved) and off.prefix is None
    alone = _resolve()  # no system prompt: nothing is shared
    assert isinstance(alone, Resolved) and alone.prefix is None


@pytest.mark.parametrize(
    ("changes", "where", "fragment"),
    [
        ({"prefix_cache": {"shared_tokens": 129}}, "prefix_cache.shared_tokens", "longer than"),
        ({"prefix_cache": {"hit_rate": 1.5}}, "uc.yaml: prefix_cache.hit_rate", "less than"),
        ({"prefix_cache": {"hitrate": 1}}, "uc.yaml: prefix_cache.hitrate", "'hit_rate'"),
    ],
)
def test_a_bad_prefix_cache_names_its_field(
    changes: dict[str, object], where: str, fragment: str
) -> None:
    with pytest.raises(InputError) as info:
        _resolve(**changes)
    assert info.value.where == where
    assert fragment in info.value.message


def test_only_engines_that_cache_prefixes_are_credited_with_one() -> None:
    from llmsize.perf.served import as_served
    from llmsize.usecase import Resolved

    r = _resolve(system_prompt_tokens=100)
    assert isinstance(r, Resolved)
    assert as_served(r, "vllm", "inflight") == r
    static = as_served(r, "vllm", "static")
    assert static.prefix is None and "static-batch calculator" in static.prefix_note
    nim = as_served(r, "nim", "inflight")
    assert nim.prefix is None and "off by default" in nim.prefix_note
    stated = _resolve(system_prompt_tokens=100, prefix_cache={"hit_rate": 0.9})
    assert isinstance(stated, Resolved)
    turned_on = as_served(stated, "nim", "inflight")
    assert turned_on.prefix == stated.prefix and "assumes prefix caching" in turned_on.prefix_note
