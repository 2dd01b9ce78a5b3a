"""Warnings the talk teaches: what a sizing answer can hide."""

from __future__ import annotations

from llmsize.catalog import Server
from llmsize.perf.estimate import Estimate
from llmsize.units import READING_AVERAGE_MS_PER_TOKEN, READING_FAST_MS_PER_TOKEN
from llmsize.usecase import Resolved

SYSTEM_PROMPT_SHARE = 0.3
CONTEXT_FULL = 0.9


def itl_warning(estimate: Estimate, streaming: bool) -> str | None:
    itl = estimate.itl_ms
    if not streaming or itl is None:
        return None
    if itl > READING_AVERAGE_MS_PER_TOKEN:
        return (
            f"ITL {itl:.0f} ms is slower than an average reader ({READING_AVERAGE_MS_PER_TOKEN:g} "
            "ms/token): a streaming user will wait on every word"
        )
    if itl > READING_FAST_MS_PER_TOKEN:
        fast = READING_FAST_MS_PER_TOKEN
        return f"ITL {itl:.0f} ms is slower than a fast reader ({fast:g} ms/token)"
    return None


def plan_warnings(
    uc: Resolved, server: Server | None = None, best: Estimate | None = None
) -> list[str]:
    """Warnings about the use case and the recommended configuration (on `server`)."""
    found: list[str] = []
    share = uc.system_prompt_tokens / uc.input_tokens_total if uc.input_tokens_total else 0.0
    cached = uc.prefix is not None and uc.prefix.tokens >= uc.system_prompt_tokens
    if share > SYSTEM_PROMPT_SHARE and not cached:
        why = f" (prefix cache {uc.prefix_note})" if uc.prefix_note else ""
        found.append(
            f"the system prompt is {share:.0%} of the input ({uc.system_prompt_tokens:,} tokens): "
            f"every request pays for it; shorten it or cache its prefix{why}"
        )
    spec = uc.speculation
    if spec is not None and spec.rate_source != "given":
        found.append(
            f"the acceptance rate {spec.acceptance_rate:g} is a published figure for "
            f"{spec.method}, not yours: it depends on the model, the drafter and your prompts; "
            "measure it (vLLM and SGLang log the mean acceptance length) and set "
            "speculative.acceptance_rate"
        )
    used = (uc.input_tokens_total + uc.output_tokens) / uc.model.context_window
    if used > CONTEXT_FULL:
        found.append(
            f"input + output fill {used:.0%} of the {uc.model.context_window:,}-token context "
            "window: longer requests than the average will not fit"
        )
    if server is not None and best is not None:
        e = best
        if e.tp is not None and e.tp > server.nvlink_domain:
            found.append(
                f"TP{e.tp} on {server.id} spans GPUs without NVLink (NVLink domain "
                f"{server.nvlink_domain}): its all-reduces run over PCIe"
            )
        itl = itl_warning(e, uc.first_token_ms is not None)
        if itl:
            found.append(itl)
    return found
