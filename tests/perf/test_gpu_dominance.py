"""Rankings that make sense over the whole catalog (issue 12): under each engine profile, a GPU
with at least the compute (at every precision), bandwidth, memory and links of another is never
modelled slower, and more bandwidth alone never slows a decode step.

"Slower" is a later first token, a later last token or fewer requests a second; the gap between
tokens is compared where both run the same number of sequences (a GPU whose memory holds more of
a concurrency's sequences at once runs a bigger batch, each step a little longer, and serves
everyone sooner), and the first token where both prefill as many prompts a pass (SGLang's and
vLLM's step token budget rises with GPU memory, data/engines.yaml: a bigger pass makes each of its
first tokens wait a little longer and finishes the requests sooner).

The 2024 engines (trtllm-0.9, nim) keep one measured fit per GPU, which can rank two GPUs against
their datasheets (their error is that of the sweep); the engine profiles of today's engines are
one parameter set over every GPU, so the datasheet alone orders GPUs there.
"""

from __future__ import annotations

from itertools import product

import pytest

from llmsize.catalog import Gpu, LlmArch, load_catalog
from llmsize.perf.calibration import shipped_calibration
from llmsize.perf.memory import memory_fit
from llmsize.perf.roofline import (
    InflightLoad,
    Setup,
    StepTimes,
    decode_work,
    default_nvlink_domain,
    inflight_load,
    inflight_times,
    pass_seconds,
)

CATALOG = load_catalog()
ENGINES = ("vllm", "sglang", "trtllm")
TOLERANCE = 1e-9


def dominates(a: Gpu, b: Gpu) -> bool:
    """a has at least b's every datasheet figure the model reads."""
    return (
        a.id != b.id
        and all(a.tflops.get(k, 0.0) >= v for k, v in b.tflops.items())
        and a.bandwidth_tb_s >= b.bandwidth_tb_s
        and a.memory_gb >= b.memory_gb
        and a.link.gb_s >= b.link.gb_s
        and a.pcie_gb_s >= b.pcie_gb_s
        and default_nvlink_domain(a) >= default_nvlink_domain(b)
    )


PAIRS = [(a, b) for a, b in product(CATALOG.gpus.entries, repeat=2) if dominates(a, b)]


def test_the_catalog_has_dominance_pairs_to_check() -> None:
    ids = {(a.id, b.id) for a, b in PAIRS}
    assert ("h200-sxm", "h100-sxm") in ids and ("b300", "b200") in ids
    assert len(PAIRS) >= 20


@pytest.mark.parametrize("engine", ENGINES)
def test_a_dominating_gpu_is_never_modelled_slower(engine: str) -> None:
    slower = []
    for a, b in PAIRS:
        for model, tp, precision in product(CATALOG.models.entries, (1, 8), ("bf16", "fp8")):
            if model.heads % tp or not b.supports(precision):
                continue
            fit = memory_fit(model, b, tp, precision, 1800, engine=engine)
            if fit.max_batch < 1:
                continue  # the slower GPU cannot hold it at all: nothing to rank
            for concurrency in (1, 64):
                (fast, fast_load), (slow, slow_load) = (
                    _times(engine, model, gpu, tp, precision, concurrency) for gpu in (a, b)
                )
                if (
                    (
                        fast_load.group == slow_load.group
                        and fast.ttft_ms > slow.ttft_ms * (1 + TOLERANCE)
                    )
                    or fast.e2e_ms > slow.e2e_ms * (1 + TOLERANCE)
                    or fast.instance_rps < slow.instance_rps * (1 - TOLERANCE)
                    or (
                        fast_load.running == slow_load.running
                        and fast.itl_ms > slow.itl_ms * (1 + TOLERANCE)
                    )
                ):
                    slower.append((a.id, b.id, model.id, tp, precision, concurrency))
    assert slower == []


def _times(
    engine: str, model: LlmArch, gpu: Gpu, tp: int, precision: str, concurrency: int
) -> tuple[StepTimes, InflightLoad]:
    setup = Setup(model, gpu, tp, precision, default_nvlink_domain(gpu), engine=engine)
    params = shipped_calibration().resolve(engine, gpu, precision, CATALOG).params
    load = inflight_load(setup, concurrency, 1500, 300)
    return inflight_times(setup, params, concurrency, 1500, 300), load


@pytest.mark.parametrize("engine", ENGINES)
def test_more_bandwidth_never_slows_decode(engine: str) -> None:
    calibration = shipped_calibration()
    for gpu, model in product(CATALOG.gpus.entries, CATALOG.models.entries):
        faster = gpu.model_copy(update={"bandwidth_tb_s": gpu.bandwidth_tb_s * 1.5})
        params = calibration.resolve(engine, gpu, "bf16", CATALOG).params
        steps = [
            pass_seconds(
                decode_work(Setup(model, g, 1, "bf16", 8, engine=engine), 32, 2000),
                params,
                params.step_overhead_ms,
            )
            for g in (gpu, faster)
        ]
        assert steps[1] <= steps[0] * (1 + TOLERANCE), (gpu.id, model.id)
