"""Fit the shipped calibration (src/llmsize/data/calibration.yaml) on the bundled measurements.

Every engine in the bundled data gets its own fit, from the default parameters (nothing earlier
leaks in): the 2024 engines (TensorRT-LLM 0.9, NIM, the talk's stack) per GPU and precision
class on data/curves.csv; today's engines (vLLM, SGLang, TensorRT-LLM 1.x) as engine profiles
on data/aic-silicon-train.csv. The accuracy stored beside them is cross-validated (`llmsize
accuracy`), not the in-sample fit: per GPU for the 2024 curves (whole curves held out), per
engine and per engine on each GPU for the silicon runs (each family held out).
Usage: python scripts/calibrate_bundled.py [OUT.yaml]
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from llmsize import __version__
from llmsize.api import accuracy
from llmsize.api.calibration import fit_samples
from llmsize.catalog import load_catalog
from llmsize.perf.accuracy import AccuracyReport
from llmsize.perf.calibration import save_calibration
from llmsize.perf.fit import fit_calibration

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "src" / "llmsize" / "data" / "calibration.yaml"


def medians(tables: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """{name: {metric: median, metric_p90: p90, rows: n}} of an accuracy report's tables."""
    out: dict[str, dict[str, float]] = {}
    for name, metrics in tables.items():
        out[name] = {}
        for metric, summary in metrics.items():
            if "median" in summary:
                out[name][metric] = float(summary["median"])
                out[name][f"{metric}_p90"] = float(summary["p90"])
                out[name]["rows"] = float(summary["n"])
            for end in ("low", "high"):  # measured / predicted throughput: the 90 % range
                if end in summary:
                    out[name][f"{metric}_{end}"] = float(summary[end])
    return out


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    curves, curves_skipped = fit_samples([], None, "curves")
    silicon, silicon_skipped = fit_samples([], None, "silicon")
    fitted = fit_calibration([*curves, *silicon], load_catalog(), origin="calibration.yaml")
    old: AccuracyReport = accuracy()
    new: AccuracyReport = accuracy(bundled="silicon")
    table = medians({**old.per_gpu, "all": old.overall})
    table.update(medians({**new.per_engine_gpu, **new.per_engine}))
    skipped = ", ".join(f"{n} {k}" for k, n in {**curves_skipped, **silicon_skipped}.items())
    notes = (
        f"Fitted by llmsize {__version__} on {date.today().isoformat()} "
        f"(scripts/calibrate_bundled.py) to the {len(curves)} bundled 2024 rows it can model "
        f"(data/curves.csv) and the {len(silicon)} aggregated silicon runs of today's engines "
        f"(data/aic-silicon-train.csv); skipped: {skipped or 'none'}. Engines: "
        "trtllm-0.9 = TensorRT-LLM 0.9 static batches (NVIDIA DLI sweep, random weights); "
        "nim = NVIDIA NIM under GenAI-Perf concurrency (DLI); nemo-s62797 = the GTC S62797 talk's "
        "NeMo/PyTriton stack (6 rows: in-sample, see llmsize accuracy for its cross-validated "
        "error); vllm (0.11-0.19), sglang (0.5.x), trtllm (1.0-1.3) = engine profiles, one "
        "parameter set each over every GPU and precision AIConfigurator's silicon sample ran "
        "them on. accuracy: cross-validated median and p90 APE per GPU for the 2024 curves (whole "
        "curves held out), per engine and 'ENGINE on GPU' for the silicon runs (each family "
        "held out); silicon throughput is the closed loop's C / (TTFT + (out - 1) x TPOT)."
    )
    calibration = replace(fitted, notes=notes, accuracy=table, origin="calibration.yaml")
    save_calibration(calibration, out, force=True)  # this script regenerates the shipped file
    print(f"wrote {out}: {len(calibration.groups)} groups")
    print(f"2024 curves, cross-validated: {old.overall}")
    print(f"silicon runs, cross-validated per engine: {new.per_engine}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
