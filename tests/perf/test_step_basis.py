"""The twin's step times come through the performance interface: the calibrated roofline, scaled
to the deployment's own in-flight measurements where the bundled curves have some."""

from __future__ import annotations

import statistics

import pytest

from llmsize.catalog import load_catalog
from llmsize.deployment import Deployment, Layout
from llmsize.perf.context import PerfOptions, perf_context
from llmsize.sim.run import Traffic, TwinSetup, run, summarise
from llmsize.sim.steps import StepModel
from llmsize.workload import Lengths

CATALOG = load_catalog()
MODEL = CATALOG.models.get("llama-3-70b", "model")
DGX = CATALOG.servers.get("dgx-h100", "server")
H100 = CATALOG.gpu_of(DGX)


def _deployment(tp: int) -> Deployment:
    return Deployment.aggregated(MODEL, DGX, H100, Layout(tp=tp), "fp8", workers=1)


def test_measured_in_flight_runs_scale_the_steps() -> None:
    auto = perf_context({MODEL.id}, PerfOptions(mode="inflight"))
    basis = auto.perf.step_basis(_deployment(4))
    assert basis.measured == ("DLI_NIM_GENAIPERF",)
    assert basis.decode_scale != 1.0 and "scaled to measured" in basis.label
    model_only = perf_context({MODEL.id}, PerfOptions(source="model", mode="inflight"))
    plain = model_only.perf.step_basis(_deployment(4))
    assert (plain.prefill_scale, plain.decode_scale, plain.measured) == (1.0, 1.0, ())
    unmeasured = auto.perf.step_basis(_deployment(2))  # no closed-loop run at TP2
    assert unmeasured.measured == () and unmeasured.params == basis.params


def test_scales_apply_to_decode_and_blend_in_mixed_steps() -> None:
    auto = perf_context({MODEL.id}, PerfOptions(mode="inflight"))
    basis = auto.perf.step_basis(_deployment(4))
    twin = TwinSetup.of(_deployment(4), basis)
    setup = twin.simulation().steps.setup
    plain = StepModel(setup, basis.params)
    scaled = StepModel(setup, basis.params, 2.0, 0.5)
    assert scaled.decode(16, 16 * 2000) == pytest.approx(0.5 * plain.decode(16, 16 * 2000))
    assert scaled.mixed(0, 0, 2000, 2000**2 / 2, 1) == pytest.approx(
        2.0 * plain.mixed(0, 0, 2000, 2000**2 / 2, 1)
    )


def test_the_scaled_twin_is_closer_to_the_measured_runs() -> None:
    """In-sample by construction (the runs it was scaled to): it shows the measurements are
    used, not how well the twin predicts others (llmsize accuracy --simulate does that)."""
    auto = perf_context({MODEL.id}, PerfOptions(mode="inflight"))
    basis = auto.perf.step_basis(_deployment(4))
    plain = perf_context({MODEL.id}, PerfOptions(source="model")).perf.step_basis(_deployment(4))
    curves = auto.perf.measured.store.curves(MODEL.id, H100.id)
    points = [
        p
        for (_, _, prec, tp, kind, _), group in curves.items()
        if prec == "fp8" and tp == 4 and kind == "concurrency"
        for p in group
        if p.load_value in (5, 10, 25) and p.itl_ms
    ]
    assert points

    def error(step_basis: object) -> float:
        errors = []
        for p in points:
            traffic = Traffic(
                requests=200,
                input_tokens=Lengths(p.input_tokens, 0),
                output_tokens=Lengths(p.output_tokens, 0),
                concurrency=int(p.load_value or 1),
                warmup=int(p.load_value or 1),
            )
            result = summarise(run(TwinSetup.of(_deployment(4), step_basis), traffic), traffic)  # type: ignore[arg-type]
            errors.append(abs(result.itl_ms.mean / (p.itl_ms or 1) - 1))
        return statistics.median(errors)

    assert error(basis) < error(plain)
