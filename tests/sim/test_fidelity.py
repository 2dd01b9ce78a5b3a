"""The digital twin against measured in-flight runs (issue 4's fidelity targets): median APE
<= 15 % for ITL and throughput, <= 25 % for TTFT.

Data: the bundled NVIDIA NIM concurrency sweeps (GenAI-Perf, DLI course dataset), each simulated
with step times from a calibration that never saw the row's curve (grouped 5-fold).
"""

from __future__ import annotations

from llmsize.api import accuracy

TARGETS = {"ttft": 25.0, "itl": 15.0, "throughput": 15.0}


def test_simulated_error_on_nim_sweeps_meets_targets() -> None:
    report = accuracy(simulate=True)
    assert report.rows == 546
    for metric, median in TARGETS.items():
        assert report.overall[metric]["median"] <= median, (metric, report.overall[metric])
