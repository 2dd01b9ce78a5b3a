"""The sizing checklist of GTC S62797 as a strict schema, and its resolution into numbers.

Field names carry their units (`first_token_ms`, `peak_rps`) and are part of the interface.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from llmsize.catalog import PRECISIONS, Catalog, LlmArch, Precision, Server
from llmsize.catalog.precisions import KvPrecision
from llmsize.errors import InputError
from llmsize.limits import Limits
from llmsize.units import text_to_tokens, words_to_tokens
from llmsize.workload import (
    DEFAULT_PERCENTILE,
    Serving,
    Sessions,
    SharedPrefix,
    Speculation,
    peak_from_average,
)

MAX_TOKENS = 10_000_000
PERCENTILES = (0.5, 0.9, 0.95, 0.99)
MAX_RPS = 1_000_000.0
MAX_BATCH_REQUESTS = 10_000_000_000

PositiveMs = Annotated[float, Field(gt=0, le=86_400_000)]


class _Strict(BaseModel):
    """Typed as written: a boolean is not a count, "12" is not a number, NaN and infinity are
    refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _one_of(values: dict[str, Any], names: tuple[str, str], *, required: bool) -> None:
    given = [n for n in names if values.get(n) is not None]
    if len(given) > 1:
        raise ValueError(f"give either {names[0]} or {names[1]}, not both")
    if required and not given:
        raise ValueError(f"give {names[0]} (or {names[1]})")


class Latency(_Strict):
    """Limits on time to first token, to last token, and between tokens; at least one."""

    first_token_ms: PositiveMs | None = None
    last_token_ms: PositiveMs | None = None
    inter_token_ms: PositiveMs | None = None
    percentile: float = 0.95
    """Which percentile of each latency must hold (plan --method simulate, simulate)."""

    @field_validator("percentile")
    @classmethod
    def _known_percentile(cls, value: float) -> float:
        if value not in PERCENTILES:
            raise ValueError(f"use one of {', '.join(str(p) for p in PERCENTILES)}")
        return value

    @model_validator(mode="after")
    def _any(self) -> Latency:
        if (
            self.first_token_ms is None
            and self.last_token_ms is None
            and self.inter_token_ms is None
        ):
            raise ValueError("give at least one of first_token_ms, last_token_ms, inter_token_ms")
        return self


class BatchJob(_Strict):
    """Work to finish within a window each day (summarise two million documents overnight):
    sized for the throughput that finishes it in time, with no Poisson peak, since the job's
    requests wait in a queue rather than arrive at random. `tokens` is the job's input and
    output tokens together, an alternative to counting requests."""

    requests: int | None = Field(default=None, ge=1, le=MAX_BATCH_REQUESTS)
    tokens: float | None = Field(default=None, gt=0, le=MAX_BATCH_REQUESTS * MAX_TOKENS)
    window_hours: float = Field(gt=0, le=24)

    @model_validator(mode="after")
    def _requests_or_tokens(self) -> BatchJob:
        _one_of(self.__dict__, ("requests", "tokens"), required=True)
        return self


class Load(_Strict):
    peak_rps: float | None = Field(default=None, gt=0, le=MAX_RPS)
    avg_rps: float | None = Field(default=None, gt=0, le=MAX_RPS)
    batch: BatchJob | None = None
    peak_percentile: float = Field(default=DEFAULT_PERCENTILE, gt=0, lt=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Load:
        given = [n for n in ("peak_rps", "avg_rps", "batch") if self.__dict__[n] is not None]
        if len(given) > 1:
            raise ValueError(f"give one of peak_rps, avg_rps or batch, not {' and '.join(given)}")
        if not given:
            raise ValueError("give peak_rps, avg_rps or batch")
        return self


class LengthSpread(_Strict):
    """A length that varies per request: its mean and standard deviation (lognormal)."""

    mean: float = Field(gt=0, le=MAX_TOKENS)
    stddev: float = Field(default=0, ge=0, le=MAX_TOKENS)


TokenCount = Annotated[int, Field(ge=1, le=MAX_TOKENS)]


class Hardware(_Strict):
    server: str | list[str] | None = None
    precision: Precision | list[Precision] | None = None  # a list: compare them all
    kv_precision: KvPrecision | None = None  # the KV cache apart from the weights

    @field_validator("precision", "kv_precision", mode="before")
    @classmethod
    def _other_names(cls, value: object) -> object:
        """`fp4` is `nvfp4` (catalog/precisions.ALIASES), alone or in a list."""
        from llmsize.catalog.precisions import canonical

        if isinstance(value, list):
            return [canonical(v) if isinstance(v, str) else v for v in value]
        return canonical(value) if isinstance(value, str) else value


class Cost(_Strict):
    """Prices that override the packaged list (data/prices.yaml)."""

    server_usd_per_hour: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    # On-prem: what a server cost, spread over its amortisation period, plus its running cost.
    server_purchase_usd: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    server_running_usd_per_month: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict
    )
    amortisation_months: int = Field(default=36, ge=1, le=240)
    basis: Literal["cloud", "on-prem"] = "cloud"  # which packaged server price to use
    # which packaged API price the traffic is compared with (llmsize catalog apis; default the
    # first listed); the api_* rates below replace its rates
    api: str | None = Field(default=None, min_length=1)
    api_input_per_1k_usd: float | None = Field(default=None, ge=0)
    api_output_per_1k_usd: float | None = Field(default=None, ge=0)
    # the API's rate for input it finds in its prompt cache (the shared prefix, at its hit rate)
    api_cached_input_per_1k_usd: float | None = Field(default=None, ge=0)
    hours_per_day: float = Field(default=24.0, gt=0, le=24)


class PrefixCache(_Strict):
    """A prompt prefix that requests share (the system prompt; a share of chat history or RAG
    documents), computed once per replica and held in the engine's prefix cache. Unset, the
    system prompt is the shared prefix wherever the engine caches prefixes by default."""

    shared_tokens: int | None = Field(default=None, ge=0, le=MAX_TOKENS)
    """Tokens at the start of each prompt that requests share; default: the system prompt."""
    hit_rate: float = Field(default=1.0, ge=0, le=1)
    """The share of requests that find the prefix cached (0: no reuse)."""


class Speculative(_Strict):
    """Speculative decoding (or multi-token prediction): who drafts, how many tokens a step,
    and how often a drafted token is accepted (default: a published figure for the method)."""

    method: Literal["mtp", "eagle", "draft"]
    """mtp: the model's own multi-token-prediction layers; eagle: an EAGLE-3 head; draft: a
    smaller model of the same family (draft_model)."""
    draft_tokens: int | None = Field(default=None, ge=1, le=16)
    acceptance_rate: float | None = Field(default=None, gt=0, lt=1)
    """Per drafted token: the chance it is accepted (the one before it having been)."""
    draft_model: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _draft_needs_its_model(self) -> Speculative:
        if self.method == "draft" and self.draft_model is None:
            raise ValueError("method draft needs draft_model (a catalog id or a config.json)")
        if self.method != "draft" and self.draft_model is not None:
            raise ValueError(f"draft_model is for method draft, not {self.method}")
        return self


class Conversation(_Strict):
    """Multi-turn sessions: input_tokens is each turn's new input (question, tool result), and
    every turn repeats the conversation so far; load counts turns (requests)."""

    turns: int = Field(ge=2, le=1000)
    think_s: float = Field(default=0.0, ge=0, le=86_400)
    """Seconds from an answer's end to the session's next question (the twin's follow-ups)."""


class UseCase(_Strict):
    """One use case, as a user writes it in YAML."""

    name: str | None = None
    model: str = Field(min_length=1)
    system_prompt: str | None = None
    system_prompt_tokens: int | None = Field(default=None, ge=0, le=MAX_TOKENS)
    input_tokens: TokenCount | LengthSpread | None = None
    input_words: float | None = Field(default=None, gt=0, le=MAX_TOKENS)
    output_tokens: TokenCount | LengthSpread | None = None
    output_words: float | None = Field(default=None, gt=0, le=MAX_TOKENS)
    tokenizer: str | None = None
    latency: Latency | None = None
    """Required, except for a batch job: its latencies are shown but limit nothing unless given."""
    load: Load
    hardware: Hardware = Hardware()
    cost: Cost = Field(default_factory=Cost)
    engine: str | None = Field(default=None, min_length=1)
    """Whose scheduler, memory rule and fit answer (vllm, sglang, trtllm, nim, with an optional
    version); unset: vLLM for continuous batching, the talk's calculator for static batches."""
    batching: Literal["inflight", "static"] | None = None
    """inflight (continuous batching, the default) or static (the talk's calculator)."""
    prefix_cache: PrefixCache | None = None
    speculative: Speculative | None = None
    sessions: Conversation | None = None

    @model_validator(mode="after")
    def _alternatives(self) -> UseCase:
        values = self.__dict__
        _one_of(values, ("system_prompt", "system_prompt_tokens"), required=False)
        _one_of(values, ("input_tokens", "input_words"), required=True)
        _one_of(values, ("output_tokens", "output_words"), required=True)
        if self.latency is None and self.load.batch is None:
            raise ValueError("give latency (only a batch job, load.batch, may leave it out)")
        return self


def _field_names(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


_NESTED: dict[str, type[BaseModel]] = {
    "latency": Latency,
    "load": Load,
    "batch": BatchJob,
    "hardware": Hardware,
    "input_tokens": LengthSpread,
    "output_tokens": LengthSpread,
    "cost": Cost,
    "prefix_cache": PrefixCache,
    "speculative": Speculative,
    "sessions": Conversation,
}


def validation_to_input_error(exc: ValidationError, origin: str) -> InputError:
    """The first pydantic error as one line: dotted field path, what is wrong, close names. An
    unknown field comes first: a misspelt name is also reported as the right one missing."""
    errors = exc.errors()
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    return _as_input_error(_first_relevant(unknown or errors), origin)


def validation_problems(exc: ValidationError, origin: str) -> list[InputError]:
    """Every field's problem (one per field path), for `llmsize validate`."""
    errors = exc.errors()
    by_field: dict[tuple[object, ...], list[Any]] = {}
    for err in errors:
        path = tuple(p for p in err["loc"] if not _is_union_tag(p))
        by_field.setdefault(path, []).append(err)
    return [_as_input_error(_first_relevant(group), origin) for group in by_field.values()]


def _as_input_error(err: Any, origin: str) -> InputError:
    loc = [str(p) for p in err["loc"] if not _is_union_tag(p)]
    where = ".".join(loc)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        parent = _NESTED.get(loc[-2], UseCase) if len(loc) > 1 else UseCase
        allowed = _field_names(parent)
        close = difflib.get_close_matches(loc[-1], allowed, n=2, cutoff=0.6)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        message = f"unknown field; {hint}allowed: {', '.join(allowed)}"
    elif err["type"] == "missing":
        message = "is required"
    elif err["type"] == "literal_error" and loc and loc[-1] == "precision":
        message = (
            f"{err['input']!r} is not allowed; use one of {', '.join(PRECISIONS)} (fp4 = nvfp4)"
        )
    return InputError(field_in(origin, where), message)


def field_in(origin: str, where: str) -> str:
    """A use-case field as its errors name it: after the file it was read from, where there is
    one ('uc.yaml: hardware.server'), so a user with several files knows which to fix."""
    if not where:
        return origin
    return f"{origin}: {where}" if origin else where


def flag_or_field(given: bool, flag: str, origin: str, where: str) -> str:
    """What an error about a value names: the flag where the caller gave it (it overrides the
    use case), else the use case's field in its file."""
    return flag if given else field_in(origin, where)


def _is_union_tag(part: object) -> bool:
    """Pydantic names a union's branch in the error path ('constrained-int', 'LengthSpread')."""
    return isinstance(part, str) and ("-" in part or part[:1].isupper())


def _first_relevant(errors: list[Any]) -> Any:
    """For a field that takes a number or a {mean, stddev} mapping, report the branch the user
    meant: the mapping's errors for a mapping, the number's otherwise."""
    for err in errors:
        tags = [p for p in err["loc"] if _is_union_tag(p)]
        if not tags:
            return err
        wants_mapping = any(
            isinstance(e["input"], dict) for e in errors if e["loc"][:1] == err["loc"][:1]
        )
        if (tags[0] == "LengthSpread") == wants_mapping:
            return err
    return errors[0]


def parse_usecase(data: Any, origin: str = "") -> UseCase:
    if not isinstance(data, dict):
        raise InputError(origin, "a use case must be a YAML mapping of checklist fields")
    try:
        return UseCase.model_validate(data)
    except ValidationError as exc:
        raise validation_to_input_error(exc, origin) from None


def read_usecase_data(path: Path | str) -> Any:
    """The YAML document of a use-case file, or one InputError saying why it cannot be read."""
    from llmsize.files import read_yaml

    return read_yaml(path, "use case")


def load_usecase(path: Path | str) -> UseCase:
    """Read and validate a use-case YAML file; every problem is one InputError line."""
    return parse_usecase(read_usecase_data(path), str(path))


def usecase_problems(data: Any, origin: str) -> list[InputError]:
    """Every schema problem of a use-case document (empty when it is valid)."""
    if not isinstance(data, dict):
        return [InputError(origin, "a use case must be a YAML mapping of checklist fields")]
    try:
        UseCase.model_validate(data)
    except ValidationError as exc:
        return validation_problems(exc, origin)
    return []


@dataclass(frozen=True, slots=True)
class Resolved:
    """A use case as numbers: tokens, limits, peak load and the hardware to compare."""

    name: str
    model: LlmArch
    system_prompt_tokens: int
    input_tokens: int
    output_tokens: int
    input_stddev: float
    output_stddev: float
    percentile: float
    first_token_ms: float | None
    last_token_ms: float | None
    inter_token_ms: float | None
    peak_rps: float
    avg_rps: float | None
    peak_percentile: float
    peak_source: str  # "given", "poisson", or "batch" (a job's requests over its window)
    servers: tuple[Server, ...]
    precision: Precision | None
    cost: Cost
    kv_precision: str | None = None  # the KV cache's precision when asked apart from the weights
    precisions: tuple[Precision, ...] = ()  # hardware.precision as a list: each is compared
    batch_requests: int | None = None  # a batch job's requests a day (given, or from its tokens)
    batch_tokens: float | None = None  # its tokens a day, where the job was given in tokens
    window_hours: float | None = None  # the hours a day it must finish within
    prefix: SharedPrefix | None = None  # the prompt prefix the engine's prefix cache holds
    prefix_given: bool = False  # prefix_cache was written in the use case (not the default)
    prefix_note: str = ""  # why a shared prefix is not credited, where it is not
    speculation: Speculation | None = None  # speculative decoding, as the use case asks
    speculation_note: str = ""  # why it is not credited, where it is not
    sessions: Sessions | None = None  # multi-turn conversations
    turn_input_tokens: int = 0  # with sessions: each turn's new input (input_tokens: the mean)
    history_tokens: float = 0.0  # with sessions: earlier turns a request finds cached, on average

    @property
    def is_batch(self) -> bool:
        return self.batch_requests is not None

    @property
    def input_tokens_total(self) -> int:
        return self.system_prompt_tokens + self.input_tokens

    @property
    def serving(self) -> Serving:
        """How the engine serves the requests beyond their lengths (prefix cache, drafting)."""
        return Serving(self.prefix, self.speculation, self.history_tokens)

    @property
    def prefilled_tokens(self) -> float:
        """Prompt tokens a request prefills on average: what it does not find cached."""
        return self.input_tokens_total - self.serving.cached_tokens

    @property
    def limits(self) -> Limits:
        return Limits(self.first_token_ms, self.last_token_ms, self.inter_token_ms, self.percentile)


def _count_text_tokens(text: str, tokenizer: str | None, base_dir: Path) -> int:
    if tokenizer is None:
        return text_to_tokens(text)
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise InputError(
            "tokenizer", "needs the optional package: pip install 'llmsize[tokenizers]'"
        ) from None
    path = Path(tokenizer)
    if not path.is_absolute() and not path.exists():
        path = base_dir / path
    from llmsize.files import read_text

    try:
        spec = read_text(path, "tokenizer")
    except InputError as exc:
        raise InputError("tokenizer", str(exc)) from None
    try:
        encoding = Tokenizer.from_str(spec).encode(text, add_special_tokens=False)
    except Exception as exc:  # the tokenizers library raises plain Exceptions on bad files
        raise InputError("tokenizer", f"cannot load {tokenizer!r}: {exc}") from None
    return len(encoding.ids)


def _precisions(
    given: Precision | list[Precision] | None,
) -> tuple[Precision | None, tuple[Precision, ...]]:
    """hardware.precision as (the one asked, or None; the list to compare when several)."""
    if not isinstance(given, list):
        return given, ()
    unique = tuple(dict.fromkeys(given))
    if not unique:
        raise InputError("hardware.precision", "give a precision or a non-empty list")
    return (unique[0], ()) if len(unique) == 1 else (None, unique)


def _checked_cost(cost: Cost, catalog: Catalog) -> Cost:
    """Server prices keyed by catalog ids (aliases accepted); one price per server. (The API
    price named is checked against the price list by economics.checked_api_price.)"""
    fields = ("server_usd_per_hour", "server_purchase_usd", "server_running_usd_per_month")
    update = {
        field: {
            catalog.servers.get(name, f"cost.{field}").id: usd
            for name, usd in getattr(cost, field).items()
        }
        for field in fields
    }
    for server in update["server_usd_per_hour"].keys() & update["server_purchase_usd"].keys():
        raise InputError(
            "cost.server_purchase_usd",
            f"{server} also has cost.server_usd_per_hour; give one price per server",
        )
    for server in update["server_running_usd_per_month"].keys() - update["server_purchase_usd"]:
        raise InputError(
            "cost.server_running_usd_per_month",
            f"{server} needs cost.server_purchase_usd (running cost adds to an amortised price)",
        )
    return cost.model_copy(update=update)


def _length(tokens: int | LengthSpread | None, words: float | None) -> tuple[int, float]:
    """Mean tokens (rounded) and their spread, from a count, a spread, or words."""
    if isinstance(tokens, LengthSpread):
        return max(1, round(tokens.mean)), tokens.stddev
    if tokens is not None:
        return tokens, 0.0
    return words_to_tokens(words or 0), 0.0


def read_resolved(
    usecase: UseCase | Path | str,
    catalog: Catalog,
    base_dir: Path | None = None,
    kv_precision: str | None = None,
) -> tuple[UseCase, Resolved, str]:
    """A use case (parsed, or read from its YAML file, whose folder then holds the files it
    names) resolved against the catalog, with --kv-precision over its hardware.kv_precision;
    and the file it was read from ('' : parsed), which errors about its fields name."""
    from dataclasses import replace

    from llmsize.catalog.precisions import checked_kv

    origin = ""
    if not isinstance(usecase, UseCase):
        path = Path(usecase)
        base_dir = base_dir or path.parent
        usecase = load_usecase(path)
        origin = str(path)
    resolved = resolve(usecase, catalog, base_dir or Path(), origin)
    if kv_precision is not None:
        resolved = replace(resolved, kv_precision=checked_kv(kv_precision, "--kv-precision"))
    return usecase, resolved, origin


def resolve(
    usecase: UseCase, catalog: Catalog, base_dir: Path = Path(), origin: str = ""
) -> Resolved:
    """Tokens from words or text, peak from average, model and servers from the catalog; a
    field it cannot resolve is named after `origin`, the file the use case was read from."""
    try:
        return _resolved(usecase, catalog, base_dir)
    except InputError as exc:
        if not origin:
            raise
        raise InputError(field_in(origin, exc.where), exc.message) from None


def _resolved(usecase: UseCase, catalog: Catalog, base_dir: Path) -> Resolved:
    model = catalog.resolve_model(usecase.model, "model", base_dir)
    if usecase.system_prompt is not None:
        system = _count_text_tokens(usecase.system_prompt, usecase.tokenizer, base_dir)
    else:
        system = usecase.system_prompt_tokens or 0
    input_tokens, input_stddev = _length(usecase.input_tokens, usecase.input_words)
    output_tokens, output_stddev = _length(usecase.output_tokens, usecase.output_words)
    total = system + input_tokens + output_tokens
    if total > model.context_window:
        raise InputError(
            "input_tokens",
            f"system prompt + input + output = {total} tokens exceeds the "
            f"{model.context_window}-token context window of {model.id}",
        )
    sessions, turn_input, history = None, 0, 0.0
    if usecase.sessions is not None:
        sessions = Sessions(usecase.sessions.turns, usecase.sessions.think_s)
        longest = sessions.longest(system, input_tokens, output_tokens)
        if longest > model.context_window:
            raise InputError(
                "sessions.turns",
                f"the last of {sessions.turns} turns holds {longest:,} tokens, more than the "
                f"{model.context_window:,}-token context window of {model.id}",
            )
        turn_input = input_tokens
        history = sessions.mean_history(input_tokens, output_tokens)
        input_tokens = round(sessions.mean_prompt(0, input_tokens, output_tokens))
    load = usecase.load
    cost = usecase.cost
    job, window = load.batch, None
    requests: int | None = None
    if load.peak_rps is not None:
        peak, source = load.peak_rps, "given"
    elif job is not None:
        per_request = system + input_tokens + output_tokens
        requests = job.requests or math.ceil((job.tokens or 0) / per_request)
        window = job.window_hours
        peak, source = requests / (window * 3600), "batch"
        if "hours_per_day" not in cost.model_fields_set:  # the servers run for the window
            cost = cost.model_copy(update={"hours_per_day": window})
    else:
        assert load.avg_rps is not None  # guaranteed by Load's validator
        peak, source = float(peak_from_average(load.avg_rps, load.peak_percentile)), "poisson"
    latency = usecase.latency
    names = usecase.hardware.server
    if names is None:
        servers = catalog.servers.entries
    else:
        listed = [names] if isinstance(names, str) else names
        if not listed:
            raise InputError("hardware.server", "give a server id or a non-empty list")
        servers = tuple(catalog.servers.get(n, "hardware.server") for n in listed)
    asked, listed_precisions = _precisions(usecase.hardware.precision)
    prefix = _shared_prefix(usecase.prefix_cache, system, system + input_tokens)
    if sessions is not None and prefix is not None and prefix.tokens != system:
        raise InputError(
            "prefix_cache.shared_tokens",
            "with sessions the shared prefix is the system prompt; each conversation's history "
            "is its own, and is cached as the turns go",
        )
    speculation = None
    if usecase.speculative is not None:
        speculation = _speculation(usecase.speculative, model, catalog, base_dir)
    return Resolved(
        name=usecase.name or model.id,
        model=model,
        system_prompt_tokens=system,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        input_stddev=input_stddev,
        output_stddev=output_stddev,
        percentile=latency.percentile if latency else Latency.model_fields["percentile"].default,
        first_token_ms=latency.first_token_ms if latency else None,
        last_token_ms=latency.last_token_ms if latency else None,
        inter_token_ms=latency.inter_token_ms if latency else None,
        peak_rps=peak,
        avg_rps=load.avg_rps,
        peak_percentile=load.peak_percentile,
        peak_source=source,
        servers=tuple(dict.fromkeys(servers)),
        precision=asked,
        cost=_checked_cost(cost, catalog),
        kv_precision=usecase.hardware.kv_precision,
        precisions=listed_precisions,
        batch_requests=requests,
        batch_tokens=job.tokens if job is not None else None,
        window_hours=window,
        prefix=prefix,
        prefix_given=usecase.prefix_cache is not None,
        speculation=speculation,
        sessions=sessions,
        turn_input_tokens=turn_input,
        history_tokens=history,
    )


SPECULATION_DEFAULTS: dict[str, tuple[int, float | None, str]] = {
    "mtp": (
        1,
        0.85,
        "DeepSeek-V3 technical report (arXiv 2412.19437, section 5.4.3): with one MTP module "
        "the second token is accepted 85-90 % of the time across generation topics",
    ),
    "eagle": (
        3,
        0.745,
        "vLLM, EAGLE-3 for Llama-3.1-8B-Instruct on MT-bench: mean acceptance length 3.53 at 7 "
        "draft tokens (vllm-project/vllm#26191, from #17504), 0.745 per drafted token if each "
        "is accepted alike; 3 draft tokens as in vLLM's EAGLE example",
    ),
    "draft": (
        5,
        None,
        "vLLM's speculative-decoding documentation drafts 5 tokens with a draft model; no "
        "published acceptance rate holds for a draft model of your choice",
    ),
}
"""Per method: draft tokens, acceptance rate per drafted token (None: give it), and source."""


def _speculation(
    given: Speculative, model: LlmArch, catalog: Catalog, base_dir: Path
) -> Speculation:
    """The drafter's cost and defaults; a method the model cannot run is refused by name."""
    tokens, rate, source = SPECULATION_DEFAULTS[given.method]
    if given.acceptance_rate is not None:
        rate, source = given.acceptance_rate, "given"
    elif rate is None:
        raise InputError(
            "speculative.acceptance_rate",
            "give it for a draft model (measure it: vLLM logs its mean acceptance length)",
        )
    layer_share = (model.active_params - model.embedding_params) / model.layers
    head = model.head_params
    draft = None
    if given.method == "mtp":
        if not model.mtp_params:
            raise InputError(
                "speculative.method",
                f"{model.id} has no multi-token-prediction layers in its checkpoint; "
                "use eagle or draft",
            )
        reads, weights = layer_share + head, float(model.mtp_params)
    elif given.method == "eagle":
        reads, weights = layer_share + head, layer_share
    else:
        assert given.draft_model is not None  # guaranteed by Speculative's validator
        draft = catalog.resolve_model(given.draft_model, "speculative.draft_model", base_dir)
        if draft.active_params >= model.active_params:
            raise InputError(
                "speculative.draft_model",
                f"{draft.id} is not smaller than {model.id}: a draft model must be cheaper",
            )
        reads, weights = float(draft.active_params), float(draft.params)
    return Speculation(
        method=given.method,
        draft_tokens=given.draft_tokens or tokens,
        acceptance_rate=rate,
        draft_share=reads / model.active_params,
        draft_params=weights,
        rate_source=source,
        draft_model=draft,
    )


def _shared_prefix(
    given: PrefixCache | None, system_tokens: int, prompt_tokens: int
) -> SharedPrefix | None:
    """The prefix the use case shares (None: none, or no reuse): the system prompt unless
    prefix_cache says otherwise; it cannot be longer than the prompt it opens."""
    shared = system_tokens
    hit_rate = 1.0
    if given is not None:
        hit_rate = given.hit_rate
        if given.shared_tokens is not None:
            shared = given.shared_tokens
    if shared > prompt_tokens:
        raise InputError(
            "prefix_cache.shared_tokens",
            f"{shared:,} tokens is longer than the {prompt_tokens:,}-token prompt "
            "(system prompt + input) it opens",
        )
    if shared <= 0 or hit_rate <= 0:
        return None
    return SharedPrefix(shared, hit_rate)
