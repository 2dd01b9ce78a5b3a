"""A use case asked of one server type: what `configs` and `capacity` take, read from the
checklist a user already wrote for `plan` (model, every prompt part, limits, precision, engine,
batching, and the prefix cache, drafting and sessions the engine is credited with)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from llmsize.usecase import UseCase

if TYPE_CHECKING:
    from llmsize.catalog import LlmArch
    from llmsize.economics import GivenPrices
    from llmsize.limits import Limits
    from llmsize.usecase import Resolved
    from llmsize.workload import Serving


@dataclass(frozen=True, slots=True)
class UseCaseQuestion:
    """One server type's question from a use case, as `configs` and `capacity` take it.
    `usecase` is the use case as its engine serves it (what the answer credits and why)."""

    usecase: Resolved
    gpu: str
    server: str | None  # None: an 8-GPU server of `gpu` (asked with --gpu)
    engine: str
    mode: str

    @property
    def model(self) -> LlmArch:
        return self.usecase.model

    @property
    def input_tokens(self) -> int:
        """Every prompt part: system prompt, input, documents and history."""
        return self.usecase.input_tokens_total

    @property
    def output_tokens(self) -> int:
        return self.usecase.output_tokens

    @property
    def precision(self) -> str | None:
        return self.usecase.precision

    @property
    def precisions(self) -> tuple[str, ...]:
        return self.usecase.precisions

    @property
    def kv_precision(self) -> str | None:
        return self.usecase.kv_precision

    @property
    def limits(self) -> Limits:
        """The use case's limits on the means the steady state gives (its percentile is the
        twin's: `plan` and `simulate` replay it)."""
        from llmsize.limits import Limits

        u = self.usecase
        return Limits(u.first_token_ms, u.last_token_ms, u.inter_token_ms)

    @property
    def serving(self) -> Serving:
        return self.usecase.serving

    @property
    def hours_per_day(self) -> float | None:
        """A batch job's window: the hours a day its traffic runs (None: not a batch job)."""
        return self.usecase.window_hours if self.usecase.is_batch else None

    @property
    def traffic_hours(self) -> float:
        """Hours of traffic a day: a batch job's window, else cost.hours_per_day where the use
        case states one, else the talk's 8-hour working day."""
        if self.hours_per_day is not None:
            return self.hours_per_day
        cost = self.usecase.cost
        return cost.hours_per_day if "hours_per_day" in cost.model_fields_set else 8.0

    @property
    def cached_share(self) -> float:
        """The share of the input an API bills at its cached-input rate (the shared prefix)."""
        from llmsize.economics import cached_prefix_share

        return cached_prefix_share(self.usecase)

    def prices(self, flags: GivenPrices, server_flags_given: bool) -> GivenPrices:
        """The flags' prices, and the use case's `cost` where no flag gives them: its price for
        this server and its basis (unless a server-price flag is given), its API and its rates
        (each unless its flag is given)."""
        from llmsize.economics import usecase_server_price

        cost, prices = self.usecase.cost, flags
        server = self.server or ""
        if not server_flags_given:
            prices = replace(prices, basis=cost.basis)
            if usecase_server_price(cost, server) is not None:
                prices = replace(
                    prices,
                    server_usd_per_hour=cost.server_usd_per_hour.get(server),
                    server_purchase_usd=cost.server_purchase_usd.get(server),
                    amortisation_months=cost.amortisation_months,
                    server_running_usd_per_month=cost.server_running_usd_per_month.get(server, 0),
                    given_in="given in the use case",
                )
        rates_given = flags.api_input_per_1k is not None or flags.api_output_per_1k is not None
        return replace(
            prices,
            api=flags.api or cost.api,
            api_input_per_1k=flags.api_input_per_1k if rates_given else cost.api_input_per_1k_usd,
            api_output_per_1k=(
                flags.api_output_per_1k if rates_given else cost.api_output_per_1k_usd
            ),
            api_given_in=flags.given_in if rates_given else "given in the use case",
        )


def usecase_question(
    usecase: UseCase | Path | str,
    *,
    server: str | None = None,
    gpu: str | None = None,
    engine: str | None = None,
    mode: str | None = None,
    calibration: Path | str | None = None,
    kv_precision: str | None = None,
    base_dir: Path | None = None,
) -> UseCaseQuestion:
    """Read a use case (a parsed UseCase or a YAML path) for one server type: `server` (or an
    8-GPU server of `gpu`), else the one the use case names; a use case comparing several is
    refused without one. `engine`, `mode` and `kv_precision` override the use case's fields as
    the same flags of `plan` do."""
    from llmsize.catalog import load_catalog
    from llmsize.errors import InputError
    from llmsize.perf.calibration import load_calibration
    from llmsize.perf.context import chosen_engine
    from llmsize.perf.served import as_served
    from llmsize.usecase import flag_or_field, read_resolved

    catalog = load_catalog()
    usecase, resolved, origin = read_resolved(usecase, catalog, base_dir, kv_precision)
    mode = mode or usecase.batching or "inflight"
    field = flag_or_field(bool(engine), "--engine", origin, "engine")
    cal = load_calibration(Path(calibration) if calibration is not None else None)
    chosen = chosen_engine(cal, engine or usecase.engine, mode, field)
    resolved = as_served(resolved, chosen, mode)
    if server is not None:
        box = catalog.servers.get(server, "--server")
        if gpu is not None and box.gpu != gpu:
            raise InputError("--gpu", f"{box.id} holds {box.gpu}, not {gpu}")
        return UseCaseQuestion(resolved, box.gpu, box.id, chosen, mode)
    if gpu is not None:
        return UseCaseQuestion(resolved, catalog.gpus.get(gpu, "--gpu").id, None, chosen, mode)
    if len(resolved.servers) != 1:
        names = ", ".join(s.id for s in resolved.servers)
        raise InputError(
            "--server",
            f"the use case compares {names}: name one with --server",
        )
    only = resolved.servers[0]
    return UseCaseQuestion(resolved, only.gpu, only.id, chosen, mode)
