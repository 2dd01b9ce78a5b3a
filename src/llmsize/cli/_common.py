"""Exit codes and error mapping shared by every command: one clear line, never a traceback."""

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import typer

OK = 0
NO_CONFIG = 1
BAD_INPUT = 2
OVER_MAX_SERVERS = 3


def fail(message: str, code: int = BAD_INPUT) -> typer.Exit:
    """Print one error line to stderr and return the Exit to raise."""
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(code)


def output_path(
    path: Path | None,
    where: str,
    force: bool,
    inputs: Sequence[Path | str] = (),
    *,
    plot: bool = False,
) -> Path | None:
    """Check an output flag before any work: refused with one line (exit 2) if writing it would
    replace a file without --force, overwrite an input, follow a link, or (plots) the extension
    is not a picture format."""
    if path is None:
        return None
    from llmsize.files import PLOT_SUFFIXES, check_output

    with user_errors():
        return check_output(
            path, force=force, inputs=inputs, where=where, suffixes=PLOT_SUFFIXES if plot else ()
        )


@contextmanager
def user_errors() -> Iterator[None]:
    """Map llmsize's own errors to one stderr line and exit code 2."""
    from llmsize.errors import LlmsizeError

    try:
        yield
    except LlmsizeError as exc:
        raise fail(str(exc)) from None
