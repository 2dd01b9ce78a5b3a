"""The data behind `estimate --sweep-plot`: modelled prefill and decode times over batch sizes
and lengths, beside the measured points of the same model, GPU, precision and TP."""

from __future__ import annotations

from llmsize.benchdb.store import load_store
from llmsize.catalog import Gpu, LlmArch, load_catalog
from llmsize.perf.calibration import Calibration
from llmsize.perf.roofline import Setup, decode_work, pass_seconds, prefill_work

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
LENGTHS = (128, 512, 2048)

Series = list[tuple[str, list[float], list[float]]]


def sweep(
    model: LlmArch,
    gpu: Gpu,
    tp: int,
    precision: str,
    output_tokens: int,
    nvlink_domain: int,
    calibration: Calibration,
    engine: str | None,
) -> tuple[Series, Series]:
    params = calibration.resolve(engine, gpu, precision, load_catalog()).params
    setup = Setup(model, gpu, tp, precision, nvlink_domain)
    prefill: Series = []
    decode: Series = []
    for length in LENGTHS:
        if length + output_tokens > model.context_window:
            continue
        ctx = length + output_tokens / 2
        prefill.append(
            (
                f"modelled, input {length}",
                [length * b for b in BATCHES],
                [
                    pass_seconds(prefill_work(setup, b, length), params, params.prefill_overhead_ms)
                    * 1e3
                    for b in BATCHES
                ],
            )
        )
        decode.append(
            (
                f"modelled, input {length}",
                [ctx * b for b in BATCHES],
                [
                    pass_seconds(decode_work(setup, b, ctx), params, params.step_overhead_ms) * 1e3
                    for b in BATCHES
                ],
            )
        )
    store = load_store((), models={model.id})
    points = [
        p
        for (_, _, prec, p_tp, load, _), group in store.curves(model.id, gpu.id).items()
        if p_tp == tp and load == "batch" and prec in _same(precision)
        for p in group
    ]
    if points:
        prefill.append(
            (
                "measured TTFT",
                [p.input_tokens * (p.load_value or 1) for p in points if p.ttft_ms],
                [p.ttft_ms or 0 for p in points if p.ttft_ms],
            )
        )
        decode.append(
            (
                "measured ITL",
                [
                    (p.input_tokens + p.output_tokens / 2) * (p.load_value or 1)
                    for p in points
                    if p.itl_ms
                ],
                [p.itl_ms or 0 for p in points if p.itl_ms],
            )
        )
    return prefill, decode


def _same(precision: str) -> tuple[str, ...]:
    from llmsize.catalog.precisions import SAME_RATE

    return SAME_RATE.get(precision, (precision,))
