"""plan --disaggregated: the cheapest priced answer of all, aggregated or disaggregated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsize.api import plan
from llmsize.report.cheapest import cheapest, priced
from tests.cli.helpers import run

CASE = Path(__file__).parents[2] / "examples" / "usecases" / "llama-70b-chat-2026.yaml"


def test_the_cheapest_is_the_lowest_cost_of_every_priced_answer() -> None:
    result = plan(CASE, method="peak", disaggregated=True)
    found = priced(result)
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
