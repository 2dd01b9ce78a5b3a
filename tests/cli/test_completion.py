"""Shell completion offers commands and catalog ids (Typer's completion protocol, as bash
calls it)."""

from __future__ import annotations

from typer.testing import CliRunner

from llmsize.cli import app


def complete(words: str) -> list[str]:
    parts = words.split(" ")
    result = CliRunner().invoke(
        app,
        [],
        prog_name="llmsize",
        env={
            "_LLMSIZE_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
        },
    )
    return result.stdout.split()


def test_commands_complete() -> None:
    assert "plan" in complete("llmsize pl")
    assert "validate" in complete("llmsize va")


def test_catalog_ids_complete() -> None:
    gpus = complete("llmsize estimate --gpu h1")
    assert "h100-sxm" in gpus and all(g.startswith("h1") for g in gpus)
    assert "dgx-h100" in complete("llmsize capacity --server dgx")
    assert "llama-3.1-405b" in complete("llmsize configs --model llama-3.1")
