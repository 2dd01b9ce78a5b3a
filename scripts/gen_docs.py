"""Regenerate docs/cli.md, docs/usecase.schema.json and docs/glossary.md from the program (run
after changing a command, a flag, a JSON key or the use-case model; tests/test_docs.py fails
until you do)."""

from __future__ import annotations

from pathlib import Path

from llmsize.cli.reference import cli_reference, glossary, usecase_schema_text

DOCS = Path(__file__).resolve().parent.parent / "docs"


def main() -> None:
    (DOCS / "cli.md").write_text(cli_reference(), encoding="utf-8")
    (DOCS / "usecase.schema.json").write_text(usecase_schema_text(), encoding="utf-8")
    (DOCS / "glossary.md").write_text(glossary(DOCS.parent), encoding="utf-8")
    print(f"wrote {DOCS / 'cli.md'}, {DOCS / 'usecase.schema.json'} and {DOCS / 'glossary.md'}")


if __name__ == "__main__":
    main()
