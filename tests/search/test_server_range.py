"""A server count with its range (issue 12): the model's cross-validated error for the engine on
that GPU turned into the fewest and the most servers 90 % of the measured outcomes would need."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsize.api import plan
from llmsize.perf.calibration import shipped_calibration
from llmsize.search.steady import servers_range
from tests.cli.helpers import run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "usecases" / "llama-70b-chat-2026.yaml"


def test_the_70b_chat_example_gives_every_server_type_a_range() -> None:
    result = plan(EXAMPLE)
    assert result.engine == "vllm" and result.batching == "inflight"
    assert {p.server.id for p in result.plans} == {"dgx-h100", "hgx-h200", "dgx-b200"}
    for p in result.plans:
        assert p.best is not None and p.servers is not None
        span = servers_range(result.usecase.peak_rps, p.best)
        assert span is not None and span[0] <= p.servers <= span[1]


def test_the_range_follows_the_measured_error_on_that_gpu() -> None:
    """H200's vLLM runs are predicted less well than B200's: its range is the wider."""
    accuracy = shipped_calibration().accuracy
    for key in ("vllm on h200-sxm", "vllm on b200"):
        low, high = accuracy[key]["throughput_low"], accuracy[key]["throughput_high"]
        assert low < 1 < high
    width = {
        k: accuracy[k]["throughput_high"] / accuracy[k]["throughput_low"]
        for k in ("vllm on h200-sxm", "vllm on b200")
    }
    assert width["vllm on h200-sxm"] > width["vllm on b200"]


def test_json_carries_the_range_and_a_measured_answer_has_none() -> None:
    doc = json.loads(run("plan", str(EXAMPLE), "--json").stdout)
    rec = doc["recommendation"]
    assert rec["interval"] == 0.9 and rec["servers_low"] <= rec["servers"] <= rec["servers_high"]
    assert doc["engine"] == "vllm" and doc["batching"] == "inflight"
    headline = doc["headline"]
    assert headline["method"] == "replay" and headline["provenance"] == "simulated"
    assert headline["source"] == "fit vllm profile"
    seed = json.loads(
        run("plan", str(ROOT / "examples/usecases/seed-nemo-43b.yaml"), "--json").stdout
    )
    assert seed["recommendation"]["servers"] == 13  # the talk's worked example, measured
    assert seed["recommendation"]["servers_low"] is None and seed["batching"] == "static"
    assert (seed["headline"]["provenance"], seed["headline"]["source"]) == (
        "measured",
        "SEED_S62797",
    )


def test_a_borrowed_fit_widens_its_range_and_says_so(tmp_path: Path) -> None:
    """vLLM never ran on an A100: its profile is borrowed there, with a wider range."""
    path = ROOT / "examples" / "usecases" / "llama-70b-chat-2026.yaml"
    text = (
        path.read_text(encoding="utf-8")
        .replace("[dgx-h100, hgx-h200, dgx-b200]", "[dgx-a100]")
        .replace("[fp8, bf16]", "bf16")
    )
    usecase = tmp_path / "a100.yaml"
    usecase.write_text(text, encoding="utf-8")
    result = plan(usecase)
    (a100,) = result.plans
    assert a100.best is not None and a100.best.range_note.startswith("borrowed")


def test_the_headline_is_replayed_for_continuous_batching_and_the_rule_for_static() -> None:
    """One answer (issue 12): in flight, the digital twin's replayed count at the use case's
    load with its range; the talk's static calculator keeps its Poisson-peak 13 x DGX H100."""
    replayed = plan(EXAMPLE)
    headline = replayed.headline
    assert headline is not None and headline.method == "replay"
    assert replayed.simulated is not None and replayed.simulated.recommendation is not None
    assert headline.span is not None and headline.span[0] <= headline.servers <= headline.span[1]
    seed = plan(ROOT / "examples" / "usecases" / "seed-nemo-43b.yaml").headline
    assert seed is not None and (seed.method, seed.server, seed.servers) == ("peak", "dgx-h100", 13)
    fast = plan(EXAMPLE, method="peak")
    assert fast.simulated is None and fast.headline is not None
    assert fast.headline.method == "peak"


def test_the_replayed_headline_follows_the_ranking() -> None:
    """Where the plan was replayed, --rank orders the replayed answers: the fewest replayed
    servers, the lowest replayed percentile latency, the lowest cost of the replayed count."""
    for rank in ("servers", "latency", "cost"):
        result = plan(EXAMPLE, rank=rank)
        headline, sim = result.headline, result.simulated
        assert headline is not None and sim is not None and headline.method == "replay"
        replayed = {s.server.id: s.choice for s in sim.per_server if s.choice is not None}
        assert len(replayed) == 3  # H100, H200 and B200 each found a count
        if rank == "servers":
            assert headline.servers == min(c.servers for c in replayed.values())
        elif rank == "latency":
            p95 = {k: c.result.ttft_ms.at(sim.percentile) for k, c in replayed.items()}
            assert p95[headline.server] == min(p95.values())
        else:
            month = {k: result.costs[k].per_month_usd or 0.0 for k in replayed}
            assert month[headline.server] == min(month.values())


def test_the_twins_recommendation_is_the_headline_under_every_ranking() -> None:
    """The plan's replayed recommendation (text, report and JSON `simulated.recommendation`) is
    the one --rank puts first, never the twin's own fewest-servers pick: on the DeepSeek-R1
    example, H200, B200 and B300 each replay at one 8-GPU server, and the tie goes by the
    ranking's next key (cost under `servers`), not by catalog order."""
    example = ROOT / "examples" / "usecases" / "deepseek-r1-reasoning.yaml"
    for rank in ("servers", "latency", "cost"):
        result = plan(example, rank=rank)
        headline, sim = result.headline, result.simulated
        assert headline is not None and sim is not None and sim.recommendation is not None
        assert sim.recommendation.server.id == headline.server
        tied = [s for s in sim.per_server if s.choice is not None and s.choice.servers == 1]
        assert len(tied) >= 2  # the tie that makes this test able to fail
        month = {s.server.id: result.costs[s.server.id].per_month_usd for s in tied}
        if rank == "latency":
            metric = result.primary_metric
            pct = {
                s.server.id: getattr(s.choice.result, metric).at(sim.percentile)
                for s in tied
                if s.choice is not None
            }
            assert pct[headline.server] == min(pct.values())
        else:  # fewest servers, then (one server each) the cheapest; or the cheapest outright
            assert month[headline.server] == min(m for m in month.values() if m is not None)
    out = run("plan", str(example), "--rank", "latency", "--json")
    assert out.exit_code == 0
    doc = json.loads(out.stdout)
    assert doc["simulated"]["recommendation"]["server"] == doc["headline"]["server"]


def test_the_replayed_answer_carries_the_range_of_the_layout_it_replayed() -> None:
    """The headline's range is the replayed layout's own: DeepSeek-R1 replays at TP8 on the
    lowest-latency type, a layout the vLLM profile was cross-validated on, so it has a range (it
    said 'unvalidated', the steady state's attention-DP pick's word); gpt-oss-120b replays with
    attention DP, which no calibration run covers, so it has none (it showed the steady state's
    TP1 range)."""
    example = ROOT / "examples" / "usecases" / "deepseek-r1-reasoning.yaml"
    deepseek = plan(example, rank="latency").headline
    assert deepseek is not None and deepseek.config.endswith("TP8")
    assert deepseek.span is not None and deepseek.note == ""
    gpt_oss = plan(ROOT / "examples" / "usecases" / "gpt-oss-120b-chat.yaml").headline
    assert gpt_oss is not None and "DP" in gpt_oss.config
    assert gpt_oss.span is None and gpt_oss.note == "unvalidated"


def test_costs_price_the_replayed_counts() -> None:
    """A server type the twin sized is priced at its replayed count, not the steady state's,
    and every cost line and JSON alternative says which count it prices."""
    result, peak = plan(EXAMPLE), plan(EXAMPLE, method="peak")
    assert result.simulated is not None
    for s in result.simulated.per_server:
        assert s.choice is not None
        steady = next(p.servers for p in peak.plans if p.server == s.server)
        at_steady = peak.costs[s.server.id].per_month_usd
        assert steady is not None and at_steady is not None
        replayed_month = result.costs[s.server.id].per_month_usd
        assert replayed_month == pytest.approx(at_steady / steady * s.choice.servers)
        assert result.answered[s.server.id] == (s.choice.servers, "replay")
    assert any(  # the example has a type whose counts differ, so the test can fail
        result.answered[p.server.id][0] != p.servers for p in peak.plans
    )
    out = run("plan", str(EXAMPLE), "--json")
    assert out.exit_code == 0
    doc = json.loads(out.stdout)
    for alt in doc["alternatives"]:
        assert alt["answered_by"] == "replay"
        replayed = next(
            a["choice"]["servers"]
            for a in doc["simulated"]["alternatives"]
            if a["server"] == alt["server"]
        )
        assert alt["answered_servers"] == replayed
