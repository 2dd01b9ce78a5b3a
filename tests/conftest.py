"""Shared fixtures: paths to shipped examples and a writer for use-case files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "usecases"

LLAMA_3_8B_CONFIG: dict[str, Any] = {
    "model_type": "llama",
    "num_hidden_layers": 32,
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "intermediate_size": 14336,
    "vocab_size": 128256,
    "max_position_embeddings": 8192,
}
"""The architecture fields of meta-llama/Meta-Llama-3-8B's config.json, for reader tests."""


@pytest.fixture
def write_usecase(tmp_path: Path) -> Callable[..., Path]:
    """Write a use case (the NeMo 43B example, with overrides) to a temporary YAML file."""

    def write(overrides: dict[str, Any] | None = None, *, raw: str | None = None) -> Path:
        path = tmp_path / "usecase.yaml"
        if raw is not None:
            path.write_text(raw, encoding="utf-8")
            return path
        data: dict[str, Any] = yaml.safe_load((EXAMPLES / "seed-nemo-43b.yaml").read_text())
        for key, value in (overrides or {}).items():
            target = data
            parts = key.split(".")
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            if value is None:
                target.pop(parts[-1], None)
            else:
                target[parts[-1]] = value
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return write
