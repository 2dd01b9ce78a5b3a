"""llmsize: how many GPU servers, configured how, serve an LLM use case within its latency limit."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_usecase", "peak_from_average", "plan", "sustainable_average"]


def __getattr__(name: str) -> Any:
    """Expose the library facade lazily: `import llmsize` (and `llmsize --help`) stays instant."""
    if name in {"plan", "load_usecase", "peak_from_average", "sustainable_average"}:
        from llmsize import api

        return getattr(api, name)
    raise AttributeError(f"module 'llmsize' has no attribute {name!r}")
