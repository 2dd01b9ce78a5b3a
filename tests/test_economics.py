"""The talk's business arithmetic (GTC S62797, Examples 1 and 2), within the talk's rounding.

Example 1, Llama-2-7B on H100 (TP1, batch 64, 128 in / 512 out): 65.6 prompts/s -> 53.2 average
-> 1.5 M requests per 8-hour day, 500 k users at 3 requests, 192 M input and 768 M output tokens.
Example 2, Llama-2-70B (TP4, batch 128): 11.2 -> 6.92 -> about 200 k requests, 66 k users,
25.6 M input and 102 M output tokens; at GPT-3.5-turbo prices ($0.0015 / 1k in, $0.002 / 1k out)
$38.4 + $204 a day, about $7.2 k a month. The talk rounds requests per day (1.5 M) before
multiplying, hence a 3 % tolerance on Example 1's derived figures.
"""

from __future__ import annotations

import json

import pytest

from llmsize.economics import ApiPrice, api_cost, daily_capacity
from tests.cli.helpers import assert_one_line_error, run

LLAMA_2_70B_CHAT: dict[str, object] = {
    "model": "llama-2-70b",
    "input_tokens": 128,
    "output_tokens": 512,
    "latency": {"first_token_ms": 2000},
    "load": {"avg_rps": 6.92},
    "hardware": {"server": "dgx-h100", "precision": "bf16"},
    "batching": "static",  # the talk's calculator, as it measured
}
"""The talk's Example 2 use case (Llama-2-70B chat on DGX H100), which the cost tests vary."""

EXAMPLE_2_CAPACITY = (
    "capacity",
    *("--model", "llama-2-70b", "--server", "dgx-h100"),
    *("--input-tokens", "128", "--output-tokens", "512"),
    *("--mode", "static"),  # the talk's calculator
    *("--api", "gpt-3.5-turbo-2024"),  # and its API price
)


def test_example_1() -> None:
    d = daily_capacity(65.6, 128, 512)
    assert round(d.avg_rps, 1) == 53.2
    assert d.requests_per_day == pytest.approx(1.5e6, rel=0.03)
    assert d.users_per_day == pytest.approx(500e3, rel=0.03)
    assert d.input_tokens_per_day == pytest.approx(192e6, rel=0.03)
    assert d.output_tokens_per_day == pytest.approx(768e6, rel=0.03)


def test_example_2_with_api_cost() -> None:
    d = daily_capacity(11.2, 128, 512)
    assert round(d.avg_rps, 2) == 6.92
    assert d.requests_per_day == pytest.approx(200e3, rel=0.01)
    assert d.users_per_day == pytest.approx(66e3, rel=0.01)
    assert d.input_tokens_per_day == pytest.approx(25.6e6, rel=0.01)
    assert d.output_tokens_per_day == pytest.approx(102e6, rel=0.01)
    cost = api_cost(d, ApiPrice("gpt-3.5", 0.0015, 0.002, "talk", "2024"))
    assert cost.input_per_day_usd == pytest.approx(38.4, rel=0.01)
    assert cost.output_per_day_usd == pytest.approx(204, rel=0.01)
    assert cost.per_month_usd == pytest.approx(7.2e3, rel=0.02)


def test_capacity_command_reproduces_example_2_from_measurements() -> None:
    result = run(
        *EXAMPLE_2_CAPACITY,
        "--first-token-ms",
        "2000",
        "--precision",
        "bf16",
        "--source",
        "measured",
        "--json",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["rps_per_server"], round(doc["avg_rps_per_server"], 2)) == (11.2, 6.92)
    assert doc["api_cost"]["output_per_day_usd"] == pytest.approx(204, rel=0.01)
    assert doc["cost_per_month_usd"] == pytest.approx(_packaged_dgx_h100_per_hour() * 730)
    assert "lambda.ai" in doc["server_price_source"]
    own = json.loads(
        run(
            *EXAMPLE_2_CAPACITY,
            "--json",
            "--server-usd-per-hour",
            "40",
            "--api-output-per-1k",
            "0.01",
        ).stdout
    )
    assert own["cost_per_month_usd"] == pytest.approx(40 * 730)
    assert own["api_cost"]["price"] == "yours"


def test_capacity_bad_input() -> None:
    base = ["capacity", "--model", "llama-2-70b", "--input-tokens", "128", "--output-tokens", "512"]
    assert_one_line_error(run(*base, "--server", "dgx-h1"), "did you mean 'dgx-h100'")
    assert_one_line_error(
        run(*base, "--server", "dgx-h100", "--hours-per-day", "30"), "--hours-per-day"
    )
    assert_one_line_error(
        run(*base, "--server", "dgx-h100", "--server-usd-per-hour", "-1"), "--server-usd-per-hour"
    )
    assert run(*base, "--server", "dgx-h100", "--first-token-ms", "1").exit_code == 1


def test_warnings_the_talk_teaches(tmp_path: object) -> None:
    from pathlib import Path

    import yaml

    path = Path(str(tmp_path)) / "uc.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model": "llama-2-70b",
                "system_prompt_tokens": 1500,
                "input_tokens": 2000,
                "output_tokens": 300,
                "latency": {"first_token_ms": 60000},
                "load": {"peak_rps": 5},
                "hardware": {"server": "l40s-server", "precision": "fp8"},
                "prefix_cache": {"hit_rate": 0},  # no reuse: every request pays for it
            }
        )
    )
    doc = json.loads(run("plan", str(path), "--json").stdout)
    text = " | ".join(doc["warnings"])
    assert "system prompt is 43% of the input" in text
    assert "fill 93% of the 4,096-token context window" in text
    assert "without NVLink" in text
    cached = path.read_text().replace("hit_rate: 0", "hit_rate: 1.0")
    path.write_text(cached)  # the engine's prefix cache serves it: nothing to warn of
    doc = json.loads(run("plan", str(path), "--json").stdout)
    assert not any("system prompt is" in w for w in doc["warnings"])


def test_reading_speed_warnings() -> None:
    from llmsize.checks import itl_warning
    from llmsize.perf.estimate import Estimate

    def at(itl: float) -> Estimate:
        return Estimate("s", "g", "fp8", 1, 8, "static", 100, itl, 1000, 1, "modelled", "x")

    assert itl_warning(at(50), streaming=True) is None
    assert "fast reader (90 ms/token)" in (itl_warning(at(120), streaming=True) or "")
    assert "average reader (200 ms/token)" in (itl_warning(at(250), streaming=True) or "")
    assert itl_warning(at(250), streaming=False) is None  # a sequential app reads the whole answer


def test_plan_shows_costs_and_takes_overrides(tmp_path: object) -> None:
    from pathlib import Path

    import yaml

    path = Path(str(tmp_path)) / "uc.yaml"
    base = {**LLAMA_2_70B_CHAT, "cost": {"api": "gpt-3.5-turbo-2024"}}
    path.write_text(yaml.safe_dump(base))
    doc = json.loads(run("plan", str(path), "--json", "--source", "measured").stdout)
    alt = doc["alternatives"][0]
    assert alt["cost_per_month_usd"] == pytest.approx(_packaged_dgx_h100_per_hour() * 730)
    assert doc["api_cost"]["per_month_usd"] == pytest.approx(7275 * 3, rel=0.01)  # 24 h a day
    path.write_text(
        yaml.safe_dump(
            {
                **base,
                "cost": {
                    "server_usd_per_hour": {"DGX H100": 40},
                    "hours_per_day": 8,
                    "api_output_per_1k_usd": 0.002,
                    "api_input_per_1k_usd": 0.0015,
                },
            }
        )
    )
    doc = json.loads(run("plan", str(path), "--json", "--source", "measured").stdout)
    assert doc["alternatives"][0]["cost_per_month_usd"] == pytest.approx(40 * 730)
    assert doc["api_cost"]["per_month_usd"] == pytest.approx(7.2e3, rel=0.02)  # the talk's figure
    path.write_text(yaml.safe_dump({**base, "cost": {"server_usd_per_hour": {"dgx-h1": 1}}}))
    assert_one_line_error(run("plan", str(path)), "cost.server_usd_per_hour")


def test_on_prem_price_is_amortised(tmp_path: object) -> None:
    """A purchase spread over its months plus running cost, as an hourly rate (730 h a month)."""
    from pathlib import Path

    import yaml

    from llmsize.economics import amortised_price

    price = amortised_price("dgx-h100", 360_000, 36, 2_000, "test")
    assert price.per_month_usd == pytest.approx(360_000 / 36 + 2_000)
    assert "over 36 months" in price.source and price.kind == "on-prem"

    path = Path(str(tmp_path)) / "uc.yaml"
    base = LLAMA_2_70B_CHAT
    onprem = {"server_purchase_usd": {"DGX H100": 480_000}, "amortisation_months": 48}
    path.write_text(yaml.safe_dump({**base, "cost": onprem}))
    doc = json.loads(run("plan", str(path), "--json", "--source", "measured").stdout)
    alt = doc["alternatives"][0]
    assert alt["cost_per_month_usd"] == pytest.approx(alt["servers"] * 10_000)
    both = {**onprem, "server_usd_per_hour": {"dgx-h100": 3}}
    path.write_text(yaml.safe_dump({**base, "cost": both}))
    assert_one_line_error(run("plan", str(path)), "one price per server")
    path.write_text(
        yaml.safe_dump({**base, "cost": {"server_running_usd_per_month": {"dgx-h100": 1}}})
    )
    assert_one_line_error(run("plan", str(path)), "cost.server_running_usd_per_month")

    args = ["capacity", "--model", "llama-2-70b", "--server", "dgx-h100", "--input-tokens", "128"]
    args += ["--output-tokens", "512", "--server-purchase-usd", "360000", "--json"]
    cap = json.loads(run(*args, "--server-running-usd-per-month", "2000").stdout)
    assert cap["cost_per_month_usd"] == pytest.approx(12_000)
    assert_one_line_error(run(*args, "--server-usd-per-hour", "9"), "--server-purchase-usd")


def _packaged_dgx_h100_per_hour() -> float:
    from llmsize.economics import load_prices

    price = load_prices().server("dgx-h100", "cloud")
    assert price is not None
    return price.usd_per_hour


def test_packaged_prices_are_dated_and_sourced_on_both_bases() -> None:
    from llmsize.economics import HOURS_PER_MONTH, load_prices

    prices = load_prices()
    cloud = prices.server("dgx-h100", "cloud")
    onprem = prices.server("dgx-h100", "on-prem")
    assert cloud is not None and onprem is not None
    # Lambda's on-demand 8x H100 SXM: $3.99 per GPU-hour, read 2026-09-20 (data/prices.yaml)
    assert cloud.usd_per_hour == pytest.approx(8 * 3.99) and cloud.date == "2026-09-20"
    for server in ("hgx-h200", "dgx-b200"):  # the three GPUs, each with a dated rate
        rented = prices.server(server, "cloud")
        assert rented is not None and rented.date.startswith("2026-")
    assert onprem.usd_per_hour * HOURS_PER_MONTH == pytest.approx(270_000 / 36)
    assert "SemiAnalysis" in onprem.source and "2023-05" in onprem.source
    for price in prices.servers.values():
        assert price.source


def test_on_prem_basis_in_plan_and_capacity(tmp_path: object) -> None:
    from pathlib import Path

    import yaml

    path = Path(str(tmp_path)) / "uc.yaml"
    usecase = {**LLAMA_2_70B_CHAT, "cost": {"basis": "on-prem"}}
    path.write_text(yaml.safe_dump(usecase))
    doc = json.loads(run("plan", str(path), "--json", "--source", "measured").stdout)
    alt = doc["alternatives"][0]
    assert alt["cost_per_month_usd"] == pytest.approx(alt["servers"] * 7_500)
    path.write_text(yaml.safe_dump({**usecase, "cost": {"basis": "owned"}}))
    assert_one_line_error(run("plan", str(path)), "cost.basis")
    args = [*EXAMPLE_2_CAPACITY, "--json"]
    cap = json.loads(run(*args, "--basis", "on-prem").stdout)
    assert cap["cost_per_month_usd"] == pytest.approx(7_500)
    assert_one_line_error(run(*args, "--basis", "leased"), "--basis")


def test_bad_amortisation_is_one_line(tmp_path: object) -> None:
    from pathlib import Path

    args = [*EXAMPLE_2_CAPACITY, "--server-purchase-usd", "1000"]
    assert_one_line_error(run(*args, "--amortisation-months", "0"), "--amortisation-months")
    assert_one_line_error(run(*args, "--server-running-usd-per-month", "-1"), "--server-running")
    path = Path(str(tmp_path)) / "uc.yaml"
    text = (
        Path(__file__).parent.parent / "examples" / "usecases" / "seed-nemo-43b.yaml"
    ).read_text()
    path.write_text(text + "  server_purchase_usd: {dgx-h100: 1}\n  amortisation_months: 0\n")
    assert_one_line_error(run("plan", str(path)), "cost.amortisation_months")


def test_an_api_bills_a_cached_prefix_at_its_cached_input_rate(tmp_path: object) -> None:
    """The shared prefix at its hit rate is the share of input an API finds in its prompt
    cache: billed at cost.api_cached_input_per_1k_usd where given, else at the full input rate,
    and the answer says which."""
    from pathlib import Path

    import yaml

    from llmsize.api import plan

    example = Path(__file__).parent.parent / "examples" / "usecases"
    case = yaml.safe_load((example / "chat-cached-system-prompt.yaml").read_text())
    path = Path(str(tmp_path)) / "uc.yaml"
    case["cost"] = {**case.get("cost", {}), "api": "gpt-3.5-turbo-2024"}  # no cached rate
    path.write_text(yaml.safe_dump(case))
    full = plan(path, method="peak").api_cost
    uc = plan(path, method="peak").usecase
    assert uc.prefix is not None
    share = uc.prefix.cached_tokens / uc.input_tokens_total
    assert full.cached_share == 0.0 and "full input rate" in full.cached_note
    case["cost"] = {**case.get("cost", {}), "api_cached_input_per_1k_usd": 0.0}
    path.write_text(yaml.safe_dump(case))
    free = plan(path, method="peak").api_cost
    assert free.cached_share == pytest.approx(share)
    assert free.input_per_day_usd == pytest.approx(full.input_per_day_usd * (1 - share))
    assert free.output_per_day_usd == pytest.approx(full.output_per_day_usd)
    assert "billed at $0 / 1k" in free.cached_note
    case["cost"] = {"api": "claude-sonnet-5.5"}  # a packaged price with its cached-input rate
    path.write_text(yaml.safe_dump(case))
    packaged = plan(path, method="peak").api_cost
    assert packaged.cached_share == pytest.approx(share)
    assert "billed at $0.0001 / 1k" in packaged.cached_note
    assert packaged.input_per_day_usd == pytest.approx(
        full.input_per_day_usd / 0.0015 * ((1 - share) * 0.002 + share * 0.0001)
    )


def test_a_negative_cached_input_rate_is_one_line(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "uc.yaml"
    examples = Path(__file__).parent.parent / "examples" / "usecases"
    text = (examples / "seed-nemo-43b.yaml").read_text()
    path.write_text(text + "  api_cached_input_per_1k_usd: -0.001\n")  # into its cost:
    assert_one_line_error(run("plan", str(path)), "cost.api_cached_input_per_1k_usd")


def test_the_default_api_price_is_todays_and_dated() -> None:
    """The traffic is compared with a dated 2026 price unless a use case names another; the
    talk's GPT-3.5 price is one of the list, not the default."""
    from llmsize.economics import load_prices

    prices = load_prices()
    default = prices.api_price(None, "cost.api")
    assert default.date.startswith("2026") and default.id != "gpt-3.5-turbo-2024"
    assert all(p.source and p.date for p in prices.api.values())
    assert prices.api_price("gpt-3.5-turbo-2024", "cost.api").input_per_1k_usd == 0.0015


def test_an_unknown_api_price_is_one_line_with_did_you_mean(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "uc.yaml"
    examples = Path(__file__).parent.parent / "examples" / "usecases"
    text = (examples / "llama-70b-chat-2026.yaml").read_text()
    path.write_text(text + "cost:\n  api: gpt-5.6-terr\n")
    result = run("plan", str(path))
    assert_one_line_error(result, f"{path}: cost.api")
    assert "did you mean 'gpt-5.6-terra'" in result.output
    assert_one_line_error(run(*EXAMPLE_2_CAPACITY[:-2], "--api", "claude"), "--api")


def test_a_prompt_past_the_rates_limit_is_said_not_hidden() -> None:
    """Claude Haiku 5.5's rates hold for prompts up to 100K tokens: a longer prompt's API cost
    is a floor, and the cost says so."""
    from llmsize.economics import load_prices

    haiku = load_prices().api_price("claude-haiku-5.5", "cost.api")
    d = daily_capacity(1.0, 120_000, 500)
    assert "over 100,000 tokens" in api_cost(d, haiku, 120_000).notes
    assert api_cost(d, haiku, 90_000).notes == ""


def test_plan_api_flag_picks_the_price_the_traffic_is_compared_with() -> None:
    """plan --api ID overrides the use case's cost.api (the talk's example names GPT-3.5)."""
    from pathlib import Path

    case = str(Path(__file__).parent.parent / "examples" / "usecases" / "llama-2-70b-chat.yaml")
    talk = json.loads(run("plan", case, "--json").stdout)["api_cost"]
    today = json.loads(run("plan", case, "--json", "--api", "claude-haiku-5.5").stdout)
    assert talk["price"] == "gpt-3.5-turbo-2024"
    assert today["api_cost"]["price"] == "claude-haiku-5.5"
    assert today["api_cost"]["per_month_usd"] < talk["per_month_usd"]  # $0.10 / $0.50 per M
    assert_one_line_error(run("plan", case, "--api", "gpt-5.6-lun"), "did you mean 'gpt-5.6-luna'")


def test_a_bought_server_of_a_batch_job_costs_all_day_even_on_a_cloud_basis() -> None:
    """A purchase price given for a server (on-prem, amortised) is paid whether or not the job
    runs: only rented servers are billed for the batch job's window (the use case's basis is
    still the default, cloud)."""
    from llmsize.economics import amortised_price, given_server_price, plan_cost

    bought = amortised_price("dgx-b200", 360_000, 36, 0.0, "given in the use case")
    cost = plan_cost("dgx-b200", 2, 10.0, 250, 8, bought, "cloud", billed_hours_per_day=8)
    assert cost.billed_hours_per_day == 24
    assert cost.per_month_usd == pytest.approx(2 * bought.usd_per_hour * 730)
    rented = given_server_price("dgx-b200", "given", usd_per_hour=50.0)
    assert rented is not None
    cost = plan_cost("dgx-b200", 2, 10.0, 250, 8, rented, "cloud", billed_hours_per_day=8)
    assert cost.billed_hours_per_day == 8
    assert cost.per_month_usd == pytest.approx(2 * 50.0 * 730 * 8 / 24)
