"""Every configuration a shipped measurement ran holds at least one sequence in the memory model
(issue 11: "no configuration a shipped measurement ran comes out 'does not fit'")."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from llmsize.catalog import load_catalog
from llmsize.perf.memory import memory_fit

ROOT = Path(__file__).resolve().parents[2]
AIC = ROOT.parent / "shared" / "data" / "aic-silicon-train.csv"
CATALOG = load_catalog()

QUANT = {"fp8": "fp8", "fp8_block": "fp8-block", "nvfp4": "nvfp4", "int4_wo": "int4", "": "bf16"}
"""aic-silicon-train's moe_quant_mode (else gemm_quant_mode): what the weights were stored in."""


@pytest.mark.skipif(not AIC.is_file(), reason="shared/data is not beside the checkout")
def test_every_aggregated_aic_run_fits_its_layout() -> None:
    """AIConfigurator's silicon sample (vLLM, SGLang, TensorRT-LLM 1.x on H100-GB200): each
    aggregated run at its TP × attention-DP × PP layout."""
    misses = []
    rows = [r for r in csv.DictReader(AIC.open(encoding="utf-8")) if r["mode"] == "agg"]
    for row in rows:
        model = CATALOG.resolve_model(row["model_path"], "model_path")
        gpu = CATALOG.gpus.get(row["system"], "system")
        precision = QUANT[row["moe_quant_mode"] or row["gemm_quant_mode"]]
        fit = memory_fit(
            model,
            gpu,
            int(row["tp_size"]),
            precision,
            int(row["isl"]) + int(row["osl"]),
            pp=int(row["pp_size"] or 1),
            attention_dp=int(row["attention_dp_size"] or 1),
        )
        if fit.max_batch < 1:
            misses.append((row["id"], row["model_path"], row["system"], fit.reason))
    assert len(rows) > 1800
    assert misses == []


def test_every_bundled_curve_fits_at_least_one_sequence() -> None:
    path = ROOT / "src" / "llmsize" / "data" / "curves.csv"
    misses = []
    for row in csv.DictReader(path.open(encoding="utf-8")):
        model, gpu = CATALOG.models.find(row["model"]), CATALOG.gpus.find(row["gpu"])
        if model is None or gpu is None or not row["tp"]:
            continue  # measurements of models outside the catalog answer nothing modelled
        context = int(float(row["input_tokens"]) + float(row["output_tokens"]))
        fit = memory_fit(model, gpu, int(row["tp"]), row["precision"], context)
        if fit.max_batch < 1:
            misses.append((row["model"], row["gpu"], row["tp"], fit.reason))
    assert misses == []
