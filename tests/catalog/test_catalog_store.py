"""The packaged catalogs: complete, sourced, cross-referenced, looked up case-insensitively."""

from __future__ import annotations

import pytest

from llmsize.catalog import load_catalog
from llmsize.catalog.store import check_references
from llmsize.errors import InputError

GPUS = [
    "a100-sxm-80gb",
    "h100-sxm",
    "h100-pcie",
    "h100-nvl",
    "h200-sxm",
    "gh200",
    "l40s",
    "l40",
    "b200",
    "mi300x",
]
SERVERS = [
    "dgx-a100",
    "dgx-h100",
    "hgx-h200",
    "dgx-b200",
    "l40s-server",
    "h100-pcie-server",
    "h100-nvl-server",
    "mi300x-server",
]
MODELS = [
    "llama-2-7b",
    "llama-2-13b",
    "llama-2-70b",
    "llama-3-8b",
    "llama-3-70b",
    "llama-3.1-8b",
    "llama-3.1-70b",
    "llama-3.1-405b",
    "mistral-7b",
    "mixtral-8x7b",
    "mixtral-8x22b",
    "falcon-180b",
    "gpt-j-6b",
    "nemo-gpt-43b",
    "qwen3-32b",
]


def test_issue_ids_are_catalogued() -> None:
    catalog = load_catalog()
    assert set(GPUS) <= set(catalog.gpus.ids)
    assert set(SERVERS) <= set(catalog.servers.ids)
    assert set(MODELS) <= set(catalog.models.ids)


def test_every_entry_has_a_source_and_references_resolve() -> None:
    catalog = load_catalog()
    for table in (catalog.gpus, catalog.servers, catalog.models):
        for entry in table.entries:
            assert len(entry.source) > 10, entry.id
    assert check_references(catalog) == []


def test_datasheet_figures() -> None:
    # shared/data/README.md datasheet table.
    h100 = load_catalog().gpus.get("h100-sxm", "gpu")
    assert (h100.tflops["bf16"], h100.tflops["fp8"], h100.memory_gb, h100.bandwidth_tb_s) == (
        989,
        1979,
        80,
        3.35,
    )
    assert not load_catalog().gpus.get("a100", "gpu").supports("fp8")


@pytest.mark.parametrize(
    ("model", "billions"),
    [
        ("llama-2-7b", 6.74),
        ("llama-2-70b", 68.98),
        ("llama-3-8b", 8.03),
        ("mixtral-8x7b", 46.70),
        ("llama-3.1-405b", 405.85),
        ("falcon-180b", 179.5),
        ("qwen3-32b", 32.76),
    ],
)
def test_parameter_counts_match_published_sizes(model: str, billions: float) -> None:
    # Published sizes from the model cards (e.g. Llama 2 7B: 6.74 B; Mixtral 8x7B: 46.7 B).
    arch = load_catalog().models.get(model, "model")
    assert arch.params / 1e9 == pytest.approx(billions, rel=0.01)


def test_lookup_is_case_insensitive_and_accepts_aliases() -> None:
    catalog = load_catalog()
    assert catalog.models.get("LLaMA v2 70B", "model").id == "llama-2-70b"
    assert catalog.servers.get("DGX-H100", "server").id == "dgx-h100"


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(InputError) as info:
        load_catalog().models.get("llama-2-7", "model")
    assert "did you mean" in str(info.value) and "llama-2-7b" in str(info.value)


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("deepseek-v4", ("deepseek-v4-pro", "deepseek-v4-flash")),
        ("qwen3-235b", ("qwen3-235b-a22b",)),
        ("kimi-k2.6", ("kimi-k2.6-nvfp4",)),
        ("nemo-gtp-43b", ("nemo-gpt-43b",)),
    ],
)
def test_an_unknown_model_is_matched_against_the_bundled_configs_too(
    typed: str, suggested: tuple[str, ...]
) -> None:
    """The suggestions and the listing covered only the 15 catalog ids, so a near miss of one of
    the bundled Hugging Face configs (qwen3-235b) was offered qwen3-32b."""
    with pytest.raises(InputError) as info:
        load_catalog().resolve_model(typed, "--model")
    hint = str(info.value).split("did you mean", 1)[1]
    assert all(f"'{name}'" in hint for name in suggested), hint


def test_an_unknown_model_nothing_resembles_says_where_models_come_from() -> None:
    with pytest.raises(InputError) as info:
        load_catalog().resolve_model("zzzz", "--model")
    message = str(info.value)
    assert "did you mean" not in message
    assert "llmsize catalog models --bundled" in message and "config.json" in message
    assert "nemo-gpt-43b" in message  # the catalog's ids are still listed
