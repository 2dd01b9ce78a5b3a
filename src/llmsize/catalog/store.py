"""Packaged catalogs read through importlib.resources, validated once, looked up by id or alias."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import ValidationError

from llmsize.catalog.schema import Gpu, LlmArch, Server, _Entry
from llmsize.errors import CatalogError, InputError, unknown_name

E = TypeVar("E", bound=_Entry)


def _normal(name: str) -> str:
    return name.strip().lower()


@dataclass(frozen=True, slots=True)
class Table(Generic[E]):
    """One catalog: entries in file order plus an index of ids and aliases (case-insensitive)."""

    kind: str
    entries: tuple[E, ...]
    index: dict[str, E]

    def get(self, name: str, where: str) -> E:
        """The entry for an id or alias, or an InputError naming `where` with close matches."""
        entry = self.index.get(_normal(name))
        if entry is None:
            raise unknown_name(where, self.kind, name, (e.id for e in self.entries))
        return entry

    def find(self, name: str) -> E | None:
        return self.index.get(_normal(name))

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.entries]


def _read_yaml(text: str, origin: str) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{origin}: not valid YAML: {exc}") from exc


def _build(kind: str, cls: type[E], raw: Any, key: str, origin: str) -> Table[E]:
    if not isinstance(raw, dict) or not isinstance(raw.get(key), list):
        raise CatalogError(f"{origin}: expected a top-level list '{key}'")
    entries: list[E] = []
    index: dict[str, E] = {}
    for i, item in enumerate(raw[key]):
        try:
            entry = cls.model_validate(item)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise CatalogError(f"{origin}: {key}[{i}].{loc}: {err['msg']}") from exc
        for name in (entry.id, *entry.aliases):
            other = index.get(_normal(name))
            if other is not None and other.id != entry.id:
                raise CatalogError(f"{origin}: {name!r} names both {other.id} and {entry.id}")
            index[_normal(name)] = entry
        entries.append(entry)
    return Table(kind, tuple(entries), index)


def _packaged(filename: str) -> str:
    return resources.files("llmsize.data").joinpath(filename).read_text(encoding="utf-8")


KINDS: tuple[tuple[str, str, type[_Entry]], ...] = (
    ("gpus", "gpu", Gpu),
    ("servers", "server", Server),
    ("models", "model", LlmArch),
)
"""The catalogs: the top-level key of their YAML, the name of one entry, its schema."""


def names_a_file(name: str) -> bool:
    """Whether a model name is a path (a config.json) or a Hugging Face id, as `resolve_model`
    reads them, rather than a catalog id: such names are kept as written, not lower-cased."""
    return name.endswith(".json") or "/" in name or "\\" in name


@dataclass(frozen=True, slots=True)
class Catalog:
    gpus: Table[Gpu]
    servers: Table[Server]
    models: Table[LlmArch]
    sources: tuple[str, ...] = ("packaged",)  # the files it was built from, packaged first

    def gpu_of(self, server: Server) -> Gpu:
        return self.gpus.get(server.gpu, f"servers.{server.id}.gpu")

    def resolve_model(self, name: str, where: str, base_dir: Path | None = None) -> LlmArch:
        """A catalog id or alias, or a path to a Hugging Face config.json."""
        entry = self.models.find(name)
        if entry is not None:
            return entry
        if names_a_file(name):
            path = Path(name)
            if not path.is_absolute() and base_dir is not None and not path.exists():
                path = base_dir / path
            if path.is_file():
                from llmsize.catalog.hf_config import arch_from_config_file

                return arch_from_config_file(path, where)
            if name.endswith(".json"):
                raise InputError(where, f"config file {name!r} does not exist")
        from llmsize.catalog import hf_bundle

        found = hf_bundle.resolve(name)
        if found is not None:
            return found
        raise unknown_name(
            where,
            "model",
            name,
            [*self.models.ids, *hf_bundle.names()],
            listing=f"not a catalog id ({', '.join(self.models.ids)}), a bundled Hugging Face "
            "config (llmsize catalog models --bundled) or a path to a config.json",
        )


ENGINE_SECTIONS = ("engines", "groups")
"""Sections of a user catalog in data/calibration.yaml's schema: engine profiles (shared
parameters per engine) and their fitted groups (per engine, GPU and precision class)."""


def _version(path: Path) -> tuple[Path, int, int]:
    """A file and its modification time and size: a cache key that an edit invalidates."""
    try:
        info = path.stat()
    except OSError:
        return path, 0, -1
    return path, info.st_mtime_ns, info.st_size


def read_user_catalog(path: Path) -> dict[str, Any]:
    """A user catalog file's sections (read again only when the file changes)."""
    return _read_user_catalog(*_version(path))


@functools.cache
def _read_user_catalog(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    from llmsize.files import read_yaml

    data = read_yaml(path, "catalog")
    if not isinstance(data, dict) or not data:
        raise InputError(
            str(path), "a catalog file is a mapping with gpus:, servers:, models: or engines:"
        )
    allowed = [key for key, _, _ in KINDS] + list(ENGINE_SECTIONS)
    for key, items in data.items():
        if key not in allowed:
            raise unknown_name(str(path), "catalog section", str(key), allowed)
        if key != "engines" and not isinstance(items, list):
            raise InputError(f"{path}: {key}", "expected a list of entries")
    return data


def _user_entries(path: Path) -> dict[str, list[Any]]:
    """A user catalog file's GPUs, servers and models, in the packaged schema."""
    data = read_user_catalog(path)
    return {key: list(items) for key, items in data.items() if key not in ENGINE_SECTIONS}


def _validated(cls: type[E], item: Any, where: str) -> E:
    try:
        return cls.model_validate(item)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{where}.{loc}" if loc else where, err["msg"]) from None


def _merge(table: Table[E], cls: type[E], items: list[Any], origin: str) -> Table[E]:
    """Entries of a user file added to a table; an entry with a known id replaces it."""
    entries = {e.id: e for e in table.entries}
    for i, item in enumerate(items):
        entry = _validated(cls, item, f"{origin}: {table.kind}s[{i}]")
        entries[entry.id] = entry
    index: dict[str, E] = {}
    for entry in entries.values():
        for name in (entry.id, *entry.aliases):
            other = index.get(_normal(name))
            if other is not None and other.id != entry.id:
                raise InputError(origin, f"{name!r} names both {other.id} and {entry.id}")
            index[_normal(name)] = entry
    return Table(table.kind, tuple(entries.values()), index)


@functools.cache
def _packaged_catalog() -> Catalog:
    tables = [
        _build(kind, cls, _read_yaml(_packaged(f"{key}.yaml"), f"{key}.yaml"), key, f"{key}.yaml")
        for key, kind, cls in KINDS
    ]
    return Catalog(*tables)  # type: ignore[arg-type]


def load_catalog() -> Catalog:
    """The packaged catalogs, then the per-user folder's files and the `--catalog` files
    (llmsize/user_catalogs.py), each validated like the packaged ones."""
    from llmsize.user_catalogs import user_catalog_files

    return _catalog(tuple(_version(p) for p in user_catalog_files()))


@functools.cache
def _catalog(versions: tuple[tuple[Path, int, int], ...]) -> Catalog:
    """Cached per set of user files (and their versions): asked for many times per command."""
    files = [path for path, _, _ in versions]
    catalog = _packaged_catalog()
    if not files:
        return catalog
    tables: dict[str, Any] = {
        "gpus": catalog.gpus,
        "servers": catalog.servers,
        "models": catalog.models,
    }
    for path in files:
        for key, items in _user_entries(path).items():
            cls = next(c for k, _, c in KINDS if k == key)
            tables[key] = _merge(tables[key], cls, items, str(path))
    merged = Catalog(
        tables["gpus"], tables["servers"], tables["models"], ("packaged", *map(str, files))
    )
    problems = check_references(merged)
    if problems:
        raise InputError(str(files[-1]), problems[0])
    return merged


def check_references(catalog: Catalog) -> Sequence[str]:
    """Problems in cross-references between catalogs (a server naming an unknown GPU)."""
    return [
        f"servers.yaml: {s.id}.gpu: unknown gpu {s.gpu!r}"
        for s in catalog.servers.entries
        if catalog.gpus.find(s.gpu) is None
    ]
