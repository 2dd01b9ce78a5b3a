"""Typed errors: each maps to one clear line and an exit code in the CLI."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """Text with its control characters shown as escapes (newlines and tabs kept), so a user's
    string can never drive the terminal it is printed to."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def one_line(text: str) -> str:
    """Text for a one-line message: control characters, newlines included, shown as escapes."""
    return printable(text).replace("\r", "\\r").replace("\n", "\\n")


def shown(value: object, width: int = 60) -> str:
    """A user's value quoted for a message: repr, cut to `width` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"


class LlmsizeError(Exception):
    """Base of every error llmsize raises on purpose (never a bug)."""


class InputError(LlmsizeError):
    """Bad input from the user: names the field or flag and what is allowed (exit code 2)."""

    def __init__(self, where: str, message: str) -> None:
        self.where = one_line(where)
        self.message = one_line(message)
        super().__init__(f"{self.where}: {self.message}" if where else self.message)


class CatalogError(LlmsizeError):
    """A packaged or user catalog is malformed: a bug in data, reported with its file and entry."""


def unknown_name(
    where: str, kind: str, name: str, known: Iterable[str], listing: str | None = None
) -> InputError:
    """An InputError for an unknown id, with 'did you mean' suggestions from the known ids;
    with none close, the known ids (or `listing`, where they are too many to list)."""
    known_list = sorted(set(known))
    lowered = {k.lower(): k for k in known_list}
    typed = name.lower()
    longer = [k for k in lowered if len(typed) > 1 and k.startswith(typed) and k != typed]
    longer.sort(key=len)
    similar = difflib.get_close_matches(typed, list(lowered), n=3, cutoff=0.5)
    close = list(dict.fromkeys([*longer, *similar]))[:3]  # what it begins first
    hint = f"; did you mean {', '.join(repr(lowered[c]) for c in close)}?" if close else ""
    if close:
        listing = ""
    elif listing is None:
        listing = f"; known: {', '.join(known_list)}"
    else:
        listing = f"; {listing}"
    return InputError(where, f"unknown {kind} {shown(name)}{hint}{listing}")
