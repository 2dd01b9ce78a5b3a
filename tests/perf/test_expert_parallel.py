"""Expert-parallel and attention-data-parallel layouts in the model (issue 11): what each layout
holds per GPU, what its collectives cost, and that plans enumerate them."""

from __future__ import annotations

import json
from pathlib import Path

from llmsize.catalog import load_catalog
from llmsize.deployment import Layout
from llmsize.perf.candidates import moe_layouts
from llmsize.perf.memory import memory_fit
from llmsize.perf.roofline import Setup, collectives, decode_work
from tests.cli.helpers import run

CATALOG = load_catalog()
ROOT = Path(__file__).resolve().parents[2]
R1 = CATALOG.resolve_model("deepseek-ai/DeepSeek-R1", "model")
H200 = CATALOG.gpus.get("h200-sxm", "gpu")


def _setup(tp: int, dp: int = 1, ep: int = 1, domain: int = 8) -> Setup:
    return Setup(R1, H200, tp, "fp8-block", domain, attention_dp=dp, ep=ep)


def test_attention_data_parallel_ranks_each_hold_whole_latents_for_their_own_sequences() -> None:
    """MLA's latent is not split by TP: at TP8 every GPU caches every sequence's latent, while
    eight DP ranks each cache only theirs, so the replica holds about eight times the
    sequences (less the dense weights every rank keeps a copy of)."""
    tp8 = memory_fit(R1, H200, 8, "fp8-block", 4096)
    dp8 = memory_fit(R1, H200, 1, "fp8-block", 4096, attention_dp=8)
    assert dp8.weights_gib > tp8.weights_gib  # attention and dense layers replicated per rank
    assert dp8.kv_gib_per_sequence == tp8.kv_gib_per_sequence
    assert 8 * dp8.max_batch > 4 * tp8.max_batch


def test_expert_all_to_all_carries_each_tokens_top_k_copies() -> None:
    tokens = 512.0
    tp_only, _ = collectives(_setup(8), tokens)
    ep8, ep_calls = collectives(_setup(8, ep=8), tokens)
    dp8, _ = collectives(_setup(1, dp=8, ep=8), tokens)
    _, tp_calls = collectives(_setup(8), tokens)
    assert ep_calls > tp_calls  # a dispatch and a combine per MoE layer for its all-reduce
    assert ep8 == tp_only  # top-8 over 8 ranks moves what the all-reduce moved
    assert 0 < dp8 < ep8  # no attention all-reduce in TP1 ranks; only the experts' all-to-all
    moe_layers = sum(m.count for m in _setup(8).costs.moe)
    copies = tokens / 8 * 8  # per GPU: its share of the tokens, top-8 each
    expected = moe_layers * 2 * 7 / 8 * copies * R1.hidden * 2.0
    assert dp8 == expected


def test_a_replica_wider_than_the_nvlink_domain_runs_its_all_to_all_over_the_network() -> None:
    inside = _setup(1, dp=16, ep=16, domain=72).link_bandwidth
    across = _setup(1, dp=16, ep=16, domain=8).link_bandwidth
    assert across == 50e9 < inside


def test_attention_dp_ranks_read_their_own_weights_and_split_the_rows() -> None:
    one = decode_work(_setup(8), 64, 2048)
    ranks = decode_work(_setup(1, dp=8, ep=8), 64, 2048)
    assert ranks.bytes_weights == 8 * one.bytes_weights  # eight copies of the dense parts
    assert ranks.tokens == one.tokens / 8  # each rank's matmuls see its 8 sequences


def test_moe_layouts_within_the_domain_and_none_for_dense_models() -> None:
    dgx = CATALOG.servers.get("hgx-h200", "server")
    labels = [layout.label for layout in moe_layouts(R1, dgx)]
    assert "TP8 EP8" in labels and "TP1×DP8 EP8" in labels
    nvl72 = CATALOG.servers.get("gb200-nvl72", "server")
    assert "TP1×DP64 EP64" in [layout.label for layout in moe_layouts(R1, nvl72)]
    llama = CATALOG.models.get("llama-3-70b", "model")
    assert moe_layouts(llama, dgx) == []
    assert Layout(tp=8, ep=8).moe_tp == 1


def test_the_deepseek_r1_plan_shows_expert_parallel_and_spanning_layouts() -> None:
    """The shipped example: EP layouts on the servers that hold R1, and two-server pipeline
    replicas on DGX H100, which does not."""
    path = ROOT / "examples" / "usecases" / "deepseek-r1-reasoning.yaml"
    result = run("plan", str(path), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = [doc["recommendation"], *doc["alternatives"]]
    layouts = {(row["server"], row["layout"]) for row in rows}
    assert any("EP8" in layout for _, layout in layouts), layouts
    assert ("dgx-h100", "TP8×PP2") in layouts
    table = run("plan", str(path)).stdout
    assert "EP8" in table and "2 servers per replica" in table
