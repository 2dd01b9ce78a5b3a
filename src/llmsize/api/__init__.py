"""The library facade, one module per question: plan, estimate/configs/capacity, simulate,
calibrate/accuracy, bench/show, validate. Each returns result objects and never prints; the CLI
only parses, calls one of these and renders. Names load on first use, so a command imports only
the question it asks."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "accuracy": "llmsize.api.calibration",
    "calibrate": "llmsize.api.calibration",
    "bench": "llmsize.api.measurement",
    "show": "llmsize.api.measurement",
    "plan": "llmsize.api.planning",
    "api_prices": "llmsize.api.questions",
    "capacity": "llmsize.api.questions",
    "configs": "llmsize.api.questions",
    "configs_disaggregated": "llmsize.api.disaggregated",
    "estimate": "llmsize.api.questions",
    "estimate_disaggregated": "llmsize.api.disaggregated",
    "simulate": "llmsize.api.simulation",
    "usecase_question": "llmsize.api.from_usecase",
    "validate": "llmsize.api.validation",
    "ShownLevel": "llmsize.bench.results",
    "ApiPrice": "llmsize.economics",
    "CapacityResult": "llmsize.economics",
    "FileCheck": "llmsize.files",
    "UseCaseQuestion": "llmsize.api.from_usecase",
    "PerfOptions": "llmsize.perf.context",
    "CalibrateResult": "llmsize.perf.results",
    "ConfigsResult": "llmsize.perf.results",
    "EstimateResult": "llmsize.perf.results",
    "DisaggregatedConfigs": "llmsize.search.disaggregated",
    "DisaggregatedResult": "llmsize.perf.results",
    "load_usecase": "llmsize.usecase",
    "parse_usecase": "llmsize.usecase",
    "peak_from_average": "llmsize.workload",
    "sustainable_average": "llmsize.workload",
}

__all__ = [
    "ApiPrice",
    "CalibrateResult",
    "CapacityResult",
    "ConfigsResult",
    "DisaggregatedConfigs",
    "DisaggregatedResult",
    "EstimateResult",
    "FileCheck",
    "PerfOptions",
    "ShownLevel",
    "UseCaseQuestion",
    "accuracy",
    "api_prices",
    "bench",
    "calibrate",
    "capacity",
    "configs",
    "configs_disaggregated",
    "estimate",
    "estimate_disaggregated",
    "load_usecase",
    "parse_usecase",
    "peak_from_average",
    "plan",
    "show",
    "simulate",
    "sustainable_average",
    "usecase_question",
    "validate",
]

if TYPE_CHECKING:
    from llmsize.api.calibration import accuracy, calibrate
    from llmsize.api.disaggregated import configs_disaggregated, estimate_disaggregated
    from llmsize.api.from_usecase import UseCaseQuestion, usecase_question
    from llmsize.api.measurement import bench, show
    from llmsize.api.planning import plan
    from llmsize.api.questions import api_prices, capacity, configs, estimate
    from llmsize.api.simulation import simulate
    from llmsize.api.validation import validate
    from llmsize.bench.results import ShownLevel
    from llmsize.economics import ApiPrice, CapacityResult
    from llmsize.files import FileCheck
    from llmsize.perf.context import PerfOptions
    from llmsize.perf.results import (
        CalibrateResult,
        ConfigsResult,
        DisaggregatedResult,
        EstimateResult,
    )
    from llmsize.search.disaggregated import DisaggregatedConfigs
    from llmsize.usecase import load_usecase, parse_usecase
    from llmsize.workload import peak_from_average, sustainable_average


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'llmsize.api' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
