"""Exit codes and error mapping shared by every command: one clear line, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

OK = 0
NO_CONFIG = 1
BAD_INPUT = 2
OVER_MAX_SERVERS = 3


def fail(message: str, code: int = BAD_INPUT) -> typer.Exit:
    """Print one error line to stderr and return the Exit to raise."""
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Map llmsize's own errors to one stderr line and exit code 2."""
    from llmsize.errors import LlmsizeError

    try:
        yield
    except LlmsizeError as exc:
        raise fail(str(exc)) from None
