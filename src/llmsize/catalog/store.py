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


@dataclass(frozen=True, slots=True)
class Catalog:
    gpus: Table[Gpu]
    servers: Table[Server]
    models: Table[LlmArch]

    def gpu_of(self, server: Server) -> Gpu:
        return self.gpus.get(server.gpu, f"servers.{server.id}.gpu")

    def resolve_model(self, name: str, where: str, base_dir: Path | None = None) -> LlmArch:
        """A catalog id or alias, or a path to a Hugging Face config.json."""
        entry = self.models.find(name)
        if entry is not None:
            return entry
        if name.endswith(".json") or "/" in name or "\\" in name:
            path = Path(name)
            if not path.is_absolute() and base_dir is not None and not path.exists():
                path = base_dir / path
            if path.is_file():
                from llmsize.catalog.hf_config import arch_from_config_file

                return arch_from_config_file(path, where)
            if name.endswith(".json"):
                raise InputError(where, f"config file {name!r} does not exist")
        return self.models.get(name, where)


@functools.cache
def load_catalog() -> Catalog:
    """The packaged catalogs, validated on first use and cached for the process."""
    return Catalog(
        gpus=_build(
            "gpu", Gpu, _read_yaml(_packaged("gpus.yaml"), "gpus.yaml"), "gpus", "gpus.yaml"
        ),
        servers=_build(
            "server",
            Server,
            _read_yaml(_packaged("servers.yaml"), "servers.yaml"),
            "servers",
            "servers.yaml",
        ),
        models=_build(
            "model",
            LlmArch,
            _read_yaml(_packaged("models.yaml"), "models.yaml"),
            "models",
            "models.yaml",
        ),
    )


def check_references(catalog: Catalog) -> Sequence[str]:
    """Problems in cross-references between catalogs (a server naming an unknown GPU)."""
    return [
        f"servers.yaml: {s.id}.gpu: unknown gpu {s.gpu!r}"
        for s in catalog.servers.entries
        if catalog.gpus.find(s.gpu) is None
    ]
