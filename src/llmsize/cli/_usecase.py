"""A use-case file in place of the workload flags (`configs` and `capacity`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from llmsize.api.from_usecase import UseCaseQuestion
    from llmsize.limits import Limits

UseCaseArg = Annotated[
    Path | None,
    typer.Argument(
        help="A use case (YAML, as `plan` takes) in place of --model, --input-tokens and "
        "--output-tokens: its model, every prompt part, limits, precision, engine, batching, "
        "prefix cache, drafting and sessions; flags given beside it override its limits, "
        "precision, engine and batching.",
        show_default=False,
    ),
]

WORKLOAD_FLAGS = ("--model", "--input-tokens", "--output-tokens")


def asked(
    usecase: Path | None,
    workload: tuple[str | None, int | None, int | None],
    *,
    server: str | None,
    gpu: str | None,
    engine: str | None,
    mode: str | None,
    calibration: Path | None,
    kv_precision: str | None,
) -> UseCaseQuestion | None:
    """The use case's question for one server type, or None where the flags ask it; the
    workload flags (`WORKLOAD_FLAGS`) are required without a use case and refused beside one
    (it states them)."""
    from llmsize.api import usecase_question
    from llmsize.errors import InputError

    pairs = zip(WORKLOAD_FLAGS, workload, strict=True)
    given = [flag for flag, value in pairs if value is not None]
    if usecase is None:
        missing = [flag for flag in WORKLOAD_FLAGS if flag not in given]
        if missing:
            raise InputError(missing[0], "required (or give a use-case file)")
        return None
    if given:
        raise InputError(
            given[0], f"given beside a use case, which states it ({usecase}): give one or the other"
        )
    return usecase_question(
        usecase,
        server=server,
        gpu=gpu,
        engine=engine,
        mode=mode,
        calibration=calibration,
        kv_precision=kv_precision,
    )


def limits_over(
    q: UseCaseQuestion, first: float | None, last: float | None, inter: float | None
) -> Limits:
    """The use case's limits, each one a flag gives replaced by it."""
    from llmsize.limits import Limits

    own = q.limits
    return Limits(
        first if first is not None else own.first_token_ms,
        last if last is not None else own.last_token_ms,
        inter if inter is not None else own.inter_token_ms,
    )


def credits(q: UseCaseQuestion) -> dict[str, Any]:
    """What the answer takes from the use case beyond its lengths (JSON `usecase`)."""
    from llmsize.report.plan_table import prefix_words, session_words, speculation_words

    u = q.usecase
    return {
        "name": u.name,
        "input_tokens": u.input_tokens_total,
        "output_tokens": u.output_tokens,
        "engine": q.engine,
        "batching": q.mode,
        "prefix_cache": prefix_words(u),
        "speculative_decoding": speculation_words(u),
        "sessions": session_words(u),
    }


def print_credits(q: UseCaseQuestion, console: Console) -> None:
    """The use case's lines above the answer: its name and lengths, and what it credits."""
    from llmsize.report.console import safe

    found = credits(q)
    console.print(
        f"Use case [bold]{safe(found['name'])}[/]: {found['input_tokens']:,} in / "
        f"{found['output_tokens']:,} out, engine {found['engine']}, {found['batching']} batching",
        soft_wrap=True,
    )
    for key, label in (
        ("prefix_cache", "prefix cache"),
        ("speculative_decoding", "speculative decoding"),
        ("sessions", "sessions"),
    ):
        if found[key]:
            console.print(f"  {label}: {safe(found[key])}", soft_wrap=True)
