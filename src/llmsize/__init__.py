"""llmsize: how many GPU servers, configured how, serve an LLM use case within its latency limit.

The library's questions are importable from here (`llmsize.plan`, `llmsize.estimate`,
`llmsize.configs`, `llmsize.capacity`, `llmsize.simulate`, `llmsize.calibrate`, ...). They load
on first use, so `import llmsize` (and `llmsize --help`) stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "PerfOptions",
    "__version__",
    "accuracy",
    "bench",
    "calibrate",
    "capacity",
    "configs",
    "estimate",
    "load_usecase",
    "parse_usecase",
    "peak_from_average",
    "plan",
    "show",
    "simulate",
    "sustainable_average",
    "validate",
]

_FACADE = frozenset(__all__) - {"__version__"}

if TYPE_CHECKING:
    from llmsize.api import (
        PerfOptions,
        accuracy,
        bench,
        calibrate,
        capacity,
        configs,
        estimate,
        load_usecase,
        parse_usecase,
        peak_from_average,
        plan,
        show,
        simulate,
        sustainable_average,
        validate,
    )


def __getattr__(name: str) -> Any:
    """Expose the library facade lazily."""
    if name in _FACADE:
        from llmsize import api

        return getattr(api, name)
    raise AttributeError(f"module 'llmsize' has no attribute {name!r}")
