"""The command reference (docs/cli.md) and the use-case JSON Schema, generated from the program
itself so the documentation cannot drift: a test compares the committed files with these."""

import json
from pathlib import Path
from typing import Any

WIDTH = 100


def _help(args: list[str]) -> str:
    from typer.testing import CliRunner

    from llmsize.cli import app

    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": str(WIDTH)}, color=False)
    return result.stdout.rstrip("\n")


def _command_paths() -> list[list[str]]:
    """Every command as argv words, in registration order (groups expanded)."""
    from llmsize.cli import app

    paths: list[list[str]] = [[]]
    for command in app.registered_commands:
        if command.name and not command.hidden:
            paths.append([command.name])
    for group in app.registered_groups:
        if group.name and group.typer_instance is not None:
            paths.append([group.name])
            paths += [
                [group.name, c.name]
                for c in group.typer_instance.registered_commands
                if c.name and not c.hidden
            ]
    return paths


def cli_reference() -> str:
    """Every command's --help, in order, as Markdown."""
    lines = [
        "# Command reference",
        "",
        "Generated from the CLI's own help by `python scripts/gen_docs.py`; a test fails when this",
        "file and the program differ.",
        "",
    ]
    for path in _command_paths():
        lines += [f"## `{' '.join(['llmsize', *path])}`", "", "```text", _help(path), "```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def usecase_schema() -> dict[str, Any]:
    """JSON Schema of the use-case checklist, for editors' YAML validation."""
    from llmsize.usecase import UseCase

    schema = UseCase.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "llmsize use case"
    return schema


def usecase_schema_text() -> str:
    return json.dumps(usecase_schema(), indent=2, sort_keys=True) + "\n"


def _samples(root: Path, scratch: Path) -> list[list[str]]:
    """Commands whose JSON documents the glossary reads: every document type, on shipped
    examples and the test suite's saved bench run (small, so generation stays quick)."""
    nemo = str(root / "examples" / "usecases" / "seed-nemo-43b.yaml")
    pools = str(root / "examples" / "usecases" / "deepseek-r1-disaggregated-gb200.yaml")
    curves = (root / "src" / "llmsize" / "data" / "curves.csv").read_text().splitlines()
    subset = scratch / "subset.csv"
    rows = [r for r in curves if r.startswith("llama-3-8b,h100-sxm") and "DLI_NIM" in r][:40]
    subset.write_text("\n".join([curves[0], *rows]) + "\n")
    silicon = scratch / "silicon.csv"
    silicon.write_text(_silicon_subset())
    question = ["--model", "llama-3-8b", "--input-tokens", "1000", "--output-tokens", "100"]
    return [
        ["plan", nemo, "--method", "simulate"],
        ["estimate", *question, "--gpu", "h100-sxm", "--tp", "1", "--batch", "8"],
        ["configs", *question, "--gpu", "h100-sxm"],
        ["configs", *question, "--gpu", "h100-sxm", "--disaggregated", "--first-token-ms", "500"],
        ["capacity", *question, "--server", "dgx-h100"],
        ["simulate", nemo, "--requests", "300"],
        ["simulate", pools, "--disaggregated", "--requests", "300"],
        ["peak", "--avg", "5"],
        ["peak", "--capacity", "5"],
        ["catalog", "gpus"],
        ["catalog", "servers"],
        ["catalog", "models"],
        ["catalog", "models", "--bundled"],
        ["catalog", "apis"],
        ["model", "inspect", "openai/gpt-oss-120b"],
        ["show", str(root / "tests" / "data" / "llmsize_bench" / "results.jsonl")],
        ["validate", nemo],
        ["calibrate", str(subset), "--out", str(scratch / "p.yaml"), "--force"],
        ["accuracy", "--data", str(subset), "--folds", "2"],
        ["accuracy", "--data", str(silicon)],
    ]


def _silicon_subset() -> str:
    """Two small aggregated families of the bundled silicon runs and a few disaggregated runs,
    some without worker counts: every key of accuracy's silicon document, quickly."""
    import csv
    import io

    from llmsize.benchdb.silicon import bundled_text

    text = bundled_text()
    header, *lines = text.splitlines()
    rows = csv.DictReader(io.StringIO(text))
    families = {
        ("vllm", "h100_sxm", "Qwen/Qwen3-32B"),
        ("vllm", "b300_sxm", "moonshotai/Kimi-K2.5"),
    }
    kept = [
        line
        for line, row in zip(lines, rows, strict=True)
        if (row["mode"] == "agg" and (row["backend"], row["system"], row["model_path"]) in families)
        or (row["mode"] == "disagg" and row["backend"] == "vllm")
        or (row["mode"] == "disagg" and row["system"] == "h100_sxm" and row["backend"] == "sglang")
    ]
    return "\n".join([header, *kept]) + "\n"


def _keys(value: Any, found: set[str]) -> None:
    from llmsize.report.glossary import DATA_KEYED

    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            if key in DATA_KEYED and isinstance(item, dict):
                for inner in item.values():
                    _keys(inner, found)
            else:
                _keys(item, found)
    elif isinstance(value, list):
        for item in value:
            _keys(item, found)


def document_keys(root: Path) -> dict[str, list[str]]:
    """Every key of every sample document, and the commands whose documents carry it."""
    import tempfile

    from typer.testing import CliRunner

    from llmsize.cli import app

    keys: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for args in _samples(root, Path(scratch)):
            result = CliRunner().invoke(app, [*args, "--json"])
            if result.exit_code not in (0, 1):
                raise RuntimeError(f"llmsize {' '.join(args)} failed: {result.output}")
            found: set[str] = set()
            _keys(json.loads(result.stdout), found)
            command = " ".join(args[:2]) if args[0] in ("catalog", "peak", "model") else args[0]
            for key in found:
                keys.setdefault(key, [])
                if command not in keys[key]:
                    keys[key].append(command)
    return dict(sorted(keys.items()))


def _flags() -> dict[str, tuple[str, list[str]]]:
    """Every flag: its help (where commands differ, the first) and the commands that take it."""
    import typer.main

    from llmsize.cli import app

    root = typer.main.get_command(app)
    flags: dict[str, tuple[str, list[str]]] = {}

    def visit(command: Any, path: str) -> None:
        for param in command.params:
            for name in getattr(param, "opts", []):
                if not name.startswith("--") or name in ("--help",):
                    continue
                help_text = " ".join((getattr(param, "help", None) or "").split())
                entry = flags.setdefault(name, (help_text, []))
                entry[1].append(path or "llmsize")
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            visit(sub, f"{path} {name}".strip())

    visit(root, "")
    return dict(sorted(flags.items()))


def glossary(root: Path) -> str:
    """docs/glossary.md: every JSON key with its meaning and documents, every flag with its
    commands."""
    from llmsize.report.glossary import KEYS

    keys = document_keys(root)
    undescribed = sorted(set(keys) - set(KEYS))
    if undescribed:
        raise RuntimeError(f"describe these keys in report/glossary.py: {undescribed}")
    lines = [
        "# Glossary",
        "",
        "Generated by `python scripts/gen_docs.py` from the documents the commands print and from",
        "the CLI's flags; a test fails when this file and the program differ, or when a document",
        "carries a key `report/glossary.py` does not describe. One name means one quantity in",
        "every command.",
        "",
        "## JSON keys",
        "",
        "| key | meaning | in the documents of |",
        "|---|---|---|",
    ]
    lines += [f"| `{k}` | {KEYS[k]} | {', '.join(v)} |" for k, v in keys.items()]
    lines += ["", "## Flags", "", "| flag | meaning | commands |", "|---|---|---|"]
    for flag, (text, commands) in _flags().items():
        lines.append(f"| `{flag}` | {text.replace('|', '/')} | {', '.join(commands)} |")
    return "\n".join(lines) + "\n"
