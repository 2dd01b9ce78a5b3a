"""The bundled Hugging Face configs (data/hf-configs), resolved by Hugging Face id, by short id,
by a repository's older or newer name, and — for a quantized checkpoint whose config is not
bundled (`nvidia/Qwen3-32B-NVFP4`) — as its base model with that quantization, saying so."""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

from llmsize.catalog.precisions import info
from llmsize.catalog.schema import LlmArch, NativePrecision

QUANT_SUFFIXES = {"fp8": "fp8", "nvfp4": "nvfp4", "fp4": "nvfp4", "fp8-block": "fp8-block"}
"""Repository-name suffixes that name a quantization of the base model."""

PLAIN_SUFFIXES = ("-instruct", "-base", "-bf16", "-chat", "-hf")
"""Suffixes that do not change the architecture (instruction tuning, the 16-bit release)."""


def bundle_dir() -> Path:
    return Path(str(resources.files("llmsize") / "data" / "hf-configs"))


def _short(repo: str) -> str:
    return re.sub(r"[^a-z0-9.\-]+", "-", repo.lower()).strip("-.")


@functools.cache
def bundled() -> dict[str, Path]:
    """Every bundled config by its Hugging Face id and short id (lower case)."""
    found: dict[str, Path] = {}
    for path in sorted(bundle_dir().glob("*_config.json")):
        if path.name.endswith("_hf_quant_config.json"):
            continue
        owner, _, repo = path.name.removesuffix("_config.json").partition("--")
        found[f"{owner}/{repo}".lower()] = path
        found.setdefault(_short(repo), path)
    return found


def names() -> list[str]:
    """What a user may call the bundled models: each short id (the keys of `bundled` without an
    owner) and Hugging Face id, as its file spells it."""
    short = sorted(key for key in bundled() if "/" not in key)
    return short + sorted({hub_id(p) for p in bundled().values()})


def hub_id(path: Path) -> str:
    owner, _, repo = path.name.removesuffix("_config.json").partition("--")
    return f"{owner}/{repo}"


def _renamed(name: str) -> str | None:
    """`meta-llama/Llama-3.1-70B` for `meta-llama/Meta-Llama-3.1-70B` and back."""
    table = bundled()
    owner, _, repo = name.rpartition("/")
    for candidate in (f"meta-{repo}", repo.removeprefix("meta-")):
        key = f"{owner}/{candidate}" if owner else candidate
        if key in table:
            return key
    return None


def _find(name: str) -> str | None:
    key = name.strip().lower()
    return key if key in bundled() else _renamed(key)


def resolve(name: str) -> LlmArch | None:
    """The bundled model a name means, or None."""
    key = _find(name)
    if key is not None:
        return _load(key, name)
    base, quant, dropped = _base_of(name.strip().lower())
    if base is None:
        return None
    model = _load(base, name)
    words = f"{name} resolves to {model.name} (its config is not bundled)"
    if quant is not None:
        native = NativePrecision(
            name=quant,
            attention=quant,
            mlp=quant,
            experts=quant,
            kv_cache=info(quant).kv,
            source=f"the repository name {name!r}",
        )
        words += f", with {quant} weights as its name says"
        model = model.model_copy(update={"native": native})
    elif dropped:
        words += f"; {dropped} does not change the architecture"
    return model.model_copy(update={"notes": (*model.notes, words)})


def _base_of(key: str) -> tuple[str | None, str | None, str]:
    """A quantized or instruction-tuned repository's base: (bundled key, quantization,
    what was dropped)."""
    owner, _, repo = key.rpartition("/")
    quant = None
    dropped = []
    for suffix, precision in QUANT_SUFFIXES.items():
        if repo.endswith(f"-{suffix}"):
            repo, quant = repo.removesuffix(f"-{suffix}"), precision
            break
    for suffix in PLAIN_SUFFIXES:
        if repo.endswith(suffix):
            repo = repo.removesuffix(suffix)
            dropped.append(suffix.lstrip("-"))
    if quant is None and not dropped:
        return None, None, ""
    owners = [owner] if owner and owner != "nvidia" else []
    for candidate in [*(f"{o}/{repo}" for o in owners), repo, f"meta-{repo}"]:
        hit = _find(candidate) or _find(_short(candidate))
        if hit is not None:
            return hit, quant, "-".join(dropped)
        for plain in PLAIN_SUFFIXES:  # the bundled file may be the tuned one
            hit = _find(candidate + plain)
            if hit is not None:
                return hit, quant, "-".join(dropped)
    return None, None, ""


def _load(key: str, asked: str) -> LlmArch:
    """A bundled config read, under ids a user can type: the short id, with the Hugging Face
    id as an alias."""
    from llmsize.catalog.hf_config import arch_from_config_file

    path = bundled()[key]
    model = arch_from_config_file(path, "--model", f"data/hf-configs/{path.name}")
    repo = hub_id(path)
    return model.model_copy(
        update={
            "id": _short(repo.partition("/")[2]),
            "name": repo,
            "aliases": tuple(dict.fromkeys((repo, key, asked))),
            "source": f"{repo} config.json (bundled, data/hf-configs)",
        }
    )
