"""The library facade: plan a use case, derive peaks. Returns result objects; never prints."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from llmsize.search import PlanResult
from llmsize.usecase import UseCase, load_usecase, parse_usecase
from llmsize.workload import peak_from_average, sustainable_average

__all__ = ["load_usecase", "parse_usecase", "peak_from_average", "plan", "sustainable_average"]


def plan(
    usecase: UseCase | Path | str,
    bench: Sequence[Path | str] = (),
    base_dir: Path | None = None,
) -> PlanResult:
    """Size a use case (a parsed UseCase or a YAML path) on measured curves plus the user's own."""
    from llmsize.benchdb.store import load_store
    from llmsize.catalog import load_catalog
    from llmsize.perf.measured import MeasuredCurves
    from llmsize.search import plan as search_plan
    from llmsize.usecase import resolve

    if not isinstance(usecase, UseCase):
        path = Path(usecase)
        base_dir = base_dir or path.parent
        usecase = load_usecase(path)
    catalog = load_catalog()
    resolved = resolve(usecase, catalog, base_dir or Path())
    model = resolved.model
    store = load_store([Path(b) for b in bench], models={model.id, model.name.lower()})
    return search_plan(resolved, catalog, MeasuredCurves(store))
