"""What capacity means for the business (GTC S62797): requests and users per working day,
tokens per day, and what the same traffic would cost from an API priced per token."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from llmsize.catalog import Server
from llmsize.errors import CatalogError, InputError, unknown_name
from llmsize.perf.results import ConfigsResult
from llmsize.usecase import Cost, Resolved
from llmsize.workload import DEFAULT_PERCENTILE, sustainable_average

DAYS_PER_MONTH = 30
HOURS_PER_MONTH = 730


@dataclass(frozen=True, slots=True)
class DailyCapacity:
    """One server's (or a deployment's) traffic over a working day, at a sustainable average."""

    peak_rps: float  # what the servers handle at their busiest second
    avg_rps: float  # the largest average whose Poisson peak fits
    hours_per_day: float
    requests_per_day: float
    users_per_day: float
    input_tokens_per_day: float
    output_tokens_per_day: float
    queued: bool = False  # a batch job: its requests wait, the servers run full all window


def daily_capacity(
    peak_rps: float,
    input_tokens: float,
    output_tokens: float,
    hours_per_day: float = 8.0,
    requests_per_user: float = 3.0,
    percentile: float = DEFAULT_PERCENTILE,
    queued: bool = False,
) -> DailyCapacity:
    """The talk's arithmetic: capacity 65.6 req/s sustains 53.2 on average; over 8 hours that is
    1.5 M requests, 500 k users at 3 requests each, 192 M input and 768 M output tokens.
    `queued` (a batch job): the requests wait in a queue, so the server runs at its capacity
    all the hours, with no headroom for a Poisson peak."""
    avg = peak_rps if queued else sustainable_average(peak_rps, percentile)
    requests = avg * hours_per_day * 3600
    return DailyCapacity(
        peak_rps=peak_rps,
        avg_rps=avg,
        hours_per_day=hours_per_day,
        requests_per_day=requests,
        users_per_day=requests / requests_per_user,
        input_tokens_per_day=requests * input_tokens,
        output_tokens_per_day=requests * output_tokens,
        queued=queued,
    )


@dataclass(frozen=True, slots=True)
class ApiPrice:
    id: str
    input_per_1k_usd: float
    output_per_1k_usd: float
    source: str
    date: str
    cached_input_per_1k_usd: float | None = None  # a prompt-cache hit's rate, where published
    prompt_limit_tokens: int | None = None  # the rates hold up to this prompt; longer costs more

    def tier_note(self, prompt_tokens: float) -> str:
        """Why the figure is a floor when the prompt is past the rates' limit ('' : it is not)."""
        limit = self.prompt_limit_tokens
        if limit is None or prompt_tokens <= limit:
            return ""
        return (
            f"{self.id} bills prompts over {limit:,} tokens at higher rates than these, so the "
            f"{prompt_tokens:,.0f}-token prompt costs more than shown"
        )


@dataclass(frozen=True, slots=True)
class ApiCost:
    price: ApiPrice
    input_per_day_usd: float
    output_per_day_usd: float
    cached_share: float = 0.0  # of the input tokens, billed at the API's cached-input rate
    cached_note: str = ""  # how a shared prefix was billed, in words ('' : there is none)
    tier_note: str = ""  # the prompt is past the rates' limit, in words ('' : it is not)

    @property
    def notes(self) -> str:
        """The cost line's caveats, '; '-joined ('' : none)."""
        return "; ".join(n for n in (self.cached_note, self.tier_note) if n)

    @property
    def per_day_usd(self) -> float:
        return self.input_per_day_usd + self.output_per_day_usd

    @property
    def per_month_usd(self) -> float:
        return self.per_day_usd * DAYS_PER_MONTH


def api_cost(
    capacity: DailyCapacity,
    price: ApiPrice,
    prompt_tokens: float = 0.0,
    cached_share: float = 0.0,
    cached_rate: float | None = None,
) -> ApiCost:
    """The same traffic bought per token: $38.4 + $204 a day for the talk's Llama-2-70B case.
    `cached_share` of the input is a shared prefix the API's prompt cache serves, billed at
    `cached_rate` (else the API's own cached-input rate, where published)."""
    rate = cached_rate if cached_rate is not None else price.cached_input_per_1k_usd
    share, note = cached_billing(cached_share, rate)
    input_rate = (1 - share) * price.input_per_1k_usd + share * (rate or 0.0)
    return ApiCost(
        price,
        capacity.input_tokens_per_day / 1000 * input_rate,
        capacity.output_tokens_per_day / 1000 * price.output_per_1k_usd,
        share,
        note,
        tier_note=price.tier_note(prompt_tokens),
    )


@dataclass(frozen=True, slots=True)
class ServerPrice:
    server: str
    kind: str
    usd_per_hour: float
    source: str
    date: str

    @property
    def per_month_usd(self) -> float:
        return self.usd_per_hour * HOURS_PER_MONTH


def amortised_price(
    server: str, purchase_usd: float, months: int, running_usd_per_month: float, given_in: str
) -> ServerPrice:
    """An on-prem server as an hourly rate: purchase / months + running cost, over 730 h."""
    hourly = (purchase_usd / months + running_usd_per_month) / HOURS_PER_MONTH
    running = f" + ${running_usd_per_month:,.0f}/month running" if running_usd_per_month else ""
    source = f"on-prem: ${purchase_usd:,.0f} over {months} months{running}, {given_in}"
    return ServerPrice(server, "on-prem", hourly, source, "")


def given_server_price(
    server: str,
    given_in: str,
    usd_per_hour: float | None = None,
    purchase_usd: float | None = None,
    amortisation_months: int = 36,
    running_usd_per_month: float = 0.0,
) -> ServerPrice | None:
    """A user's own price for a server (an hourly rate, else an amortised purchase), if given."""
    if usd_per_hour is not None:
        return ServerPrice(server, "given", usd_per_hour, given_in, "")
    if purchase_usd is not None:
        return amortised_price(
            server, purchase_usd, amortisation_months, running_usd_per_month, given_in
        )
    return None


def usecase_server_price(cost: Cost, server: str) -> ServerPrice | None:
    """The use case's own price for a server (an hourly rate or an amortised purchase)."""
    return given_server_price(
        server,
        "given in the use case",
        cost.server_usd_per_hour.get(server),
        cost.server_purchase_usd.get(server),
        cost.amortisation_months,
        cost.server_running_usd_per_month.get(server, 0.0),
    )


def given_api_price(
    api: str | None,
    input_per_1k: float | None,
    output_per_1k: float | None,
    label: str,
    given_in: str,
    where: str,
) -> ApiPrice:
    """The packaged API price named (`where` names the field or flag; None: the default), with
    whichever of its two rates the user gave replaced. A replaced rate drops the packaged
    cached-input rate and prompt limit: they belong to the packaged prices."""
    packaged = load_prices().api_price(api, where)
    if input_per_1k is None and output_per_1k is None:
        return packaged
    return ApiPrice(
        label,
        input_per_1k if input_per_1k is not None else packaged.input_per_1k_usd,
        output_per_1k if output_per_1k is not None else packaged.output_per_1k_usd,
        given_in if api is None else f"{given_in}, the rest {packaged.id}'s",
        "",
    )


BASES = ("cloud", "on-prem")
"""How a server is paid for: rented by the hour, or bought and amortised."""


@dataclass(frozen=True, slots=True)
class GivenPrices:
    """Prices a user gives for one server type and for an API (None: the packaged list's), and
    which packaged server price to fall back on (`basis`: cloud or on-prem)."""

    server_usd_per_hour: float | None = None
    server_purchase_usd: float | None = None
    amortisation_months: int = 36
    server_running_usd_per_month: float = 0.0
    basis: str = "cloud"
    api_input_per_1k: float | None = None
    api_output_per_1k: float | None = None
    given_in: str = "given on the command line"
    api: str | None = None  # a packaged API price's id (None: the packaged default)
    api_given_in: str | None = None  # where the API rates were given (None: `given_in`)

    def __post_init__(self) -> None:
        if self.server_purchase_usd is not None and self.server_usd_per_hour is not None:
            raise InputError("--server-purchase-usd", "give it or --server-usd-per-hour, not both")
        if self.basis not in BASES:
            raise InputError("--basis", f"{self.basis!r} is not one of {', '.join(BASES)}")

    def server_price(self, server: str) -> ServerPrice | None:
        """The given price (an hourly rate, else an amortised purchase), else the packaged
        one on the basis asked for."""
        given = given_server_price(
            server,
            self.given_in,
            self.server_usd_per_hour,
            self.server_purchase_usd,
            self.amortisation_months,
            self.server_running_usd_per_month,
        )
        return given or load_prices().server(server, self.basis)

    def api_price(self) -> ApiPrice:
        return given_api_price(
            self.api,
            self.api_input_per_1k,
            self.api_output_per_1k,
            "yours",
            self.api_given_in or self.given_in,
            "--api",
        )


@dataclass(frozen=True, slots=True)
class Prices:
    api: dict[str, ApiPrice]
    servers: dict[tuple[str, str], ServerPrice]  # (server id, basis) -> price

    def api_price(self, api: str | None, where: str) -> ApiPrice:
        """The packaged API price with that id (None: the first listed, the default)."""
        if api is None:
            return next(iter(self.api.values()))
        if api not in self.api:
            raise unknown_name(where, "API price", api, self.api)
        return self.api[api]

    def server(self, server: str, basis: str) -> ServerPrice | None:
        return self.servers.get((server, basis))


def _packaged_server_price(entry: dict[str, Any]) -> tuple[tuple[str, str], ServerPrice]:
    basis = entry["basis"]
    if basis not in BASES:
        raise ValueError(f"basis {basis!r} is not one of {', '.join(BASES)}")
    if basis == "on-prem":
        price = amortised_price(
            entry["server"],
            float(entry["purchase_usd"]),
            int(entry["amortisation_months"]),
            float(entry.get("running_usd_per_month", 0.0)),
            f"{entry['source']} ({entry['date']})",
        )
    else:
        price = ServerPrice(
            entry["server"],
            basis,
            float(entry["usd_per_hour"]),
            entry["source"],
            str(entry["date"]),
        )
    return (entry["server"], basis), price


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


@functools.cache
def load_prices() -> Prices:
    """The packaged, dated price list (data/prices.yaml)."""
    text = resources.files("llmsize.data").joinpath("prices.yaml").read_text(encoding="utf-8")
    data: Any = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    try:
        api = {
            a["id"]: ApiPrice(
                a["id"],
                float(a["input_per_1k_usd"]),
                float(a["output_per_1k_usd"]),
                a["source"],
                str(a["date"]),
                _optional_float(a.get("cached_input_per_1k_usd")),
                None if a.get("prompt_limit_tokens") is None else int(a["prompt_limit_tokens"]),
            )
            for a in data["api"]
        }
        servers = dict(_packaged_server_price(s) for s in data["servers"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"prices.yaml: malformed entry ({exc})") from exc
    return Prices(api, servers)


@dataclass(frozen=True, slots=True)
class PlanCost:
    """What a planned deployment costs, and what its traffic would cost from an API."""

    server_usd_per_hour: float | None
    server_price_source: str | None
    per_month_usd: float | None
    usd_per_million_output_tokens: float | None
    billed_hours_per_day: float = 24.0  # rented servers of a batch job run for its window only


def traffic_per_day(
    avg_rps: float, input_tokens: float, output_tokens: float, hours: float
) -> tuple[float, float]:
    """Input and output tokens a day at an average request rate over `hours` a day."""
    requests = avg_rps * hours * 3600
    return requests * input_tokens, requests * output_tokens


def plan_cost(
    server: str,
    servers: int,
    avg_rps: float,
    output_tokens: float,
    hours_per_day: float,
    override: ServerPrice | None,
    basis: str = "cloud",
    billed_hours_per_day: float = 24.0,
) -> PlanCost:
    """Servers x hourly price x 730 h (x the share of the day rented servers run, for a batch
    job); per million output tokens at the use case's traffic."""
    price = override or load_prices().server(server, basis)
    if price is None:
        return PlanCost(None, None, None, None)
    hourly, source = price.usd_per_hour, price.source
    # bought servers (an on-prem basis, or a purchase price given) cost all day
    billed = billed_hours_per_day if basis == "cloud" and price.kind != "on-prem" else 24.0
    month = servers * hourly * HOURS_PER_MONTH * billed / 24
    tokens_month = avg_rps * hours_per_day * 3600 * output_tokens * DAYS_PER_MONTH
    per_million = month / (tokens_month / 1e6) if tokens_month else None
    return PlanCost(hourly, source, month, per_million, billed)


def checked_api_price(cost: Cost, where: str = "cost.api") -> None:
    """Refuses a use case (or the flag `where`) naming an API price the packaged list does not
    hold, before any search runs."""
    if cost.api is not None:
        load_prices().api_price(cost.api, where)


def usecase_api_cost(usecase: Resolved) -> tuple[ApiCost, float]:
    """The use case's traffic (its average, else its peak) bought from an API, and that rate."""
    rate = usecase.avg_rps if usecase.avg_rps is not None else usecase.peak_rps
    cost = usecase.cost
    price = given_api_price(
        cost.api,
        cost.api_input_per_1k_usd,
        cost.api_output_per_1k_usd,
        "use case",
        "given in the use case",
        "cost.api",
    )
    inputs, outputs = traffic_per_day(
        rate, usecase.input_tokens_total, usecase.output_tokens, cost.hours_per_day
    )
    cached_rate = cost.api_cached_input_per_1k_usd
    if cached_rate is None:
        cached_rate = price.cached_input_per_1k_usd
    share, note = cached_billing(cached_prefix_share(usecase), cached_rate)
    input_rate = (1 - share) * price.input_per_1k_usd + share * (cached_rate or 0.0)
    return ApiCost(
        price,
        inputs / 1000 * input_rate,
        outputs / 1000 * price.output_per_1k_usd,
        share,
        note,
        price.tier_note(usecase.input_tokens_total),
    ), rate


def cached_prefix_share(usecase: Resolved) -> float:
    """The share of the input an API finds in its prompt cache: the shared prefix at its hit
    rate, as the use case states it."""
    prefix = usecase.prefix
    if prefix is None or not prefix.cached_tokens or not usecase.input_tokens_total:
        return 0.0
    return min(1.0, prefix.cached_tokens / usecase.input_tokens_total)


def cached_billing(share: float, rate: float | None) -> tuple[float, str]:
    """The share of the input billed at the cached-input `rate` (0 where the rate is unknown:
    it is billed in full), and how, in words ('' : no cached prefix)."""
    if not share:
        return 0.0, ""
    if rate is None:
        return 0.0, (
            f"the {share:.0%} of input that is a cached prefix billed at the full input rate "
            "(give cost.api_cached_input_per_1k_usd for the API's cached-input rate)"
        )
    return share, f"the {share:.0%} of input that is a cached prefix billed at ${rate:g} / 1k"


def plan_costs(uc: Resolved, counts: Iterable[tuple[Server, int]]) -> dict[str, PlanCost]:
    """Monthly cost of every planned server type (server, servers needed), where a price is
    known."""
    rate = uc.avg_rps if uc.avg_rps is not None else uc.peak_rps
    return {
        server.id: plan_cost(
            server.id,
            servers,
            rate,
            uc.output_tokens,
            uc.cost.hours_per_day,
            usecase_server_price(uc.cost, server.id),
            uc.cost.basis,
            uc.window_hours or 24.0,
        )
        for server, servers in counts
    }


@dataclass(frozen=True, slots=True)
class CapacityResult:
    """One server type's capacity and what it means per working day, with costs."""

    configs: ConfigsResult
    daily: DailyCapacity | None
    api: ApiCost | None
    server_price: ServerPrice | None
    server_month_usd: float | None
    usd_per_million_output_tokens: float | None
