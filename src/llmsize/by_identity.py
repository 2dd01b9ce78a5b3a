"""Results remembered per the objects they were worked out from (a model, a GPU), by identity:
catalog entries and config-read models are frozen but not cheaply hashable (a GPU holds a dict),
and a plan asks the same question of the same objects thousands of times."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ByIdentity(Generic[V]):
    """A bounded store of results keyed by the identity of `owners` and plain `extra` values;
    the owners are kept beside each result, so an id reused by a new object never matches."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._found: dict[tuple[Hashable, ...], tuple[tuple[object, ...], V]] = {}

    def get(
        self, owners: tuple[object, ...], extra: tuple[Hashable, ...], compute: Callable[[], V]
    ) -> V:
        key = (*map(id, owners), *extra)
        found = self._found.get(key)
        if found is not None and all(a is b for a, b in zip(found[0], owners, strict=True)):
            return found[1]
        value = compute()
        if len(self._found) >= self._limit:
            self._found.clear()
        self._found[key] = (owners, value)
        return value
