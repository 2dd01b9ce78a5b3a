"""Other tools' result files as curve rows: AIPerf and GenAI-Perf profile exports, `vllm bench
serve --save-result` JSON, GuideLLM benchmarks.json.

Their definitions differ, and the rows say which statistic they hold:
- AIPerf / GenAI-Perf: ms throughout (unit fields are checked; seconds are converted);
  inter_token_latency excludes the first token, like llmsize's ITL.
- vLLM: *_ms fields; TPOT and ITL both exclude the first token.
- GuideLLM: latencies in seconds or ms depending on the version (the field name says); its
  "time per output token" averages over all tokens including the first, so ITL is taken from
  its inter_token_latency (first token excluded) when present.
None of these files says which GPU, TP or precision served the run: the caller does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmsize.benchdb.schema import CurvePoint
from llmsize.errors import InputError

FORMATS = ("aiperf", "genai-perf", "vllm", "guidellm")


@dataclass(frozen=True, slots=True)
class MeasuredOn:
    """What the measured deployment ran on (the tools do not record it)."""

    model: str | None
    gpu: str
    tp: int
    precision: str

    def served(self, origin: str, *named: object) -> str:
        """The served model: --model, else the first name the file gives; a file that names
        none is refused (its rows would carry no model plan or calibrate could look up)."""
        if self.model:
            return self.model
        for name in named:
            if isinstance(name, str) and name.strip():
                return name.strip()
        raise InputError("--model", f"{origin} names no served model: give it with --model")

    def row(
        self,
        served: str,
        load: tuple[str, float | None],
        lengths: tuple[float, float],
        **measured: Any,
    ) -> CurvePoint:
        """One curve row of a result: the hardware given, the load level and mean lengths the
        file states, and its metrics and provenance (mean latencies: the tools' averages)."""
        return CurvePoint(
            model=served,
            gpu=self.gpu,
            precision=self.precision,
            tp=self.tp,
            load_type=load[0],
            load_value=load[1],
            input_tokens=round(lengths[0], 2),
            output_tokens=round(lengths[1], 2),
            latency_stat="mean",
            **measured,
        )


def detect(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if "aiperf_version" in data or ("time_to_first_token" in data and "input_config" in data):
        return "aiperf"
    if "time_to_first_token" in data and isinstance(data["time_to_first_token"], dict):
        return "genai-perf"
    if "mean_ttft_ms" in data or "median_ttft_ms" in data:
        return "vllm"
    if "benchmarks" in data:
        return "guidellm"
    return None


def _ms(metric: Any, where: str) -> float | None:
    """A {unit, avg, ...} metric in milliseconds."""
    if not isinstance(metric, dict) or metric.get("avg") is None:
        return None
    unit = str(metric.get("unit", "ms")).lower()
    scale = {"ms": 1.0, "s": 1000.0, "sec": 1000.0, "us": 1e-3, "ns": 1e-6}.get(unit)
    if scale is None:
        raise InputError(where, f"unexpected unit {unit!r}")
    return float(metric["avg"]) * scale


def _avg(metric: Any) -> float | None:
    return (
        float(metric["avg"]) if isinstance(metric, dict) and metric.get("avg") is not None else None
    )


def _aiperf(data: dict[str, Any], origin: str, hw: MeasuredOn, tool: str) -> list[CurvePoint]:
    config = data.get("input_config") or {}
    phases = [p for p in config.get("phases") or [] if p.get("kind", "profiling") == "profiling"]
    phase = phases[0] if phases else {}
    load_type, load_value = "concurrency", None
    phase_rate = phase.get("request_rate") or phase.get("rate")
    if phase.get("concurrency"):
        load_value = float(phase["concurrency"])
    elif phase_rate:
        load_type, load_value = "rate", float(phase_rate)
    elif config.get("concurrency"):  # GenAI-Perf's flatter input_config
        load_value = float(config["concurrency"])
    elif config.get("request_rate"):
        load_type, load_value = "rate", float(config["request_rate"])
    models = (config.get("models") or {}).get("items") or [{}]
    served = hw.served(origin, models[0].get("name"), (config.get("model_names") or [None])[0])
    isl, osl = _avg(data.get("input_sequence_length")), _avg(data.get("output_sequence_length"))
    if isl is None or osl is None:
        raise InputError(origin, "no input_sequence_length / output_sequence_length averages")
    version = data.get("aiperf_version") or data.get("genai_perf_version") or "?"
    return [
        hw.row(
            served,
            (load_type, load_value),
            (isl, osl),
            ttft_ms=_ms(data.get("time_to_first_token"), origin),
            itl_ms=_ms(data.get("inter_token_latency"), origin),
            e2e_ms=_ms(data.get("request_latency"), origin),
            req_s=_avg(data.get("request_throughput")),
            out_tok_s=_avg(data.get("output_token_throughput")),
            source_id=tool,
            source=f"{tool} {version} profile export {Path(origin).name}",
            source_row=str(data.get("benchmark_id") or ""),
            raw_model=served,
        )
    ]


def _vllm(data: dict[str, Any], origin: str, hw: MeasuredOn) -> list[CurvePoint]:
    completed = float(data.get("completed") or 0)
    if not completed:
        raise InputError(origin, "no completed requests: not a vLLM result with any answers")
    concurrency = data.get("max_concurrency")
    rate = data.get("request_rate")
    load_value: float | None
    if concurrency not in (None, "", 0):
        load_type, load_value = "concurrency", float(concurrency)
    else:
        load_type = "rate"
        load_value = None if rate in (None, "inf", float("inf")) else float(rate)
    served = hw.served(origin, data.get("model_id"))
    lengths = (
        float(data["total_input_tokens"]) / completed,
        float(data["total_output_tokens"]) / completed,
    )
    return [
        hw.row(
            served,
            (load_type, load_value),
            lengths,
            ttft_ms=float(data["mean_ttft_ms"]),
            itl_ms=float(data.get("mean_tpot_ms") or data.get("mean_itl_ms") or 0) or None,
            e2e_ms=float(data["mean_e2el_ms"]) if data.get("mean_e2el_ms") is not None else None,
            req_s=float(data["request_throughput"]),
            out_tok_s=float(data["output_throughput"]) if data.get("output_throughput") else None,
            source_id="vllm-bench",
            source=f"vllm bench serve result {Path(origin).name} ({data.get('date', '')})".strip(),
            raw_model=str(data.get("model_id") or ""),
            notes=f"backend {data.get('backend', '?')}; TPOT excludes the first token",
        )
    ]


def _guidellm_ms(stats: Any, name: str) -> float | None:
    """GuideLLM statistics: {name}_ms or {name} (seconds), each a dict with 'mean' per status."""
    for key, scale in ((f"{name}_ms", 1.0), (name, 1000.0)):
        block = stats.get(key) if isinstance(stats, dict) else None
        if isinstance(block, dict):
            part = block.get("successful", block)
            if isinstance(part, dict) and part.get("mean") is not None:
                return float(part["mean"]) * scale
    return None


def _guidellm_mean(stats: Any, name: str) -> float | None:
    block = stats.get(name) if isinstance(stats, dict) else None
    if isinstance(block, dict):
        part = block.get("successful", block)
        if isinstance(part, dict) and part.get("mean") is not None:
            return float(part["mean"])
    return None


def _guidellm(data: dict[str, Any], origin: str, hw: MeasuredOn) -> list[CurvePoint]:
    rows = []
    for i, b in enumerate(data.get("benchmarks") or []):
        metrics = b.get("metrics") or {}
        strategy = (
            (b.get("config") or {}).get("strategy") or b.get("args", {}).get("strategy") or {}
        )
        kind = str(strategy.get("type_", strategy.get("type", "")))
        if "concurrent" in kind or strategy.get("streams"):
            load_type, load_value = "concurrency", float(strategy.get("streams") or 0) or None
        else:
            load_type = "rate"
            load_value = float(strategy["rate"]) if strategy.get("rate") else None
        isl = _guidellm_mean(metrics, "prompt_token_count")
        osl = _guidellm_mean(metrics, "output_token_count")
        if isl is None or osl is None:
            raise InputError(f"{origin}: benchmarks[{i}]", "no prompt/output token counts")
        config = b.get("config") or {}
        spec = (data.get("config") or {}).get("spec") or {}
        served = hw.served(
            origin,
            config.get("model"),
            (config.get("backend") or {}).get("model"),  # GuideLLM 0.8
            (spec.get("backend") or {}).get("model"),
            data.get("model"),
        )
        rows.append(
            hw.row(
                served,
                (load_type, load_value),
                (isl, osl),
                ttft_ms=_guidellm_ms(metrics, "time_to_first_token"),
                itl_ms=_guidellm_ms(metrics, "inter_token_latency"),
                e2e_ms=_guidellm_ms(metrics, "request_latency"),
                req_s=_guidellm_mean(metrics, "requests_per_second"),
                out_tok_s=_guidellm_mean(metrics, "output_tokens_per_second"),
                source_id="guidellm",
                source=f"GuideLLM benchmarks {Path(origin).name}",
                source_row=str(i),
                raw_model=served,
                notes="ITL from inter_token_latency (first token excluded), not GuideLLM's TPOT",
            )
        )
    if not rows:
        raise InputError(origin, "no benchmarks in this GuideLLM file")
    return rows


PARSERS: dict[str, Callable[[dict[str, Any], str, MeasuredOn], list[CurvePoint]]] = {
    "aiperf": lambda d, o, h: _aiperf(d, o, h, "aiperf"),
    "genai-perf": lambda d, o, h: _aiperf(d, o, h, "genai-perf"),
    "vllm": _vllm,
    "guidellm": _guidellm,
}


def import_file(path: Path, hardware: MeasuredOn, fmt: str | None = None) -> list[CurvePoint]:
    """Rows in the curve schema from one result file (format detected unless given)."""
    from llmsize.files import read_json

    data = read_json(path, "results")
    if not isinstance(data, dict):
        raise InputError(str(path), "expected a JSON object (a result file of a load generator)")
    found = fmt or detect(data)
    if found is None:
        raise InputError(str(path), f"cannot tell the tool; give --from ({', '.join(FORMATS)})")
    if found not in PARSERS:
        raise InputError("--from", f"{found!r} is not one of {', '.join(FORMATS)}")
    try:
        return PARSERS[found](data, str(path), hardware)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise InputError(
            str(path), f"not a {found} result as expected: missing or odd {exc}"
        ) from None
