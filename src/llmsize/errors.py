"""Typed errors: each maps to one clear line and an exit code in the CLI."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LlmsizeError(Exception):
    """Base of every error llmsize raises on purpose (never a bug)."""


class InputError(LlmsizeError):
    """Bad input from the user: names the field or flag and what is allowed (exit code 2)."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


class CatalogError(LlmsizeError):
    """A packaged or user catalog is malformed: a bug in data, reported with its file and entry."""


def unknown_name(where: str, kind: str, name: str, known: Iterable[str]) -> InputError:
    """An InputError for an unknown id, with 'did you mean' suggestions from the known ids."""
    known_list = sorted(set(known))
    close = difflib.get_close_matches(
        name.lower(), [k.lower() for k in known_list], n=3, cutoff=0.5
    )
    lowered = {k.lower(): k for k in known_list}
    hint = f"; did you mean {', '.join(repr(lowered[c]) for c in close)}?" if close else ""
    listing = "" if close else f"; known: {', '.join(known_list)}"
    return InputError(where, f"unknown {kind} {name!r}{hint}{listing}")
