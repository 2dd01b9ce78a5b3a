"""Which user catalog files are in force: the per-user folder's, then those given with
`--catalog`. Kept apart from the catalog itself so the CLI can set them without loading it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

USER_DIR_VARIABLE = "LLMSIZE_CATALOG_DIR"
"""Environment variable naming the per-user catalog folder (default ~/.config/llmsize/catalog)."""

_given: list[Path] = []


def use_catalogs(paths: Sequence[Path | str]) -> None:
    """The `--catalog` files, read after the per-user folder's; later files override earlier ones
    and the packaged catalogs, entry by entry (by id). An empty list clears them."""
    _given[:] = [Path(p) for p in paths]


def user_catalog_dir() -> Path:
    given = os.environ.get(USER_DIR_VARIABLE)
    return Path(given) if given else Path.home() / ".config" / "llmsize" / "catalog"


def user_catalog_files() -> tuple[Path, ...]:
    """The per-user folder's *.yaml and *.yml files (sorted by name), then the `--catalog` files."""
    folder = user_catalog_dir()
    found: list[Path] = []
    if folder.is_dir():
        found = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    return (*found, *_given)
