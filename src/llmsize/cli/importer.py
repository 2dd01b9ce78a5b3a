"""`llmsize import`: other tools' result files as curve rows for plan --bench and calibrate."""

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from llmsize.cli._common import output_path, user_errors
from llmsize.cli._options import ForceOpt, PrecisionChoice


def import_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Result files: AIPerf/GenAI-Perf profile exports, vLLM bench JSON, GuideLLM "
            "benchmarks.json."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Curve CSV to write.")],
    gpu: Annotated[
        str,
        typer.Option(
            "--gpu", help="GPU the measured server ran on (catalog id): the files do not say."
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="The files' tool: aiperf, genai-perf, vllm or guidellm (default: detected).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="The served model: a catalog id, or a path to its config.json (default: the "
            "name in the file).",
        ),
    ] = None,
    tp: Annotated[int, typer.Option("--tp", min=1, max=64, help="GPUs per server instance.")] = 1,
    precision: Annotated[
        PrecisionChoice, typer.Option("--precision", help="Precision served.")
    ] = PrecisionChoice.bf16,
    force: ForceOpt = False,
) -> None:
    """Convert other load generators' results to the curve schema (units and definitions
    reconciled: seconds to ms, ITL without the first token)."""
    from llmsize.benchdb.importers import FORMATS, MeasuredOn, import_file
    from llmsize.benchdb.schema import write_curves
    from llmsize.benchdb.store import row_model
    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.files import write_output

    output_path(out, "--out", force, files)
    with user_errors():
        if fmt is not None and fmt not in FORMATS:
            raise InputError("--from", f"{fmt!r} is not one of {', '.join(FORMATS)}")
        catalog = load_catalog()
        chip = catalog.gpus.get(gpu, "--gpu").id
        canonical = row_model(catalog, model, "--model") if model else None
        rows = []
        for path in files:
            for point in import_file(
                path, MeasuredOn(canonical, chip, tp, precision.name_in_table), fmt
            ):
                found = catalog.models.find(point.model)
                rows.append(
                    replace(point, model=found.id if found else point.model, origin=str(path))
                )
        write_output(out, "".join(write_curves(rows)), force=force, inputs=files, where="--out")
    typer.echo(f"wrote {len(rows)} curve row(s) to {out}")
