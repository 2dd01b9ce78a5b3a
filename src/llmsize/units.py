"""Unit constants and converters used by the sizing method (GTC S62797). No dependencies."""

from __future__ import annotations

import math

WORDS_PER_TOKEN = 0.75
"""English words per token, the talk's rule of thumb (1 token is about 0.75 words)."""

READING_FAST_MS_PER_TOKEN = 90.0
"""A fast human reader consumes one token every 90 ms (GTC S62797)."""

READING_AVERAGE_MS_PER_TOKEN = 200.0
"""An average human reader consumes one token every 200 ms (GTC S62797)."""


def words_to_tokens(words: float) -> int:
    """Tokens for a word count, rounded up: a sizing tool should not undercount load."""
    return math.ceil(words / WORDS_PER_TOKEN - 1e-9)


def text_to_tokens(text: str) -> int:
    """Tokens for a text by the words-per-token rule (whitespace-separated words)."""
    return words_to_tokens(len(text.split()))


def e2e_ms(ttft_ms: float, itl_ms: float, output_tokens: int) -> float:
    """End-to-end latency: the first token, then (out - 1) inter-token gaps."""
    return ttft_ms + max(output_tokens - 1, 0) * itl_ms
