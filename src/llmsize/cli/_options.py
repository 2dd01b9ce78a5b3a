"""Options shared by every predicting command, so each is spelled and validated one way."""

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from llmsize.cli import _complete as complete


class Source(StrEnum):
    auto = "auto"
    measured = "measured"
    model = "model"


class Mode(StrEnum):
    static = "static"
    inflight = "inflight"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class Method(StrEnum):
    auto = "auto"
    peak = "peak"
    simulate = "simulate"


class PrecisionChoice(StrEnum):
    """The --precision choices: the precision table's (catalog/precisions.py; a test keeps
    them equal)."""

    bf16 = "bf16"
    fp16 = "fp16"
    fp8 = "fp8"
    int4 = "int4"
    fp8_block = "fp8-block"
    nvfp4 = "nvfp4"
    fp4 = "fp4"  # nvfp4's other name
    mxfp4 = "mxfp4"
    int8 = "int8"

    @property
    def name_in_table(self) -> str:
        """The precision table's name for this choice (fp4 is nvfp4)."""
        from llmsize.catalog.precisions import canonical

        return canonical(self.value)


class Rank(StrEnum):
    """plan --rank: search/steady.RANKS."""

    servers = "servers"
    cost = "cost"
    latency = "latency"


class KvChoice(StrEnum):
    """The --kv-precision choices: catalog/precisions.KV_PRECISIONS (a test keeps them equal)."""

    bf16 = "bf16"
    fp16 = "fp16"
    fp8 = "fp8"
    nvfp4 = "nvfp4"
    int8 = "int8"


KvPrecisionOpt = Annotated[
    KvChoice | None,
    typer.Option(
        "--kv-precision",
        help="KV-cache precision [default: the use case's hardware.kv_precision, else what the "
        "weights' precision or the checkpoint caches in].",
        show_default=False,
    ),
]


SourceOpt = Annotated[
    Source,
    typer.Option(
        "--source",
        help="auto: measured curves where they answer, the calibrated model elsewhere; "
        "measured or model alone.",
    ),
]
ModeOpt = Annotated[
    Mode,
    typer.Option(
        "--mode",
        help="inflight (default): continuous batching at a fixed concurrency, as vLLM, SGLang "
        "and TensorRT-LLM serve (default engine vLLM); static: the talk's calculator's static "
        "batches (default engine its TensorRT-LLM 0.9 fit).",
    ),
]
OptionalModeOpt = Annotated[
    Mode | None,
    typer.Option(
        "--mode",
        help="inflight: continuous batching at a fixed concurrency, as vLLM, SGLang and "
        "TensorRT-LLM serve (default engine vLLM); static: the talk's calculator's static "
        "batches (default engine its TensorRT-LLM 0.9 fit). Default: a use case's batching, "
        "else inflight.",
    ),
]
OptionalModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Catalog id or alias, or a path to a HF config.json (required without a use case).",
        autocompletion=complete.models,
        show_default=False,
    ),
]
OptionalInputOpt = Annotated[
    int | None,
    typer.Option(
        "--input-tokens",
        min=1,
        help="Input tokens per request, incl. system prompt (required without a use case).",
        show_default=False,
    ),
]
OptionalOutputOpt = Annotated[
    int | None,
    typer.Option(
        "--output-tokens",
        min=1,
        help="Output tokens per request (required without a use case).",
        show_default=False,
    ),
]
CalibrationOpt = Annotated[
    Path | None,
    typer.Option(
        "--calibration",
        help="Model parameters fitted by `llmsize calibrate` (default: the shipped fit).",
    ),
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help=(
            "The engine whose fit, scheduler defaults and KV budget rule apply: vllm (the "
            "default for continuous batching), sglang, trtllm (1.x), nim, trtllm-0.9 (the "
            "default for static batches), nemo-s62797, or one your --calibration fitted; a "
            "version may follow (vllm-0.8.5)."
        ),
    ),
]
BenchOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--bench",
        help="Your own measurements in the curve CSV schema (repeatable); they replace "
        "bundled curves of the same configuration.",
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace output files that already exist.")]
BestPrecisionOpt = Annotated[
    PrecisionChoice | None,
    typer.Option("--precision", help="One precision (default: FP8 where supported, and BF16)."),
]
FirstTokenOpt = Annotated[
    float | None,
    typer.Option("--first-token-ms", min=0.001, max=86_400_000, help="TTFT limit (ms)."),
]
LastTokenOpt = Annotated[
    float | None,
    typer.Option("--last-token-ms", min=0.001, max=86_400_000, help="End-to-end limit (ms)."),
]
InterTokenOpt = Annotated[
    float | None,
    typer.Option("--inter-token-ms", min=0.001, max=86_400_000, help="Inter-token limit (ms)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one versioned JSON document.")]
LatencyPlotOpt = Annotated[
    Path | None,
    typer.Option("--plot", help="Write TTFT and E2E distributions with limits (PNG)."),
]
FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format", help="table (default), json, csv or markdown (--json = --format json)."
    ),
]


def emit(doc: object, as_json: bool, fmt: Format, title: str) -> None:
    """Print a command's JSON document as JSON, CSV or Markdown."""
    from llmsize.report.formats import render

    typer.echo(render(doc, "json" if as_json else fmt.value, title), nl=False)


@dataclass(frozen=True, slots=True)
class PerfFlags:
    """The predicting commands' shared settings (--source, --calibration, --engine, --bench),
    handed to a command as one value."""

    source: str
    calibration: Path | None
    engine: str | None
    bench: tuple[Path, ...]

    @property
    def inputs(self) -> list[Path]:
        """Files these flags read (an output may never replace one)."""
        return [*self.bench, *([self.calibration] if self.calibration else [])]

    def settings(self) -> dict[str, Any]:
        """The library's keyword arguments for them."""
        return {
            "source": self.source,
            "calibration": self.calibration,
            "engine": self.engine,
            "bench": list(self.bench),
        }


_PERF_PARAMETERS = (
    ("source", SourceOpt, Source.auto),
    ("calibration", CalibrationOpt, None),
    ("engine", EngineOpt, None),
    ("bench", BenchOpt, None),
)

F = TypeVar("F", bound=Callable[..., Any])


def perf_flags(command: F) -> F:
    """Give a command the shared prediction flags, spelled once here: Typer sees --source,
    --calibration, --engine and --bench; the command receives them as `perf: PerfFlags`."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "perf"]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
        for name, hint, default in _PERF_PARAMETERS
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        source = kwargs.pop("source")
        perf = PerfFlags(
            source.value if isinstance(source, Source) else str(source),
            kwargs.pop("calibration"),
            kwargs.pop("engine"),
            tuple(kwargs.pop("bench") or ()),
        )
        return command(*args, perf=perf, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=own + extra)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in own + extra}
    return wrapper  # type: ignore[return-value]
