"""`llmsize model inspect MODEL|config.json`: how llmsize reads a model."""

from typing import Annotated

import typer

from llmsize.cli._common import user_errors
from llmsize.cli._options import Format, FormatOpt, JsonOpt, emit

app = typer.Typer(help="How llmsize reads a model.", no_args_is_help=True)


@app.command("inspect")
def inspect_command(
    model: Annotated[
        str,
        typer.Argument(
            help="A catalog id, a Hugging Face id (bundled configs: deepseek-ai/DeepSeek-R1) or "
            "a path to a config.json.",
            show_default=False,
        ),
    ],
    as_json: JsonOpt = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Total and active parameters, layer kinds, weight bytes per part at each precision, KV or
    state bytes per token, and what was ignored and why."""
    with user_errors():
        from llmsize.catalog import load_catalog
        from llmsize.report.model_report import model_document, model_text

        doc = model_document(load_catalog().resolve_model(model, "MODEL"))
    if as_json or fmt != Format.table:
        emit(doc, as_json, fmt, "model")
        return
    from llmsize.report.console import make_console, safe

    make_console().print(safe(model_text(doc)), end="")
