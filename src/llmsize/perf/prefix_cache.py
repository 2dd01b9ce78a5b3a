"""Whether an engine's prefix cache serves a use case's shared prefix, and what the answer says
when it does not."""

from __future__ import annotations

from dataclasses import replace

from llmsize.perf.kv_budget import memory_rule
from llmsize.usecase import Resolved


def credit_prefix(resolved: Resolved, engine: str, mode: str) -> Resolved:
    """The use case as this engine serves it: its shared prefix credited only where prompts
    are cached. The static calculator caches nothing; an engine whose prefix cache is off by
    default is credited only for a prefix_cache the use case states (it says it turned it on)."""
    prefix = resolved.prefix
    if prefix is None:
        return resolved
    if mode == "static":
        note = "not credited: the static-batch calculator prefills every prompt whole"
        return replace(resolved, prefix=None, prefix_note=note)
    rule = memory_rule(engine)
    if rule.scheduler.prefix_caching:
        return resolved
    label = rule.label
    if resolved.prefix_given:
        note = f"assumes prefix caching is turned on ({label} leaves it off by default)"
        return replace(resolved, prefix_note=note)
    note = (
        f"not credited: {label} leaves prefix caching off by default "
        "(state prefix_cache to credit it)"
    )
    return replace(resolved, prefix=None, prefix_note=note)
