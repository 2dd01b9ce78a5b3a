"""`llmsize catalog gpus|servers|models|apis`: what llmsize knows, with sources."""

from typing import Annotated, Any

import typer

from llmsize.cli._options import Format, FormatOpt, emit

app = typer.Typer(
    help="List catalogued GPUs, servers, models and API prices, with their sources.",
    no_args_is_help=True,
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
        table.add_row(*(_cell(row[c]) for c in columns))
    make_console().print(table)


def _cell(value: Any) -> str:
    """A table cell: no value as a dash, a float without exponent or trailing zeros."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:f}".rstrip("0").rstrip(".")
    return str(value)


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


BundledFlag = Annotated[
    bool,
    typer.Option(
        "--bundled",
        help="List the bundled Hugging Face configs (data/hf-configs) instead: their ids, "
        "parameters and checkpoint precision, or why one is refused.",
    ),
]


def _bundled_rows() -> list[dict[str, Any]]:
    from llmsize.catalog import hf_bundle
    from llmsize.errors import InputError

    rows = []
    for path in sorted(set(hf_bundle.bundled().values())):
        repo = hf_bundle.hub_id(path)
        row: dict[str, Any] = {"id": repo.partition("/")[2].lower(), "name": repo}
        try:
            model = hf_bundle.resolve(repo)
        except InputError as exc:
            row.update(total_params=None, active_params=None, precision=None)
            row["refused"] = exc.message.split(": ", 1)[-1]
        else:
            assert model is not None
            row.update(
                id=model.id,
                total_params=model.total_params,
                active_params=model.active_params,
                precision=model.native.name if model.native else "bf16",
                refused=None,
            )
        rows.append(row)
    return rows


def _shown(key: str, value: Any) -> str:
    if value is None:
        return ""
    return f"{value / 1e9:,.1f} B" if key.endswith("_params") else str(value)


@app.command("models")
def models(
    as_json: JsonFlag = False, fmt: FormatOpt = Format.table, bundled: BundledFlag = False
) -> None:
    """LLMs: architecture from public config.json files."""
    from llmsize.catalog import load_catalog

    if bundled:
        rows = _bundled_rows()
        if not as_json and fmt == Format.table:  # billions, and blanks for what is not there
            rows = [{k: _shown(k, v) for k, v in row.items()} for row in rows]
        columns = ["id", "name", "total_params", "active_params", "precision", "refused"]
        _emit(rows, columns, "Bundled models", as_json, fmt)
        return

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


@app.command("apis")
def apis(as_json: JsonFlag = False, fmt: FormatOpt = Format.table) -> None:
    """API prices the traffic is compared with (cost.api, --api): per 1k tokens, dated."""
    from llmsize.api import api_prices

    rows = [
        {
            "id": p.id,
            "input_per_1k_usd": p.input_per_1k_usd,
            "cached_input_per_1k_usd": p.cached_input_per_1k_usd,
            "output_per_1k_usd": p.output_per_1k_usd,
            "prompt_limit_tokens": p.prompt_limit_tokens,
            "date": p.date,
            "source": p.source,
        }
        for p in api_prices()
    ]
    columns = ["id", "input_per_1k_usd", "cached_input_per_1k_usd", "output_per_1k_usd"]
    _emit(rows, [*columns, "prompt_limit_tokens", "date"], "APIs", as_json, fmt)
