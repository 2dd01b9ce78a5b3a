"""Curve points grouped by configuration; a user's rows replace bundled rows of the same group."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from llmsize.benchdb.schema import CurvePoint, parse_curves, read_curve_file
from llmsize.catalog import Catalog, load_catalog
from llmsize.catalog.store import names_a_file
from llmsize.errors import CatalogError, InputError

GroupKey = tuple[str, str, str, int | None, str, float | None]
"""(model, gpu, precision, tp, load_type, load_value): one measured curve over lengths."""


def group_key(point: CurvePoint) -> GroupKey:
    return (point.model, point.gpu, point.precision, point.tp, point.load_type, point.load_value)


@dataclass(frozen=True, slots=True)
class CurveStore:
    """Measured points indexed by (model, gpu) and then by configuration group."""

    groups: dict[tuple[str, str], dict[GroupKey, tuple[CurvePoint, ...]]]

    @classmethod
    def from_points(cls, points: Iterable[CurvePoint]) -> CurveStore:
        by_pair: dict[tuple[str, str], dict[GroupKey, list[CurvePoint]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for point in points:
            by_pair[(point.model, point.gpu)][group_key(point)].append(point)
        return cls(
            {pair: {k: tuple(v) for k, v in groups.items()} for pair, groups in by_pair.items()}
        )

    def overlay(self, user_points: Sequence[CurvePoint]) -> CurveStore:
        """A store where every group the user measured replaces the bundled group of that key."""
        if not user_points:
            return self
        user = CurveStore.from_points(user_points)
        merged = {pair: dict(groups) for pair, groups in self.groups.items()}
        for pair, groups in user.groups.items():
            merged.setdefault(pair, {}).update(groups)
        return CurveStore(merged)

    def curves(self, model: str, gpu: str) -> dict[GroupKey, tuple[CurvePoint, ...]]:
        return self.groups.get((model, gpu), {})

    @property
    def size(self) -> int:
        return sum(len(p) for groups in self.groups.values() for p in groups.values())


def canonicalizer(catalog: Catalog) -> CurvePointMapper:
    return CurvePointMapper(catalog)


@dataclass(frozen=True, slots=True)
class CurvePointMapper:
    """Maps a row's model and gpu labels to catalog ids; unknown GPUs are an input error."""

    catalog: Catalog

    def __call__(self, point: CurvePoint, where: str) -> CurvePoint:
        gpu = self.catalog.gpus.get(point.gpu, f"{where}: gpu")
        model = self.catalog.models.find(point.model)
        model_id = model.id if model else _unknown_model(point.model)
        if gpu.id == point.gpu and model_id == point.model:
            return point
        return replace(
            point,
            gpu=gpu.id,
            model=model_id,
            raw_gpu=point.raw_gpu or point.gpu,
            raw_model=point.raw_model or point.model,
        )


def row_model(catalog: Catalog, model: str, where: str) -> str:
    """What curve rows call a model a user named: its catalog id, or the absolute path of its
    config.json (which calibrate and estimate read), never a name they would skip; anything
    else is refused."""
    entry = catalog.models.find(model)
    if entry is not None:
        return entry.id
    catalog.resolve_model(model, where)  # refuses what is neither a model nor a file
    path = Path(model)
    return str(path.resolve()) if path.is_file() else model  # a bundled Hugging Face id


def _unknown_model(name: str) -> str:
    """A row's model the catalog does not name: a config.json path or Hugging Face id kept as
    written (read later with the catalog's resolve_model), any other name in lower case."""
    return name if names_a_file(name) else name.lower()


@functools.cache
def _bundled_text() -> str:
    return resources.files("llmsize.data").joinpath("curves.csv").read_text(encoding="utf-8")


@functools.cache
def bundled_store(models: frozenset[str] | None = None) -> CurveStore:
    """The published measurements shipped with llmsize (data/curves.csv, see data/CURVES.md),
    all of them or only those of some catalog model ids (a plan needs one model's rows)."""
    try:
        points = parse_curves(_bundled_text(), "curves.csv", models=models)
    except InputError as exc:
        raise CatalogError(f"packaged {exc}") from exc
    return CurveStore.from_points(points)


def load_store(
    user_files: Sequence[Path] = (),
    models: Iterable[str] | None = None,
    statistic: str = "mean",
) -> CurveStore:
    """Bundled curves overlaid with the user's own measurement files (theirs win), of those the
    rows of `statistic` where they carry it (pick_statistic)."""
    mapper = CurvePointMapper(load_catalog())
    user_points = pick_statistic(
        [p for path in user_files for p in read_curve_file(path, mapper)], statistic
    )
    wanted = None if models is None else frozenset(models)
    return bundled_store(wanted).overlay(user_points)


def pick_statistic(points: Sequence[CurvePoint], statistic: str) -> list[CurvePoint]:
    """One statistic per measured configuration: the rows of `statistic` (a percentile such as
    'p95', or 'mean') where a configuration has them, else its means (metrics.row_statistic),
    else what it has. `bench` writes a row per statistic; a limit at p95 is then checked against
    the p95 row, a file of means only with its means (each citation names its rows' statistic)."""
    from llmsize.metrics import row_statistic

    by_config: dict[tuple[object, ...], list[CurvePoint]] = defaultdict(list)
    for p in points:
        by_config[(*group_key(p), p.input_tokens, p.output_tokens, p.origin)].append(p)
    chosen: list[CurvePoint] = []
    for rows in by_config.values():
        exact = [p for p in rows if row_statistic(p.latency_stat) == statistic]
        means = [p for p in rows if row_statistic(p.latency_stat) == "mean"]
        chosen += exact or means or rows
    return chosen
