"""Invariants of the calibrated model (hypothesis): never faster than the roofline at 100 %
efficiency, monotone in batch, context and input, TP never costs memory, FP8 never slower."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llmsize.catalog import load_catalog
from llmsize.perf.calibration import shipped_calibration
from llmsize.perf.memory import memory_fit
from llmsize.perf.roofline import (
    Params,
    Setup,
    decode_work,
    default_nvlink_domain,
    pass_seconds,
    prefill_work,
    roofline_floor_ms,
    static_times,
)

CATALOG = load_catalog()
MODELS = st.sampled_from([m.id for m in CATALOG.models.entries])
GPUS = st.sampled_from([g.id for g in CATALOG.gpus.entries])
TPS = st.sampled_from([1, 2, 4, 8])
PRECISIONS = st.sampled_from(["bf16", "fp16", "fp8", "int4"])


def _setup(model: str, gpu: str, tp: int, precision: str) -> Setup | None:
    g = CATALOG.gpus.get(gpu, "gpu")
    if not g.supports(precision):
        return None
    return Setup(CATALOG.models.get(model, "model"), g, tp, precision, default_nvlink_domain(g))


def _params(setup: Setup) -> Params:
    return shipped_calibration().resolve(None, setup.gpu, setup.precision, CATALOG).params


@settings(max_examples=150, deadline=None)
@given(MODELS, GPUS, TPS, PRECISIONS, st.integers(1, 512), st.integers(1, 8192))
def test_never_faster_than_the_roofline(
    model: str, gpu: str, tp: int, precision: str, batch: int, tokens: int
) -> None:
    setup = _setup(model, gpu, tp, precision)
    if setup is None:
        return
    params = _params(setup)
    for work, overhead in (
        (prefill_work(setup, batch, tokens), params.prefill_overhead_ms),
        (decode_work(setup, batch, tokens), params.step_overhead_ms),
    ):
        assert pass_seconds(work, params, overhead) * 1e3 >= roofline_floor_ms(setup, work)


@settings(max_examples=150, deadline=None)
@given(MODELS, GPUS, TPS, PRECISIONS, st.integers(1, 512), st.integers(1, 8192), st.integers(1, 64))
def test_time_grows_with_batch_context_and_input(
    model: str, gpu: str, tp: int, precision: str, batch: int, tokens: int, more: int
) -> None:
    setup = _setup(model, gpu, tp, precision)
    if setup is None:
        return
    p = _params(setup)

    def decode(b: int, c: int) -> float:
        return float(pass_seconds(decode_work(setup, b, c), p, p.step_overhead_ms))

    def prefill(b: int, i: int) -> float:
        return float(pass_seconds(prefill_work(setup, b, i), p, p.prefill_overhead_ms))

    assert decode(batch + more, tokens) >= decode(batch, tokens)
    assert decode(batch, tokens + more) >= decode(batch, tokens)
    assert prefill(batch + more, tokens) >= prefill(batch, tokens)
    assert prefill(batch, tokens + more) >= prefill(batch, tokens)


@settings(max_examples=100, deadline=None)
@given(MODELS, GPUS, PRECISIONS, st.integers(1, 32768))
def test_more_tp_never_needs_more_memory_per_gpu(
    model: str, gpu: str, precision: str, context: int
) -> None:
    arch, chip = CATALOG.models.get(model, "m"), CATALOG.gpus.get(gpu, "g")
    needed = [memory_fit(arch, chip, tp, precision, context).needed_gib for tp in (1, 2, 4, 8)]
    assert needed == sorted(needed, reverse=True)


@settings(max_examples=150, deadline=None)
@given(MODELS, GPUS, TPS, st.integers(1, 256), st.integers(16, 4096), st.integers(2, 2048))
def test_fp8_never_slower_than_bf16(
    model: str, gpu: str, tp: int, batch: int, input_tokens: int, output_tokens: int
) -> None:
    fp8, bf16 = _setup(model, gpu, tp, "fp8"), _setup(model, gpu, tp, "bf16")
    if fp8 is None or bf16 is None:
        return
    fast = static_times(fp8, _params(fp8), batch, input_tokens, output_tokens)
    slow = static_times(bf16, _params(bf16), batch, input_tokens, output_tokens)
    assert fast.ttft_ms <= slow.ttft_ms * 1.0001
    assert fast.itl_ms <= slow.itl_ms * 1.0001
