"""Regenerate docs/cli.md and docs/usecase.schema.json from the program (run after changing a
command, a flag or the use-case model; tests/test_docs.py fails until you do)."""

from __future__ import annotations

from pathlib import Path

from llmsize.cli.reference import cli_reference, usecase_schema_text

DOCS = Path(__file__).resolve().parent.parent / "docs"


def main() -> None:
    (DOCS / "cli.md").write_text(cli_reference(), encoding="utf-8")
    (DOCS / "usecase.schema.json").write_text(usecase_schema_text(), encoding="utf-8")
    print(f"wrote {DOCS / 'cli.md'} and {DOCS / 'usecase.schema.json'}")


if __name__ == "__main__":
    main()
