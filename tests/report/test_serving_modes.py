"""plan --disaggregated: every answer of both serving modes, ranked as --rank ranks server types,
and the cheapest priced one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsize.api import plan
from llmsize.report.serving_modes import answers, best, cheapest
from llmsize.search.steady import rank_key
from tests.cli.helpers import run

CASE = Path(__file__).parents[2] / "examples" / "usecases" / "llama-70b-chat-2026.yaml"


def test_the_cheapest_is_the_lowest_cost_of_every_priced_answer() -> None:
    result = plan(CASE, method="peak", disaggregated=True)
    found = [a for a in answers(result) if a.per_month_usd is not None]
    modes = {p.serving_mode for p in found}
    assert modes == {"aggregated", "disaggregated"}
    aggregated = [
        result.costs[p.server.id].per_month_usd
        for p in result.plans
        if p.servers and result.costs.get(p.server.id)
    ]
    disaggregated = [o.cost.per_month_usd for o in result.disaggregated if o.cost]
    lowest = min(c for c in (*aggregated, *disaggregated) if c is not None)
    best = cheapest(result)
    assert best is not None and best.per_month_usd == pytest.approx(lowest)
    assert best.method == "peak"  # --method peak: nothing replayed


def test_the_json_and_the_table_name_it() -> None:
    doc = json.loads(run("plan", str(CASE), "--method", "peak", "--disaggregated", "--json").stdout)
    best = doc["cheapest"]
    assert best["serving_mode"] in ("aggregated", "disaggregated")
    assert best["servers"] == sum(best["servers_by_type"].values())
    costs = [a["cost_per_month_usd"] for a in doc["alternatives"] if "cost_per_month_usd" in a]
    costs += [d["cost_per_month_usd"] for d in doc["disaggregated"] if d["cost_per_month_usd"]]
    assert best["cost_per_month_usd"] == pytest.approx(min(costs), abs=0.01)
    table = run("plan", str(CASE), "--method", "peak", "--disaggregated")
    assert "Cheapest priced deployment:" in table.stdout
    assert "First by --rank servers of both serving modes:" in table.stdout


@pytest.mark.parametrize("rank", ["servers", "cost", "latency"])
def test_rank_orders_the_answers_of_both_serving_modes(rank: str) -> None:
    """--rank ranges over the disaggregated answers as over the server types: the first is the
    fewest servers, the lowest cost or the lowest primary latency of every answer."""
    result = plan(CASE, method="peak", disaggregated=True, rank=rank)
    found = answers(result)
    assert {a.serving_mode for a in found} == {"aggregated", "disaggregated"}
    first = best(result)
    assert first is not None
    if rank == "servers":
        assert first.servers == min(a.servers for a in found)
    elif rank == "cost":
        assert first == cheapest(result)
    else:
        assert first.latency_ms == min(a.latency_ms for a in found)
    doc = json.loads(
        run(
            "plan", str(CASE), "--method", "peak", "--disaggregated", "--rank", rank, "--json"
        ).stdout
    )
    assert doc["ranked_first"]["rank"] == rank
    assert doc["ranked_first"]["servers"] == first.servers
    table = run("plan", str(CASE), "--method", "peak", "--disaggregated", "--rank", rank).stdout
    assert f"First by --rank {rank} of both serving modes:" in table
    assert ("Cheapest priced deployment:" in table) == (rank != "cost")  # said once


@pytest.mark.parametrize("rank", ["servers", "cost", "latency"])
def test_over_aggregated_answers_the_rank_picks_the_plans_recommendation(rank: str) -> None:
    """One --rank order (search/steady.rank_key): where both see the same counts (the steady
    state's), the first aggregated answer is the server type the plan recommends."""
    result = plan(CASE, method="peak", rank=rank)
    found = [a for a in answers(result) if a.serving_mode == "aggregated"]
    assert len(found) > 1 and result.recommendation is not None
    first = min(
        found, key=lambda a: rank_key(rank, a.servers, a.gpus, a.per_month_usd, a.latency_ms)
    )
    assert first.where == result.recommendation.server.id
    assert best(result) == first
