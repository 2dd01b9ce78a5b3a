"""One way to get a rich console and a table, both safe for strings that came from users.

At least 132 columns when output is a file or a pipe, so tables stay readable in logs and CI
instead of wrapping at rich's 80-column default. Text from users (names, paths, ids from their
catalogs and config files, citations from their CSVs) never reaches the terminal as markup or
as control characters: table cells are plain text, and `safe()` escapes a value put into a line.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from llmsize.errors import printable


def safe(value: object) -> str:
    """A user's string for a markup line: control characters shown, markup escaped."""
    return escape(printable(str(value)))


class SafeConsole(Console):
    """A console that never prints a raw control character (an escape sequence in a user's
    string would otherwise drive the terminal)."""

    def print(self, *objects: Any, **options: Any) -> None:
        cleaned = [printable(o) if isinstance(o, str) else o for o in objects]
        super().print(*cleaned, **options)


class SafeTable(Table):
    """A table whose string cells are plain text, never markup."""

    def add_row(self, *renderables: Any, **options: Any) -> None:
        cells = [Text(printable(r)) if isinstance(r, str) else r for r in renderables]
        super().add_row(*cells, **options)


def make_console() -> Console:
    console = SafeConsole()
    if not console.is_terminal:
        console = SafeConsole(width=max(console.width, 132))
    return console
