"""The `llmsize` command: a thin Typer layer that parses, calls the library, renders."""

import difflib
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from llmsize.cli import (
    bench,
    calibrate,
    capacity,
    catalog,
    configs,
    estimate,
    importer,
    init,
    model,
    peak,
    plan,
    schema,
    show,
    simulate,
    validate,
)
from llmsize.cli._common import user_errors

_NOT_A_CHOICE = re.compile(r"(?P<value>'[^']*') is not one of (?P<choices>'.*')\.$")


def usage_message(message: str) -> str:
    """Typer's message for a bad flag value, without the "Value error, " its validation puts
    before the reason, and with "did you mean" where a choice is close to what was typed."""
    message = message.replace("Value error, ", "")
    found = _NOT_A_CHOICE.search(message)
    if found is None:
        return message
    typed = found["value"].strip("'")
    choices = [c.strip(" '") for c in found["choices"].split(",")]
    close = difflib.get_close_matches(typed.lower(), choices, n=2, cutoff=0.5)
    if not close:
        return message
    return f"{message[: found.end('choices')]}; did you mean {' or '.join(map(repr, close))}?"


SAME_IDEA = {
    "--gpu": ("--server",),
    "--gpus": ("--gpu", "--server"),
    "--server": ("--gpu",),
    "--servers": ("--server",),
    "--rps": ("--rate", "--avg"),
    "--qps": ("--rate", "--avg"),
    "--batch": ("--concurrency", "--max-batch"),
    "--concurrency": ("--batch",),
    "--input": ("--input-tokens",),
    "--output": ("--output-tokens", "--out"),
}
"""Flags a user brings from another command or tool, and this command's flag for that idea."""


def unknown_option_message(typed: str, command: Any, root: Any) -> str:
    """An unknown flag named with this command's closest flags (prefix, same idea, spelling),
    or with the commands that do take it: `plan --tp` points at estimate, configs, simulate."""
    own = sorted({o for p in command.params for o in p.opts if o.startswith("--")})
    close = [o for o in own if o.startswith(typed) and typed != "--"]
    close += [o for o in SAME_IDEA.get(typed, ()) if o in own]
    close += difflib.get_close_matches(typed, own, n=2, cutoff=0.75)
    close = list(dict.fromkeys(close))[:3]
    message = f"no such option {typed}"
    if close:
        return f"{message}; did you mean {' or '.join(close)}?"
    commands = getattr(root, "commands", {})
    elsewhere = [
        name
        for name, other in commands.items()
        if any(typed in p.opts for p in other.params) and other is not command
    ]
    if elsewhere:
        return f"{message}; it is an option of llmsize {', '.join(elsewhere)}"
    return f"{message} (see --help)"


class OneLineErrors(TyperGroup):
    """Usage errors as one line on stderr with exit code 2, instead of a multi-line panel."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )
        except typer.TyperException as exc:
            # Typer's (vendored click) usage errors: bad flag values, unknown options, missing args.
            if type(exc).__name__ == "NoArgsIsHelpError":
                sys.stdout.write(exc.format_message() + "\n")
                code = 0
            else:
                ctx = getattr(exc, "ctx", None)
                command = ctx.command_path if ctx is not None else "llmsize"
                message = usage_message(" ".join(exc.format_message().split()))
                typed = getattr(exc, "option_name", None)
                if type(exc).__name__ == "NoSuchOption" and ctx is not None and typed:
                    message = unknown_option_message(typed, ctx.command, self)
                sys.stderr.write(f"error: {command}: {message}\n")
                code = int(getattr(exc, "exit_code", 2))
        except typer.Abort:
            sys.stderr.write("aborted\n")
            code = 130
        else:
            code = result if isinstance(result, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)


app = typer.Typer(
    name="llmsize",
    cls=OneLineErrors,
    help="How many GPU servers, configured how, serve an LLM use case within its latency limit "
    "at its peak load.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("init")(init.init_command)
app.command("plan")(plan.plan_command)
app.command("estimate")(estimate.estimate_command)
app.command("configs")(configs.configs_command)
app.command("simulate")(simulate.simulate_command)
app.command("capacity")(capacity.capacity_command)
app.command("peak")(peak.peak_command)
app.command("bench")(bench.bench_command)
app.command("show")(show.show_command)
app.command("validate")(validate.validate_command)
app.command("schema")(schema.schema_command)
app.command("serve-mock")(bench.serve_mock_command)
app.command("import")(importer.import_command)
app.command("calibrate")(calibrate.calibrate_command)
app.command("accuracy")(calibrate.accuracy_command)
app.add_typer(catalog.app, name="catalog")
app.add_typer(model.app, name="model")


def _print_version(value: bool) -> None:
    if value:
        from llmsize import __version__

        typer.echo(f"llmsize {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_version,
        help="Print the version and exit.",
    ),
    catalog: list[Path] | None = typer.Option(
        None,
        "--catalog",
        help="A catalog YAML of your own GPUs, servers or models, in the packaged schema "
        "(repeatable; later files override earlier ones and the packaged entries by id). Files "
        "in $LLMSIZE_CATALOG_DIR (default ~/.config/llmsize/catalog) are read first.",
    ),
) -> None:
    """Size LLM inference deployments from a use-case checklist."""
    from llmsize.user_catalogs import use_catalogs, user_catalog_files

    use_catalogs(catalog or [])
    if user_catalog_files():
        from llmsize.catalog import load_catalog
        from llmsize.perf.calibration import load_calibration

        with user_errors():  # every user file is checked before the command runs
            load_catalog()
            load_calibration(None)


def main() -> None:
    app()
