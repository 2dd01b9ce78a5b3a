"""Fit the shipped calibration (src/llmsize/data/calibration.yaml) on the bundled curves.

Every engine in the bundled data gets its own fit, from the default parameters (nothing earlier
leaks in); the per-GPU accuracy stored beside it is cross-validated (`llmsize accuracy`), not the
in-sample fit. Usage: python scripts/calibrate_bundled.py [OUT.yaml]
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from llmsize import __version__
from llmsize.api import accuracy, calibrate
from llmsize.perf.calibration import save_calibration

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "src" / "llmsize" / "data" / "calibration.yaml"


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    fitted = calibrate([], start_from_shipped=False)
    report = accuracy([])
    per_gpu: dict[str, dict[str, float]] = {}
    for gpu, metrics in {**report.per_gpu, "all": report.overall}.items():
        per_gpu[gpu] = {}
        for metric, summary in metrics.items():
            if "median" in summary:
                per_gpu[gpu][metric] = float(summary["median"])
                per_gpu[gpu][f"{metric}_p90"] = float(summary["p90"])
                per_gpu[gpu]["rows"] = float(summary["n"])
    skipped = ", ".join(f"{n} {k}" for k, n in fitted.skipped.items()) or "none"
    notes = (
        f"Fitted by llmsize {__version__} on {date.today().isoformat()} "
        f"(scripts/calibrate_bundled.py) to the {fitted.rows} bundled rows it can model "
        f"(data/curves.csv; skipped: {skipped}). Engines: "
        "trtllm-0.9 = TensorRT-LLM 0.9 static batches (NVIDIA DLI sweep, random weights); "
        "nim = NVIDIA NIM under GenAI-Perf concurrency (DLI); nemo-s62797 = the GTC S62797 talk's "
        "NeMo/PyTriton stack (6 rows: in-sample, see llmsize accuracy for its cross-validated "
        "error). accuracy: cross-validated median APE per GPU (whole curves held out)."
    )
    calibration = replace(
        fitted.calibration, notes=notes, accuracy=per_gpu, origin="calibration.yaml"
    )
    save_calibration(calibration, out, force=True)  # this script regenerates the shipped file
    print(
        f"wrote {out}: {len(calibration.groups)} groups; cross-validated overall {report.overall}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
