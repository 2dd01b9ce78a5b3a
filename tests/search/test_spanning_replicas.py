"""A model too big for one server plans as replicas spanning whole servers (issue 11): Llama-3.1-
405B in BF16 needs 756 GiB of weights, more than a DGX H100's 8 × 80 GiB, so each replica is
TP8 × PP2 over two servers and the plan counts servers in pairs."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from llmsize.search.steady import servers_needed
from tests.cli.helpers import run

USECASE = """\
name: summaries-405b-bf16
model: llama-3.1-405b
input_tokens: 2000
output_tokens: 200
latency:
  last_token_ms: 60000
load:
  avg_rps: 2
hardware:
  server: dgx-h100
  precision: bf16
"""


def test_405b_in_bf16_plans_as_two_server_replicas_on_dgx_h100(tmp_path: Path) -> None:
    path = tmp_path / "uc.yaml"
    path.write_text(USECASE)
    result = run("plan", str(path), "--json")
    assert result.exit_code == 0, result.output
    best = json.loads(result.stdout)["recommendation"]
    assert (best["server"], best["layout"], best["servers_per_replica"]) == (
        "dgx-h100",
        "TP8×PP2",
        2,
    )
    assert best["servers"] % 2 == 0
    assert best["error_pct"] is None  # no pipeline-parallel run was ever measured
    table = run("plan", str(path))
    assert "2 servers per replica" in table.stdout


@settings(max_examples=200, deadline=None)
@given(
    peak=st.floats(0.01, 500),
    per_server=st.floats(0.01, 50),
    per_replica=st.integers(1, 4),
)
def test_servers_come_in_whole_replicas(peak: float, per_server: float, per_replica: int) -> None:
    servers = servers_needed(peak, per_server, per_replica)
    assert servers % per_replica == 0
    assert servers * per_server >= peak * (1 - 1e-9)
    assert servers_needed(peak * 2, per_server, per_replica) >= servers  # more load, never fewer
