"""plan --disaggregated: a prefill/decode deployment per server type beside the aggregated one."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from llmsize.api import plan
from llmsize.perf.disaggregated import disaggregated_times, pool_setup, shares_domain
from tests.cli.helpers import assert_one_line_error, run

EXAMPLES = Path(__file__).parents[2] / "examples" / "usecases"
CASE = EXAMPLES / "deepseek-r1-disaggregated-gb200.yaml"


def test_each_server_type_gets_the_fewest_servers_its_units_need() -> None:
    result = plan(CASE, method="peak", disaggregated=True)
    options = {o.server.id: o for o in result.disaggregated if o.decode_server is None}
    assert set(options) == {"gb200-nvl72", "dgx-b200"}
    for option in options.values():
        c = option.choice
        assert c is not None, option.reason
        t = c.times
        limits = result.usecase.limits
        assert limits.holds(t.ttft_ms, t.itl_ms, t.e2e_ms)
        assert c.units == math.ceil(result.usecase.peak_rps / t.rps)
        assert c.servers == math.ceil(c.gpus / c.server.gpus)
        # one more request per unit would break a limit (the unit's load is its most)
        ctx_model = result.usecase.model
        from llmsize.catalog import load_catalog
        from llmsize.perf.calibration import load_calibration

        catalog = load_catalog()
        gpu = catalog.gpu_of(c.server)
        p, _ = pool_setup(ctx_model, gpu, c.server, c.prefill, c.precision, "trtllm",
                          load_calibration(None), catalog, c.prefill_workers)  # fmt: skip
        d, _ = pool_setup(ctx_model, gpu, c.server, c.decode, c.precision, "trtllm",
                          load_calibration(None), catalog, c.decode_workers)  # fmt: skip
        more = disaggregated_times(
            p, d, c.concurrency_per_unit + 1, result.usecase.input_tokens_total,
            result.usecase.output_tokens, shares_domain(p, c.server, d, c.server),
        )  # fmt: skip
        assert not limits.holds(more.ttft_ms, more.itl_ms, more.e2e_ms)
    assert options["gb200-nvl72"].choice is not None
    assert options["gb200-nvl72"].choice.kv_link == "nvlink"
    assert options["dgx-b200"].choice is not None
    assert options["dgx-b200"].choice.kv_link == "network"


def test_the_json_and_the_report_carry_the_comparison(tmp_path: Path) -> None:
    result = run("plan", str(CASE), "--method", "peak", "--disaggregated", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["disaggregated"]
    assert {r["server"] for r in rows} == {"gb200-nvl72", "dgx-b200"}
    assert {r["decode_server"] for r in rows} == {None, "gb200-nvl72", "dgx-b200"}
    assert all(r["servers"] >= 1 and r["provenance"] == "modelled" for r in rows)
    report = tmp_path / "r.md"
    made = run("plan", str(CASE), "--method", "peak", "--disaggregated", "--report", str(report))
    assert made.exit_code == 0, made.output
    text = report.read_text()
    assert "## Disaggregated alternative" in text and "not replayed" in text
    table = run("plan", str(CASE), "--method", "peak", "--disaggregated")
    assert "Disaggregated" in table.stdout and "against" in table.stdout


def test_disaggregated_is_refused_for_static_batches() -> None:
    case = EXAMPLES / "seed-nemo-43b.yaml"
    assert_one_line_error(run("plan", str(case), "--disaggregated"), "--disaggregated")


def test_the_disaggregated_answer_is_replayed_in_the_twin() -> None:
    """plan --disaggregated (the default method): each choice is replayed in the disaggregated
    twin at the use case's load, and the fewest units that keep every limit are found; with
    --method peak nothing is replayed."""
    replayed = plan(CASE, disaggregated=True)
    for option in replayed.disaggregated:
        if option.decode_server is not None:
            continue  # a pair of server types: test_pools_of_two_server_types_...
        c = option.choice
        assert c is not None and option.replayed is not None
        assert not option.misses and option.replayed_units >= 1
        assert option.servers == option.replayed_servers
        unit_gpus = c.prefill.gpus * c.prefill_workers + c.decode.gpus * c.decode_workers
        assert option.replayed_servers == math.ceil(
            option.replayed_units * unit_gpus / c.server.gpus
        )
        q = replayed.usecase.percentile
        limits = replayed.usecase.limits
        assert limits.first_token_ms is not None
        assert option.replayed.ttft_ms.at(q) <= limits.first_token_ms
    steady = plan(CASE, method="peak", disaggregated=True)
    assert all(o.replayed is None for o in steady.disaggregated)


def test_the_kv_cache_precision_asked_is_the_one_the_model_and_the_twin_hold() -> None:
    """hardware.kv_precision reaches the steady-state model's pools as it reaches the twin's
    (the model once held the weights' precision while the twin held the asked one): the same
    unit of a BF16 model ships its prompt's KV cache in half the time held in FP8."""
    from dataclasses import replace

    from llmsize.deployment import Layout
    from llmsize.perf.context import PerfOptions, perf_context
    from llmsize.search.disaggregated import UnitAsk, _unit

    result = plan(EXAMPLES / "llama-70b-chat-2026.yaml", method="peak")
    uc = replace(result.usecase, precision="bf16", precisions=("bf16",))
    context = perf_context({uc.model.id}, PerfOptions.of("model", None, "vllm", (), "inflight"))
    server = next(s for s in uc.servers if s.id == "dgx-b200")
    units = [
        _unit(UnitAsk.of(replace(uc, kv_precision=kv)), context, server, "bf16", Layout(tp=4),
              1, Layout(tp=4), 1)
        for kv in (None, "fp8")
    ]  # fmt: skip
    bf16, fp8 = units
    assert bf16 is not None and fp8 is not None and bf16.kv_link == fp8.kv_link
    assert fp8.times.transfer_ms == pytest.approx(bf16.times.transfer_ms / 2)


def test_pools_of_two_server_types_count_price_and_replay_each_type() -> None:
    """A pair of server types (prefill on one GPU, decode on another): each pool's servers
    counted on its own type, the KV cache over the network, the cost the two types' prices
    added up, and the twin running each pool on its own GPU."""
    from llmsize.economics import load_prices
    from llmsize.perf.context import PerfOptions, perf_context
    from llmsize.search.disaggregated import _twin

    case = EXAMPLES / "llama-70b-chat-2026.yaml"
    result = plan(case, method="peak", disaggregated=True)
    pairs = [o for o in result.disaggregated if o.decode_server is not None]
    assert pairs, [o.reason for o in result.disaggregated]
    prices = load_prices()
    for option in pairs:
        c = option.choice
        assert c is not None and c.kv_link == "network" and option.decode_server is not None
        prefill_gpus = c.units * c.prefill.gpus * c.prefill_workers
        decode_gpus = c.units * c.decode.gpus * c.decode_workers
        assert dict((box.id, n) for box, n in c.counts) == {
            c.server.id: math.ceil(prefill_gpus / c.server.gpus),
            option.decode_server.id: math.ceil(decode_gpus / option.decode_server.gpus),
        }
        hourly, sources = 0.0, []
        for box, n in c.counts:
            price = prices.server(box.id, "cloud")
            assert price is not None
            hourly += n * price.usd_per_hour
            sources.append(price.source)
        assert option.cost is not None and option.cost.per_month_usd == pytest.approx(hourly * 730)
        assert all(source in (option.cost.server_price_source or "") for source in sources)
    option = pairs[0]
    c = option.choice
    assert c is not None
    context = perf_context(
        {result.usecase.model.id}, PerfOptions.of("model", None, result.engine, (), "inflight")
    )
    prefill = _twin(result.usecase, context, c, c.prefill, c.prefill_workers)
    decode = _twin(result.usecase, context, c, c.decode, c.decode_workers, decoding=True)
    assert prefill.gpu.id == context.catalog.gpu_of(c.server).id
    assert decode.gpu.id == context.catalog.gpu_of(c.decode_box).id != prefill.gpu.id
