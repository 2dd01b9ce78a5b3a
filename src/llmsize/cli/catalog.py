"""`llmsize catalog gpus|servers|models`: what llmsize knows, with sources."""

from typing import Annotated, Any

import typer

from llmsize.cli._options import Format, FormatOpt, emit

app = typer.Typer(
    help="List catalogued GPUs, servers and models, with their sources.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print a JSON list.")]


def _emit(
    rows: list[dict[str, Any]], columns: list[str], title: str, as_json: bool, fmt: Format
) -> None:
    if as_json or fmt != Format.table:
        from llmsize.report.documents import catalog_document

        emit(catalog_document(title.lower(), rows), as_json, fmt, title)
        return
    from llmsize.report.console import SafeTable, make_console

    table = SafeTable(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=column == "id")
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    make_console().print(table)


@app.command("gpus")
def gpus(as_json: JsonFlag = False, fmt: FormatOpt = Format.table) -> None:
    """GPUs: dense TFLOPS per precision, memory, bandwidth, link."""
    from llmsize.catalog import load_catalog

    rows = [
        {
            "id": g.id,
            "name": g.name,
            "tflops": " ".join(f"{k}:{v:g}" for k, v in g.tflops.items()),
            "memory_gb": g.memory_gb,
            "bandwidth_tb_s": g.bandwidth_tb_s,
            "link": f"{g.link.kind} {g.link.gb_s:g} GB/s",
            "source": g.source,
        }
        for g in load_catalog().gpus.entries
    ]
    _emit(rows, ["id", "tflops", "memory_gb", "bandwidth_tb_s", "link"], "GPUs", as_json, fmt)


@app.command("servers")
def servers(as_json: JsonFlag = False, fmt: FormatOpt = Format.table) -> None:
    """Server types: GPU, GPU count, NVLink domain."""
    from llmsize.catalog import load_catalog

    rows = [
        {
            "id": s.id,
            "name": s.name,
            "gpu": s.gpu,
            "gpus": s.gpus,
            "nvlink_domain": s.nvlink_domain,
            "source": s.source,
        }
        for s in load_catalog().servers.entries
    ]
    _emit(rows, ["id", "gpu", "gpus", "nvlink_domain", "name"], "Servers", as_json, fmt)


@app.command("models")
def models(as_json: JsonFlag = False, fmt: FormatOpt = Format.table) -> None:
    """LLMs: architecture from public config.json files."""
    from llmsize.catalog import load_catalog

    rows = [
        {
            "id": m.id,
            "name": m.name,
            "params_b": round(m.params / 1e9, 1),
            "layers": m.layers,
            "hidden": m.hidden,
            "heads": m.heads,
            "kv_heads": m.kv_heads,
            "ffn": f"{m.ffn} {m.ffn_kind}"
            + (f" x{m.experts} top{m.experts_per_token}" if m.experts > 1 else ""),
            "context_window": m.context_window,
            "source": m.source,
        }
        for m in load_catalog().models.entries
    ]
    _emit(
        rows,
        ["id", "params_b", "layers", "hidden", "heads", "kv_heads", "ffn", "context_window"],
        "Models",
        as_json,
        fmt,
    )
