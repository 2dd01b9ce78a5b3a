"""How close the digital twin comes to measured in-flight runs (llmsize accuracy --simulate).

Every bundled closed-loop concurrency row (NIM under GenAI-Perf) is simulated as measured: one
replica of the row's TP, its concurrency, fixed lengths, the first wave not measured. Step times
come from a calibration fitted with the row's whole curve held out (the same grouped folds as
`llmsize accuracy`), so the twin never sees the curve it is compared with.
"""

from __future__ import annotations

from llmsize.catalog import Catalog
from llmsize.perf.calibration import Calibration
from llmsize.perf.fit import Sample
from llmsize.sim.run import Traffic, TwinSetup, run, summarise
from llmsize.workload import Lengths

MIN_REQUESTS = 200
WAVES = 4


def simulated(sample: Sample, calibration: Calibration, catalog: Catalog) -> dict[str, float]:
    """TTFT (ms), ITL (ms) and throughput (req/s) of the twin at the row's concurrency."""
    s = sample.setup
    params = calibration.resolve(sample.engine, s.gpu, s.precision, catalog).params
    concurrency = round(sample.load[0])
    deployment = TwinSetup(s.model, s.gpu, s.tp, s.precision, s.nvlink_domain, 1, params)
    traffic = Traffic(
        requests=max(MIN_REQUESTS, WAVES * concurrency) + concurrency,
        input_tokens=Lengths(sample.point.input_tokens),
        output_tokens=Lengths(sample.output_tokens),
        concurrency=concurrency,
        warmup=concurrency,
    )
    result = summarise(run(deployment, traffic), traffic)
    return {
        "ttft": result.ttft_ms.mean,
        "itl": result.itl_ms.mean,
        "throughput": result.achieved_rps,
    }


def is_closed_loop(sample: Sample) -> bool:
    return sample.mode == "inflight"
