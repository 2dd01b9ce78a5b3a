"""What capacity means for the business (GTC S62797): requests and users per working day,
tokens per day, and what the same traffic would cost from an API priced per token."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from llmsize.errors import CatalogError
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


def daily_capacity(
    peak_rps: float,
    input_tokens: float,
    output_tokens: float,
    hours_per_day: float = 8.0,
    requests_per_user: float = 3.0,
    percentile: float = DEFAULT_PERCENTILE,
) -> DailyCapacity:
    """The talk's arithmetic: capacity 65.6 req/s sustains 53.2 on average; over 8 hours that is
    1.5 M requests, 500 k users at 3 requests each, 192 M input and 768 M output tokens."""
    avg = sustainable_average(peak_rps, percentile)
    requests = avg * hours_per_day * 3600
    return DailyCapacity(
        peak_rps=peak_rps,
        avg_rps=avg,
        hours_per_day=hours_per_day,
        requests_per_day=requests,
        users_per_day=requests / requests_per_user,
        input_tokens_per_day=requests * input_tokens,
        output_tokens_per_day=requests * output_tokens,
    )


@dataclass(frozen=True, slots=True)
class ApiPrice:
    id: str
    input_per_1k_usd: float
    output_per_1k_usd: float
    source: str
    date: str


@dataclass(frozen=True, slots=True)
class ApiCost:
    price: ApiPrice
    input_per_day_usd: float
    output_per_day_usd: float

    @property
    def per_day_usd(self) -> float:
        return self.input_per_day_usd + self.output_per_day_usd

    @property
    def per_month_usd(self) -> float:
        return self.per_day_usd * DAYS_PER_MONTH


def api_cost(capacity: DailyCapacity, price: ApiPrice) -> ApiCost:
    """The same traffic bought per token: $38.4 + $204 a day for the talk's Llama-2-70B case."""
    return ApiCost(
        price,
        capacity.input_tokens_per_day / 1000 * price.input_per_1k_usd,
        capacity.output_tokens_per_day / 1000 * price.output_per_1k_usd,
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


@dataclass(frozen=True, slots=True)
class Prices:
    api: dict[str, ApiPrice]
    servers: dict[str, ServerPrice]

    @property
    def default_api(self) -> ApiPrice:
        return next(iter(self.api.values()))


@functools.cache
def load_prices() -> Prices:
    """The packaged, dated price list (data/prices.yaml)."""
    text = resources.files("llmsize.data").joinpath("prices.yaml").read_text(encoding="utf-8")
    data: Any = yaml.safe_load(text)
    try:
        api = {
            a["id"]: ApiPrice(
                a["id"],
                float(a["input_per_1k_usd"]),
                float(a["output_per_1k_usd"]),
                a["source"],
                str(a["date"]),
            )
            for a in data["api"]
        }
        servers = {
            s["server"]: ServerPrice(
                s["server"], s["kind"], float(s["usd_per_hour"]), s["source"], str(s["date"])
            )
            for s in data["servers"]
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"prices.yaml: malformed entry ({exc})") from exc
    return Prices(api, servers)
