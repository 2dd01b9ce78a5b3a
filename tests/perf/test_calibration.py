"""Calibration: fitting recovers known parameters, borrowing is labelled, files round-trip."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from llmsize.benchdb.schema import CurvePoint
from llmsize.catalog import load_catalog
from llmsize.errors import InputError
from llmsize.perf.calibration import load_calibration, save_calibration, shipped_calibration
from llmsize.perf.fit import fit_calibration, make_samples, predict_samples
from llmsize.perf.roofline import Params, Setup, static_times

CATALOG = load_catalog()
TRUE = Params(e_compute=0.6, e_memory=0.7, step_overhead_ms=1.5, prefill_overhead_ms=3.0)


def _synthetic() -> list[CurvePoint]:
    """Rows a GPU with TRUE parameters would measure (llama-2-7b and -13b, several batches)."""
    gpu = CATALOG.gpus.get("l40s", "g")
    rows = []
    for model_id in ("llama-2-7b", "llama-2-13b"):
        model = CATALOG.models.get(model_id, "m")
        setup = Setup(model, gpu, 1, "fp8", 1)
        for batch in (1, 4, 16, 64):
            for i, o in ((128, 128), (1024, 256), (2048, 64)):
                t = static_times(setup, TRUE, batch, i, o)
                rows.append(
                    CurvePoint(
                        model=model_id,
                        gpu="l40s",
                        precision="fp8",
                        tp=1,
                        load_type="batch",
                        load_value=batch,
                        input_tokens=i,
                        output_tokens=o,
                        ttft_ms=t.ttft_ms,
                        itl_ms=t.itl_ms,
                        source_id="synthetic",
                    )
                )
    return rows


def test_fit_reproduces_rows_made_by_known_parameters() -> None:
    samples, _ = make_samples(_synthetic(), CATALOG)
    calibration = fit_calibration(samples, CATALOG)
    fitted = calibration.resolve("synthetic", CATALOG.gpus.get("l40s", "g"), "fp8", CATALOG)
    assert not fitted.borrowed
    for sample, predicted in zip(samples, predict_samples(samples, fitted.params), strict=True):
        assert predicted["ttft"] == pytest.approx(sample.measured["ttft"], rel=0.03)
        assert predicted["itl"] == pytest.approx(sample.measured["itl"], rel=0.03)


def test_gpus_without_data_borrow_and_say_so() -> None:
    resolved = shipped_calibration().resolve(None, CATALOG.gpus.get("b200", "g"), "fp8", CATALOG)
    assert resolved.borrowed and "borrowed" in resolved.label and "b200" in resolved.label
    same_generation = shipped_calibration().resolve(
        None, CATALOG.gpus.get("h100-pcie", "g"), "fp8", CATALOG
    )
    assert same_generation.fit is not None
    assert CATALOG.gpus.get(same_generation.fit.gpu, "g").generation == "hopper"


def test_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    save_calibration(shipped_calibration(), path)
    loaded = load_calibration(path)
    assert loaded.groups.keys() == shipped_calibration().groups.keys()
    key = next(iter(loaded.groups))
    assert loaded.groups[key].params.as_dict() == pytest.approx(
        shipped_calibration().groups[key].params.as_dict(), rel=1e-5
    )


def test_bad_calibration_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 9\n")
    with pytest.raises(InputError, match="schema_version"):
        load_calibration(bad)
    group = "{engine: e, gpu: l40s, precision: fp8, params: {e_speed: 1}}"
    bad.write_text(f"schema_version: 1\ngroups:\n  - {group}\n")
    with pytest.raises(InputError, match="unknown parameter"):
        load_calibration(bad)
    with pytest.raises(InputError, match="cannot read"):
        load_calibration(tmp_path / "missing.yaml")


def test_replace_keeps_params_frozen() -> None:
    assert replace(TRUE, e_kv=0.5).e_kv == 0.5 and TRUE.e_kv != 0.5


def test_aicc_asks_an_extra_parameter_to_pay_for_itself() -> None:
    """Nine values: a fifth parameter must cut the sum of squared log errors by a factor of
    exp(12 / 9), about 3.8 (the penalty gap between five and four is 12), so the errors by about
    1.95; with too few values there is no verdict."""
    import math

    from llmsize.perf.fit import aicc

    four = [0.1] * 9
    assert aicc([0.1 / 1.9] * 9, 5) > aicc(four, 4)  # errors / 1.9: not enough
    assert aicc([0.1 / 2.0] * 9, 5) < aicc(four, 4)  # errors / 2: pays
    assert aicc([0.1] * 6, 5) == math.inf
