"""`llmsize init`: the talk's sizing checklist, asked in the terminal (or given as flags), written
as a commented use-case YAML that `plan` accepts."""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from llmsize.cli import _complete as complete
from llmsize.cli import _options as opts
from llmsize.cli._common import fail, output_path

T = TypeVar("T")
MODES = ("streaming", "sequential", "batch")


def _ask(
    flag: str, given: str | None, question: str, default: str, parse: Callable[[str], T], yes: bool
) -> T:
    """A flag's value, or the default with --yes, or the answer to a prompt; a wrong answer is
    explained in one line and asked again (a wrong flag is exit 2)."""
    from llmsize.errors import LlmsizeError

    if given is not None or yes:
        try:
            return parse(given if given is not None else default)
        except LlmsizeError as exc:
            raise fail(f"{flag}: {exc}") from None
    while True:
        answer = str(typer.prompt(question, default=default))
        try:
            return parse(answer)
        except LlmsizeError as exc:
            typer.echo(f"  ! {exc} — try again", err=False)


def init_command(
    file: Annotated[Path, typer.Argument(help="Where to write the use case.")] = Path(
        "usecase.yaml"
    ),
    model: Annotated[
        str | None,
        typer.Option("--model", help="Catalog id or config.json.", autocompletion=complete.models),
    ] = None,
    system_prompt: Annotated[
        str | None,
        typer.Option("--system-prompt", help="Its length ('200', '150 words') or its text."),
    ] = None,
    input_length: Annotated[
        str | None,
        typer.Option("--input-tokens", help="Average user input: '500' tokens or '300 words'."),
    ] = None,
    rag: Annotated[
        str | None, typer.Option("--rag", help="RAG documents added per request (tokens/words).")
    ] = None,
    history: Annotated[
        str | None, typer.Option("--history", help="Chat history added per request.")
    ] = None,
    output_length: Annotated[
        str | None,
        typer.Option("--output-tokens", help="Average output: '300' tokens or '200 words'."),
    ] = None,
    first_token_ms: opts.FirstTokenOpt = None,
    last_token_ms: opts.LastTokenOpt = None,
    inter_token: Annotated[
        str | None,
        typer.Option(
            "--inter-token-ms",
            help="Inter-token limit: ms, 'fast' (90: a fast reader), 'average' (200) or 'none'.",
        ),
    ] = None,
    load: Annotated[
        str | None,
        typer.Option(
            "--load",
            help="'30' peak req/s, 'avg 25', '200000/day over 8h', or a batch job "
            "'batch 2000000 in 8h' (no latency limit unless one is flagged).",
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option("--server", help="Server type, or 'all'.", autocompletion=complete.servers),
    ] = None,
    precision: Annotated[
        str | None, typer.Option("--precision", help="fp8, bf16, fp16, int4 or 'best'.")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="No prompts: flags, else the defaults.")
    ] = False,
    force: opts.ForceOpt = False,
) -> None:
    """Walk through the sizing checklist (model, prompts, lengths, latency limit, load, hardware),
    showing derived numbers, and write a commented use case. Every question has a flag."""
    from llmsize.catalog import PRECISIONS, load_catalog
    from llmsize.checklist import (
        Answers,
        LoadAnswer,
        parse_inter_token,
        parse_load,
        parse_system_prompt,
        to_yaml,
    )
    from llmsize.errors import InputError
    from llmsize.workload import peak_from_average

    output_path(file, "FILE", force)
    catalog = load_catalog()
    arch = _ask(
        "--model",
        model,
        "Model (catalog id, or path to a config.json)",
        "llama-3.1-8b",
        lambda t: catalog.resolve_model(t.strip(), "model", Path.cwd()),
        yes,
    )
    model_name = arch.id if catalog.models.find(arch.id) else str(model)
    system, system_text = _ask(
        "--system-prompt",
        system_prompt,
        "System prompt: tokens, 'N words', or paste it (0 for none)",
        "0",
        parse_system_prompt,
        yes,
    )
    user = _ask("--input-tokens", input_length, "Average user input", "500", _len("input"), yes)
    rag_tokens = _ask("--rag", rag, "RAG documents added per request", "0", _len0("rag"), yes)
    hist = _ask("--history", history, "Chat history added per request", "0", _len0("history"), yes)
    inputs = system + user + rag_tokens + hist
    while True:
        out = _ask("--output-tokens", output_length, "Average output", "300", _len("output"), yes)
        total = inputs + out
        typer.echo(
            f"  = {inputs} input + {out} output = {total} tokens of {arch.context_window:,} in "
            f"{arch.id}'s context window ({total / arch.context_window:.0%})"
        )
        if total <= arch.context_window:
            break
        problem = f"{total} tokens exceed the {arch.context_window}-token context window"
        if output_length is not None or yes:
            raise fail(f"--output-tokens: {problem}")
        typer.echo(f"  ! {problem}: give a shorter output (or start again with less input)")

    def parse_mode(t: str) -> str:
        mode = t.strip().lower()
        if mode not in MODES:
            raise InputError("mode", f"{t!r}: answer streaming, sequential or batch")
        return mode

    def parse_batch(t: str) -> LoadAnswer:
        answer = parse_load(t if t.strip().lower().startswith("batch") else f"batch {t}", "load")
        if answer.batch_requests is None:
            raise InputError("load", f"{t!r}: give a batch job as '2000000 in 8h'")
        return answer

    if first_token_ms is not None and last_token_ms is not None:
        raise fail(
            "--last-token-ms: give --first-token-ms (streaming) or --last-token-ms (sequential), "
            "not both"
        )
    flagged = (
        _ask("--load", load, "", "", lambda t: parse_load(t, "load"), yes)
        if load is not None
        else None
    )
    limit: float | None
    if first_token_ms is not None or last_token_ms is not None:
        mode = "streaming" if first_token_ms is not None else "sequential"
        limit = first_token_ms if first_token_ms is not None else last_token_ms
    elif flagged is not None and flagged.batch_requests is not None:
        mode, limit = "batch", None  # a batch job given as a flag: no limit unless flagged too
    else:
        mode = _ask(
            "--first-token-ms",
            None,
            "Streaming (limit the first token), sequential (the last), or a batch job (none)?",
            "streaming",
            parse_mode,
            yes,
        )
        limit = (
            None
            if mode == "batch"
            else _ask(
                "--first-token-ms" if mode == "streaming" else "--last-token-ms",
                None,
                "Time to first token limit, ms"
                if mode == "streaming"
                else "End-to-end (last token) limit, ms",
                "1000" if mode == "streaming" else "10000",
                _positive("limit"),
                yes,
            )
        )
    reading = (
        _ask(
            "--inter-token-ms",
            inter_token,
            "Inter-token limit, ms ('fast' 90, 'average' 200 reading speed, or 'none')",
            "none",
            lambda t: parse_inter_token(t, "inter-token limit"),
            yes,
        )
        if inter_token is not None or mode == "streaming"
        else None
    )
    if flagged is not None:
        answer = flagged
    elif mode == "batch":
        answer = _ask(
            "--load",
            None,
            "Batch job: requests to finish and the window ('2000000 in 8h')",
            "100000 in 8h",
            parse_batch,
            yes,
        )
    else:
        answer = _ask(
            "--load",
            None,
            "Load: peak req/s ('30'), 'avg 25', '200000/day over 8h' or 'batch 2000000 in 8h'",
            "10",
            lambda t: parse_load(t, "load"),
            yes,
        )
    if answer.avg_rps is not None:
        typer.echo(
            f"  average {answer.avg_rps:g} req/s -> size for a peak of "
            f"{peak_from_average(answer.avg_rps)} req/s"
        )
    if answer.batch_requests is not None and answer.window_hours is not None:
        rate = answer.batch_requests / (answer.window_hours * 3600)
        typer.echo(f"  batch job -> size for {rate:,.4g} req/s of throughput (no Poisson peak)")
    if mode == "batch" and answer.batch_requests is None:
        raise fail("--load: a batch job needs its load as 'batch 2000000 in 8h'")
    streaming = mode != "sequential"

    def parse_server(t: str) -> str:
        t = t.strip()
        return "all" if t.lower() == "all" else catalog.servers.get(t, "server").id

    def parse_precision(t: str) -> str:
        t = t.strip().lower()
        if t != "best" and t not in PRECISIONS:
            raise InputError("precision", f"{t!r}: use best or one of {', '.join(PRECISIONS)}")
        return t

    box = _ask("--server", server, "Server type, or 'all' to compare", "all", parse_server, yes)
    prec = _ask("--precision", precision, "Precision", "best", parse_precision, yes)
    answers = Answers(
        model=model_name,
        input_tokens=user,
        output_tokens=out,
        system_prompt_tokens=system,
        system_prompt=system_text,
        rag_tokens=rag_tokens,
        history_tokens=hist,
        streaming=streaming,
        first_token_ms=limit if streaming else None,
        last_token_ms=None if streaming else limit,
        inter_token_ms=reading,
        peak_rps=answer.peak_rps,
        avg_rps=answer.avg_rps,
        load_note=answer.note,
        batch_requests=answer.batch_requests,
        window_hours=answer.window_hours,
        server=box,
        precision=prec,
    )
    text = to_yaml(answers)
    from llmsize.files import load_yaml, write_output
    from llmsize.usecase import parse_usecase, resolve

    try:
        resolve(parse_usecase(load_yaml(text, str(file)), str(file)), catalog, Path.cwd())
        write_output(file, text, force=force, where="FILE")
    except InputError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"Wrote {file}. Next: llmsize plan {file}")


def _len(where: str) -> Callable[[str], int]:
    from llmsize.checklist import parse_length

    return lambda t: parse_length(t, where)


def _len0(where: str) -> Callable[[str], int]:
    from llmsize.checklist import parse_length

    return lambda t: 0 if t.strip() in ("0", "") else parse_length(t, where)


def _positive(where: str) -> Callable[[str], float]:
    def parse(t: str) -> float:
        from llmsize.errors import InputError

        try:
            value = float(t)
        except ValueError:
            raise InputError(where, f"{t!r} is not a number of milliseconds") from None
        if value <= 0:
            raise InputError(where, "must be more than 0 ms")
        return value

    return parse
