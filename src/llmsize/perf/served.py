"""The use case as an engine serves it: whether its prefix cache serves the shared prefix and
whether speculative decoding applies, and what the answer says where not."""

from __future__ import annotations

from dataclasses import replace

from llmsize.perf.kv_budget import memory_rule
from llmsize.usecase import Resolved


def as_served(resolved: Resolved, engine: str, mode: str) -> Resolved:
    """The use case as this engine serves it: its shared prefix credited only where prompts
    are cached, speculative decoding only with continuous batching. The static calculator
    caches nothing and decodes a token a step; an engine whose prefix cache is off by default
    is credited only for a prefix_cache the use case states (it says it turned it on)."""
    if resolved.speculation is not None and mode == "static":
        note = "not credited: the static-batch calculator decodes a token a step"
        resolved = replace(resolved, speculation=None, speculation_note=note)
    if resolved.history_tokens and not _caches(resolved, engine, mode):
        resolved = replace(resolved, history_tokens=0.0)
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


def _caches(resolved: Resolved, engine: str, mode: str) -> bool:
    """Whether a session's earlier turns are served from the prefix cache: continuous batching
    on an engine that caches prefixes (or one the use case says it turned caching on for)."""
    if mode == "static":
        return False
    return memory_rule(engine).scheduler.prefix_caching or resolved.prefix_given
