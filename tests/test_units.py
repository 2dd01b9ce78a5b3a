from __future__ import annotations

from llmsize.units import e2e_ms, text_to_tokens, words_to_tokens


def test_words_to_tokens_uses_three_quarters_of_a_word_per_token() -> None:
    # GTC S62797: 1 token is about 0.75 English words, so 2,625 words are 3,500 tokens.
    assert words_to_tokens(2625) == 3500
    assert words_to_tokens(1) == 2  # rounds up: never undercount load


def test_text_to_tokens_counts_words() -> None:
    assert text_to_tokens("one two three") == 4


def test_e2e_is_first_token_then_gaps() -> None:
    assert e2e_ms(258.3, 14.8, 512) == 258.3 + 511 * 14.8
    assert e2e_ms(100.0, 10.0, 1) == 100.0
