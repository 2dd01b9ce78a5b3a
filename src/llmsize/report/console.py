"""One way to get a rich console: at least 132 columns when output is a file or a pipe, so
tables stay readable in logs and CI instead of wrapping at rich's 80-column default."""

from __future__ import annotations

from rich.console import Console


def make_console() -> Console:
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 132))
    return console
