"""Performance answers for one configuration: from measured curves (and, later, a model)."""

from llmsize.perf.estimate import Estimate, Lookup

__all__ = ["Estimate", "Lookup"]
