"""The library facade, one module per question: plan, estimate/configs/capacity, simulate,
calibrate/accuracy, bench/show, validate. Each returns result objects and never prints; the CLI
only parses, calls one of these and renders."""

from __future__ import annotations

from llmsize.api.calibration import accuracy, calibrate
from llmsize.api.measurement import bench, show
from llmsize.api.planning import plan
from llmsize.api.questions import capacity, configs, estimate
from llmsize.api.simulation import simulate
from llmsize.api.validation import validate
from llmsize.bench.results import ShownLevel
from llmsize.economics import CapacityResult
from llmsize.files import FileCheck
from llmsize.perf.context import PerfOptions
from llmsize.perf.results import CalibrateResult, ConfigsResult, EstimateResult
from llmsize.usecase import load_usecase, parse_usecase
from llmsize.workload import peak_from_average, sustainable_average

__all__ = [
    "CalibrateResult",
    "CapacityResult",
    "ConfigsResult",
    "EstimateResult",
    "FileCheck",
    "PerfOptions",
    "ShownLevel",
    "accuracy",
    "bench",
    "calibrate",
    "capacity",
    "configs",
    "estimate",
    "load_usecase",
    "parse_usecase",
    "peak_from_average",
    "plan",
    "show",
    "simulate",
    "sustainable_average",
    "validate",
]
