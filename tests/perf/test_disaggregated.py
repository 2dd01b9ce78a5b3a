"""Disaggregated serving in steady state (perf/disaggregated.py) and `estimate_disaggregated`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmsize.api import estimate_disaggregated
from llmsize.catalog import load_catalog
from llmsize.deployment import Layout
from llmsize.errors import InputError
from llmsize.perf.calibration import load_calibration
from llmsize.perf.disaggregated import (
    PoolSetup,
    disaggregated_times,
    median_errors,
    pool_setup,
)
from llmsize.perf.roofline import decode_work, pass_seconds

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog()
CALIBRATION = load_calibration(None)


def _pools(prefill_workers: int = 1, decode_workers: int = 2) -> tuple[PoolSetup, PoolSetup]:
    model = CATALOG.resolve_model("deepseek-ai/DeepSeek-R1", "model")
    gpu = CATALOG.gpus.get("b200", "gpu")
    server = CATALOG.servers.get("dgx-b200", "server")
    prefill, _ = pool_setup(
        model, gpu, server, Layout(attention_dp=4, ep=4), "nvfp4", "trtllm", CALIBRATION,
        CATALOG, prefill_workers,
    )  # fmt: skip
    decode, _ = pool_setup(
        model, gpu, server, Layout(attention_dp=8, ep=8), "nvfp4", "trtllm", CALIBRATION,
        CATALOG, decode_workers,
    )  # fmt: skip
    return prefill, decode


def test_the_inter_token_latency_is_a_plain_decode_step_at_the_decode_batch() -> None:
    """No prefill ever rides a decode worker's step: its ITL is a decode step alone."""
    prefill, decode = _pools(decode_workers=2)
    t = disaggregated_times(prefill, decode, 256, 1024, 512, shared_domain=False)
    assert t.decode_batch == 128
    step = pass_seconds(
        decode_work(decode.setup, 128, 1024 + 256), decode.params, decode.params.step_overhead_ms
    )
    assert t.itl_ms == pytest.approx(step * 1e3)


@settings(deadline=None, max_examples=30)
@given(st.integers(1, 4096), st.integers(1, 8), st.integers(1, 8))
def test_more_decode_workers_never_slow_decode(concurrency: int, workers: int, more: int) -> None:
    prefill, fewer = _pools(decode_workers=workers)
    _, wider = _pools(decode_workers=workers + more)
    a = disaggregated_times(prefill, fewer, concurrency, 2048, 256, shared_domain=False)
    b = disaggregated_times(prefill, wider, concurrency, 2048, 256, shared_domain=False)
    assert b.itl_ms <= a.itl_ms * (1 + 1e-9)
    assert b.rps >= a.rps * (1 - 1e-9)


def test_a_cached_half_of_the_prompt_halves_prefill_work_and_what_crosses() -> None:
    """Issue 14: half the input a cached prefix (every request finds it) halves the prefill
    pool's matmul work per prompt and the KV cache shipped to the decode worker."""
    from llmsize.perf.roofline import prefill_work
    from llmsize.workload import Serving, SharedPrefix

    prefill, decode = _pools()
    half = Serving(SharedPrefix(4096, 1.0))
    whole = prefill_work(prefill.setup, 1, 8192)
    rest = prefill_work(prefill.setup, 1, 8192, cached=4096)
    assert rest.tokens == pytest.approx(whole.tokens / 2)
    for concurrency in (1, 4, 64):
        plain = disaggregated_times(prefill, decode, concurrency, 8192, 256, False)
        cached = disaggregated_times(prefill, decode, concurrency, 8192, 256, False, half)
        assert cached.transfer_ms == pytest.approx(plain.transfer_ms / 2)
        # its own pass: half the matmul rows, but the rest still attends to the whole prompt
        assert cached.prefill_ms < 0.7 * plain.prefill_ms
        assert cached.ttft_ms < plain.ttft_ms


def test_speculative_decoding_divides_a_decode_workers_step_over_its_accepted_tokens() -> None:
    """MTP on the decode pool: a step verifies the drafts and drafts the next (the aggregated
    model's rule), and yields tokens_per_step tokens a sequence."""
    from llmsize.perf.roofline import verify_work
    from llmsize.workload import Serving, Speculation

    prefill, decode = _pools()
    mtp = Speculation("mtp", 1, 0.8, 0.02, 0, "given")
    plain = disaggregated_times(prefill, decode, 64, 1024, 512, False)
    spec = disaggregated_times(prefill, decode, 64, 1024, 512, False, Serving(speculation=mtp))
    step = pass_seconds(decode_work(decode.setup, 32, 1024 + 256), decode.params, 0.0)
    verify = pass_seconds(verify_work(decode.setup, 32, 1024 + 256, 1), decode.params, 0.0)
    overhead = decode.params.step_overhead_ms * 1e-3
    expected = (verify + overhead + 0.02 * (step + overhead)) / 1.8
    assert spec.itl_ms == pytest.approx(expected * 1e3)
    assert spec.itl_ms < plain.itl_ms and spec.e2e_ms < plain.e2e_ms


def test_where_the_decode_worker_emits_the_first_token_it_waits_a_step_and_a_half(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """data/engines.yaml: where the client gets its first token from the decode worker (vLLM,
    SGLang, TensorRT-LLM) it waits for that worker's next step boundary, half a step on
    average, then the step that emits it; an engine that streamed the prefill worker's token
    would not."""
    import llmsize.perf.disaggregated as disaggregated
    from llmsize.perf.kv_budget import Scheduler, scheduler

    prefill, decode = _pools()
    assert scheduler("trtllm").disaggregated_first_token == "decode"
    from_decode = disaggregated_times(prefill, decode, 64, 1024, 512, False)

    def from_prefill(engine: str = "") -> Scheduler:
        return scheduler(engine).model_copy(update={"disaggregated_first_token": "prefill"})

    monkeypatch.setattr(disaggregated, "scheduler", from_prefill)
    sooner = disaggregated_times(prefill, decode, 64, 1024, 512, False)
    assert sooner.itl_ms == pytest.approx(from_decode.itl_ms)
    assert from_decode.ttft_ms - sooner.ttft_ms == pytest.approx(1.5 * from_decode.itl_ms)


def test_the_kv_cache_crosses_nvlink_faster_than_the_network() -> None:
    prefill, decode = _pools()
    over_nvlink = disaggregated_times(prefill, decode, 4, 8192, 256, shared_domain=True)
    over_network = disaggregated_times(prefill, decode, 4, 8192, 256, shared_domain=False)
    assert over_nvlink.transfer_ms < over_network.transfer_ms
    assert over_nvlink.ttft_ms < over_network.ttft_ms


def test_one_prefill_worker_under_a_long_prompt_flood_is_the_bottleneck() -> None:
    prefill, decode = _pools(prefill_workers=1, decode_workers=8)
    light = disaggregated_times(prefill, decode, 8, 8192, 64, shared_domain=False)
    heavy = disaggregated_times(prefill, decode, 1024, 8192, 64, shared_domain=False)
    assert heavy.bottleneck == "prefill" and heavy.ttft_ms > 10 * light.ttft_ms
    more, _ = _pools(prefill_workers=8)
    eased = disaggregated_times(more, decode, 1024, 8192, 64, shared_domain=False)
    assert eased.ttft_ms < heavy.ttft_ms


def test_estimate_disaggregated_answers_with_its_pools_gpus_and_measured_error() -> None:
    r = estimate_disaggregated(
        "deepseek-ai/DeepSeek-R1", "gb200", 1024, 1024, "nvfp4", engine="trtllm",
        server="gb200-nvl72", prefill={"attention_dp": 4, "ep": 4, "workers": 1, "batch": 1},
        decode={"attention_dp": 8, "ep": 8, "workers": 4, "batch": 32},
    )  # fmt: skip
    assert r.concurrency == 32 * 8 * 4 and r.gpus == 4 + 32
    assert r.kv_link == "nvlink" and r.provenance == "modelled"
    assert r.prefill.layout == "TP1×DP4 EP4" and r.decode.workers == 4
    assert r.e2e_ms == pytest.approx(r.ttft_ms + 1023 * r.itl_ms)
    assert re.match(
        r"median error TTFT \d+ %, TPOT \d+ % over \d+ disaggregated trtllm runs of "
        r"deepseek-v3, the same network as deepseek-r1 on gb200",
        r.typical_error,
    )
    one_box = estimate_disaggregated(
        "meta-llama/Llama-3.1-8B", "h100", 1000, 100, "fp8", engine="vllm",
        prefill={"workers": 1}, decode={"workers": 1}, concurrency=8,
    )  # fmt: skip
    assert one_box.kv_link == "nvlink"  # two GPUs of one 8-GPU box
    # no disaggregated vLLM run of this model on this GPU: no borrowed figure, only why
    assert one_box.typical_error.startswith("unvalidated (no disaggregated vllm runs of ")
    assert "%" not in one_box.typical_error
    two_boxes = estimate_disaggregated(
        "meta-llama/Llama-3.1-8B", "h100", 1000, 100, "fp8", engine="vllm",
        prefill={"tp": 4, "workers": 2}, decode={"tp": 4}, concurrency=8,
    )  # fmt: skip
    assert two_boxes.kv_link == "network" and two_boxes.transfer_ms > one_box.transfer_ms


@pytest.mark.parametrize(
    ("prefill", "decode", "where"),
    [
        ({"workers": 1, "tpp": 2}, {"batch": 4}, "prefill.tpp"),
        ({"workers": 0}, {"batch": 4}, "prefill.workers"),
        ({"workers": "2"}, {"batch": 4}, "prefill.workers"),
        ({}, {}, "concurrency"),
        ({"gpu": "h100x"}, {"batch": 4}, "prefill.gpu"),
    ],
)
def test_a_bad_pool_is_refused_naming_its_field(
    prefill: dict[str, object], decode: dict[str, object], where: str
) -> None:
    with pytest.raises(InputError) as caught:
        estimate_disaggregated(
            "deepseek-ai/DeepSeek-R1", "b200", 1024, 1024, "nvfp4", prefill=prefill,
            decode=decode,
        )  # fmt: skip
    assert caught.value.where == where


def test_the_readmes_disaggregated_accuracy_is_the_models() -> None:
    """The README's table of the model against the bundled disaggregated runs is recomputed
    here (none of them is fitted on: every one is out of sample)."""
    from llmsize.perf.disaggregated import bundled_checks

    checks, rows = bundled_checks()
    readme = (ROOT / "README.md").read_text()
    for engine in ("sglang", "trtllm", "vllm"):
        mine = [c for c in checks if c.run.engine == engine]
        ttft, tpot = median_errors(mine)
        line = f"| {engine} | {len(mine)} | {ttft:.1f} | {tpot:.1f} |"
        assert line in readme, line
    ttft, tpot = median_errors(checks)
    assert f"| all | {len(checks)} | {ttft:.1f} | {tpot:.1f} |" in readme
    assert f"{len(checks)} of the {rows} disaggregated rows" in readme


def test_the_rows_without_worker_counts_are_refused_by_what_their_layouts_say() -> None:
    """The README's count of the bundled disaggregated rows the model is not asked about, by
    reason: a recorded TP that divides no head count, a recorded layout that cannot hold the
    model, and (the rest) no worker counts."""
    from llmsize.benchdb.silicon import BUNDLED, NO_WORKER_COUNTS, bundled_text, read_disaggregated
    from llmsize.perf.disaggregated import CANNOT_HOLD, check_silicon

    runs, _ = read_disaggregated(bundled_text(), BUNDLED)
    checks, skipped = check_silicon(runs, load_catalog(), load_calibration(None))
    heads = skipped["layout the model cannot take (TP not dividing the heads)"]
    assert (len(checks), skipped[NO_WORKER_COUNTS], heads, skipped[CANNOT_HOLD]) == (
        116,
        402,
        81,
        48,
    )
    text = " ".join((ROOT / "README.md").read_text().split())
    asked = len(checks) + skipped[NO_WORKER_COUNTS]
    for phrase in (
        f"{heads} record a pool TP that does not divide",
        f"{skipped[CANNOT_HOLD]} a pool layout that cannot hold",
        f"only {skipped[NO_WORKER_COUNTS]} record a layout that could have run",
        f"at most {asked} of the {len(runs)} rows ({100 * asked / len(runs):.1f} %)",
    ):
        assert phrase in text, phrase
    tp1 = next(r for r in runs if r.prefill.layout == Layout() and "DeepSeek-R1" in r.model)
    _, alone = check_silicon([tp1], load_catalog(), load_calibration(None))
    assert alone == {CANNOT_HOLD: 1}
