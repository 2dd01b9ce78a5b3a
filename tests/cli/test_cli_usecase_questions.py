"""`configs` and `capacity` asked with a use case (the file `plan` takes) in place of the workload
flags: the same answer as the flags where the use case says nothing more, and its prefix cache,
batch window and batching credited where it does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsize.economics import daily_capacity, load_prices
from tests.cli.helpers import assert_one_line_error, run
from tests.conftest import EXAMPLES

CHAT = EXAMPLES / "llama-70b-chat-2026.yaml"  # 1,500 in / 300 out, TTFT 1 s, ITL 50 ms, no prompt
CACHED = EXAMPLES / "chat-cached-system-prompt.yaml"  # 6,000 of 6,600 tokens a cached prefix
BATCH = EXAMPLES / "overnight-batch-job.yaml"  # 2 M requests within 8 hours
TALK = EXAMPLES / "seed-nemo-43b.yaml"  # batching: static, one server type (DGX H100)
CHAT_FLAGS = (
    "--model",
    "llama-3.1-70b",
    "--input-tokens",
    "1500",
    "--output-tokens",
    "300",
    "--first-token-ms",
    "1000",
    "--inter-token-ms",
    "50",
)


def doc_of(*args: str) -> dict[str, object]:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_a_use_case_asks_what_its_flags_ask() -> None:
    """The 70B chat case states nothing beyond its lengths, limits and precisions (FP8 and
    BF16), so capacity and configs answer it as the same flags do."""
    from_file = doc_of("capacity", str(CHAT), "--server", "dgx-h100")
    from_flags = doc_of("capacity", *CHAT_FLAGS, "--server", "dgx-h100")
    assert from_file["rps_per_server"] == from_flags["rps_per_server"]
    assert from_file["config"] == from_flags["config"]
    usecase = from_file["usecase"]
    assert isinstance(usecase, dict) and usecase["name"] == "llama-70b-chat-2026"
    assert usecase["prefix_cache"] is None and usecase["engine"] == "vllm"
    assert "usecase" not in from_flags
    configs_file = doc_of("configs", str(CHAT), "--server", "hgx-h200")
    configs_flags = doc_of("configs", *CHAT_FLAGS, "--gpu", "h200-sxm", "--server", "hgx-h200")
    assert configs_file["throughput_optimal"] == configs_flags["throughput_optimal"]
    assert configs_file["configs"] == configs_flags["configs"]


def test_the_use_cases_prefix_cache_is_credited() -> None:
    """A 6,000-token system prompt served from the prefix cache leaves 600 tokens a request to
    prefill: the server answers more requests than with every prompt prefilled whole, and says
    why, in the text and the JSON."""
    cached = doc_of("capacity", str(CACHED), "--server", "dgx-b200")
    whole = doc_of(
        "capacity",
        *("--model", "llama-3.1-70b", "--server", "dgx-b200", "--precision", "fp8"),
        *("--input-tokens", "6600", "--output-tokens", "250"),
        *("--first-token-ms", "1000", "--inter-token-ms", "50"),
    )
    assert isinstance(cached["rps_per_server"], float)
    assert isinstance(whole["rps_per_server"], float)
    assert cached["rps_per_server"] > 1.2 * whole["rps_per_server"]
    usecase = cached["usecase"]
    assert isinstance(usecase, dict) and "prefills 600 of its 6,600" in str(usecase["prefix_cache"])
    text = run("capacity", str(CACHED), "--server", "dgx-b200").stdout
    assert "prefix cache: 6,000 tokens (the system prompt)" in text


def test_a_batch_job_runs_its_servers_full_all_window() -> None:
    """A batch job's requests wait in a queue: a day's work is the capacity over its 8-hour
    window, with no headroom kept for a Poisson peak (the interactive rule keeps some)."""
    doc = doc_of("capacity", str(BATCH), "--server", "dgx-b200")
    peak = doc["rps_per_server"]
    assert isinstance(peak, float) and doc["queued"] is True
    assert doc["avg_rps_per_server"] == peak
    assert doc["requests_per_day"] == pytest.approx(peak * 8 * 3600)
    interactive = daily_capacity(peak, 3120, 250, 8)
    assert interactive.requests_per_day < 0.95 * peak * 8 * 3600
    text = run("capacity", str(BATCH), "--server", "dgx-b200").stdout
    assert "per 8-hour window" in text and "no Poisson peak" in text and "users" not in text


def test_the_use_cases_batching_and_its_only_server_need_no_flags() -> None:
    """The talk's example states static batches and one server type: capacity answers it with
    the talk's measured DGX H100 figures, as --mode static does."""
    from_file = doc_of("capacity", str(TALK))
    assert isinstance(from_file["config"], dict)
    assert from_file["config"]["provenance"] == "measured"
    usecase = from_file["usecase"]
    assert isinstance(usecase, dict) and usecase["batching"] == "static"
    assert from_file["server"] == "dgx-h100"


def test_flags_beside_a_use_case_override_its_limits() -> None:
    loose = doc_of("configs", str(CHAT), "--server", "dgx-h100")
    tight = doc_of("configs", str(CHAT), "--server", "dgx-h100", "--first-token-ms", "200")
    assert isinstance(loose["limits"], dict) and isinstance(tight["limits"], dict)
    assert tight["limits"]["first_token_ms"] == 200
    assert tight["limits"]["inter_token_ms"] == loose["limits"]["inter_token_ms"] == 50


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("capacity", str(CHAT)), ("--server", "dgx-h100, hgx-h200, dgx-b200")),
        (("configs", str(CHAT)), ("--server", "name one")),
        (("capacity", str(CHAT), "--server", "dgx-h100", "--model", "qwen3-32b"), ("--model",)),
        (("configs", str(TALK), "--input-tokens", "100"), ("--input-tokens", "beside")),
        (("capacity", "--server", "dgx-h100", "--input-tokens", "9"), ("--model", "required")),
        (("configs", "--model", "llama-3.1-70b", "--gpu", "h100-sxm"), ("--input-tokens",)),
        (("configs", *CHAT_FLAGS), ("--gpu", "required")),
        (("configs", str(CHAT), "--server", "dgx-h100", "--disaggregated"), ("--disaggregated",)),
        (("capacity", str(CHAT), "--server", "dgx-h100", "--engine", "vlm"), ("--engine", "vllm")),
        (("capacity", "missing.yaml", "--server", "dgx-h100"), ("missing.yaml",)),
    ],
)
def test_a_use_case_question_refuses_in_one_line(
    args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    assert_one_line_error(run(*args), *fragments)


def test_a_use_case_engine_field_is_named_where_it_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(CHAT.read_text() + "engine: sglng\n")
    assert_one_line_error(run("capacity", str(bad), "--server", "dgx-h100"), "engine", "sglang")


def priced_case(tmp_path: Path, cost: str) -> Path:
    """The 70B chat case with a `cost:` section of its own."""
    path = tmp_path / "priced.yaml"
    path.write_text(CHAT.read_text() + "cost:\n" + cost)
    return path


def test_the_use_cases_prices_apply_where_no_flag_gives_them(tmp_path: Path) -> None:
    """Its server price, API, rates and hours of traffic are the use case's, as `plan` prices
    it; a flag replaces the one it gives."""
    case = priced_case(
        tmp_path,
        "  server_usd_per_hour: {dgx-h100: 20.0}\n"
        "  api: gpt-3.5-turbo-2024\n  api_output_per_1k_usd: 0.004\n  hours_per_day: 12\n",
    )
    doc = doc_of("capacity", str(case), "--server", "dgx-h100")
    assert doc["cost_per_month_usd"] == pytest.approx(20.0 * 730)
    assert doc["server_price_source"] == "given in the use case"
    api = doc["api_cost"]
    assert isinstance(api, dict) and "gpt-3.5-turbo-2024" in str(api["price_source"])
    output_tokens = doc["output_tokens_per_day"]
    assert isinstance(output_tokens, float)
    assert api["output_per_day_usd"] == pytest.approx(output_tokens / 1000 * 0.004)
    avg = doc["avg_rps_per_server"]
    assert isinstance(avg, float) and doc["requests_per_day"] == pytest.approx(avg * 12 * 3600)
    flagged = doc_of(
        "capacity", str(case), "--server", "dgx-h100", "--server-usd-per-hour", "30",
        "--hours-per-day", "8",
    )  # fmt: skip
    assert flagged["cost_per_month_usd"] == pytest.approx(30.0 * 730)
    assert flagged["requests_per_day"] == pytest.approx(avg * 8 * 3600)


def test_a_cached_prefix_is_billed_at_the_apis_cached_input_rate() -> None:
    """6,000 of 6,600 input tokens are the cached system prompt: the API bills them at its
    cached-input rate ($0.20 against $2.00 per million for the default API), as plan does."""
    doc = doc_of("capacity", str(CACHED), "--server", "dgx-b200")
    api = doc["api_cost"]
    tokens = doc["input_tokens_per_day"]
    assert isinstance(api, dict) and isinstance(tokens, float)
    price = load_prices().api_price(None, "--api")
    assert price.cached_input_per_1k_usd is not None
    share = 6000 / 6600
    rate = (1 - share) * price.input_per_1k_usd + share * price.cached_input_per_1k_usd
    billed = tokens / 1000 * rate
    assert api["input_per_day_usd"] == pytest.approx(billed)


def test_a_batch_jobs_rented_server_is_billed_for_its_window() -> None:
    """Rented servers run the 8-hour window a day, as plan bills a batch job."""
    doc = doc_of("capacity", str(BATCH), "--server", "dgx-b200")
    price = load_prices().server("dgx-b200", "cloud")
    assert price is not None
    assert doc["cost_per_month_usd"] == pytest.approx(price.usd_per_hour * 730 * 8 / 24)
    assert "rented 8 h a day" in run("capacity", str(BATCH), "--server", "dgx-b200").stdout
