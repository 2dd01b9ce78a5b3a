"""`plan --rank servers|cost|latency` (issue 12): how the recommendation is picked among the server
types that meet the limits."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import assert_one_line_error, run
from tests.search.usecases import chat_70b

USECASE = chat_70b("[dgx-h100, hgx-h200, dgx-b200]", "fp8")


def _plan(tmp_path: Path, text: str, *flags: str) -> dict[str, object]:
    path = tmp_path / "uc.yaml"
    path.write_text(text)
    result = run("plan", str(path), "--json", *flags)
    assert result.exit_code == 0, result.output
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def _rows(doc: dict[str, object]) -> list[dict[str, object]]:
    """Every planned server type (the plan's per-server rows)."""
    rows: list[dict[str, object]] = doc["alternatives"]  # type: ignore[assignment]
    return [r for r in rows if r.get("servers")]


def test_cost_picks_the_cheapest_priced_server_type(tmp_path: Path) -> None:
    prices = "cost:\n  server_usd_per_hour: {dgx-h100: 90, hgx-h200: 30, dgx-b200: 200}\n"
    doc = _plan(tmp_path, USECASE + prices, "--rank", "cost")
    rec = doc["recommendation"]
    assert isinstance(rec, dict)
    monthly = {r["server"]: r["cost_per_month_usd"] for r in _rows(doc)}
    assert rec["server"] == min(monthly, key=lambda s: monthly[s])  # type: ignore[arg-type,return-value]
    flipped = "cost:\n  server_usd_per_hour: {dgx-h100: 1, hgx-h200: 300, dgx-b200: 400}\n"
    assert _plan(tmp_path, USECASE + flipped, "--rank", "cost")["recommendation"]["server"] == (  # type: ignore[index]
        "dgx-h100"
    )


def test_latency_picks_the_fastest_first_token(tmp_path: Path) -> None:
    doc = _plan(tmp_path, USECASE, "--rank", "latency")
    rows = _rows(doc)
    rec = doc["recommendation"]
    assert isinstance(rec, dict)
    assert rec["ttft_ms"] == min(r["ttft_ms"] for r in rows)  # type: ignore[type-var]


def test_servers_is_the_default(tmp_path: Path) -> None:
    default = _plan(tmp_path, USECASE)
    assert (
        _plan(tmp_path, USECASE, "--rank", "servers")["recommendation"] == default["recommendation"]
    )
    rec = default["recommendation"]
    assert isinstance(rec, dict)
    assert rec["servers"] == min(r["servers"] for r in _rows(default))  # type: ignore[type-var]


def test_cost_without_any_price_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "uc.yaml"
    path.write_text(USECASE.replace("[dgx-h100, hgx-h200, dgx-b200]", "dgx-b300"))  # no price
    assert_one_line_error(run("plan", str(path), "--rank", "cost"), "--rank", "price")
    assert_one_line_error(run("plan", str(path), "--rank", "speed"), "--rank")
