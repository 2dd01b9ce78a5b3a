"""The calibrated roofline model as a performance source: any model, GPU, precision, TP, batch."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmsize.catalog import Catalog, Gpu, LlmArch, Server
from llmsize.perf.calibration import Calibration, Resolved
from llmsize.perf.estimate import Estimate, Lookup
from llmsize.perf.memory import MemoryFit, memory_fit
from llmsize.perf.roofline import Setup, StepTimes, inflight_times, static_times

BATCHES = (1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)
"""Batch sizes (or concurrencies) the model explores; the largest that fits is added."""

TPS = (1, 2, 4, 8)

MODES = ("static", "inflight")


@dataclass(frozen=True, slots=True)
class ModelPoint:
    """One modelled configuration: latencies, rate, memory, and where the parameters came from."""

    times: StepTimes
    memory: MemoryFit
    calibration: Resolved
    typical_error: str


def unsupported(gpu: Gpu, precision: str) -> str:
    """Why a GPU cannot run a precision, or ''."""
    if gpu.supports(precision):
        return ""
    return f"{gpu.id} has no {precision.upper()} tensor cores"


def tp_problem(model: LlmArch, tp: int, gpus: int) -> str:
    if tp > gpus:
        return f"TP{tp} needs {tp} GPUs; the server has {gpus}"
    if gpus % tp:
        return f"TP{tp} does not divide the server's {gpus} GPUs"
    if model.heads % tp:
        return f"TP{tp} does not divide {model.id}'s {model.heads} attention heads"
    return ""


def short_label(resolved: Resolved) -> str:
    """'fit h100-sxm fp8', with '(borrowed)' when the GPU or engine had no fit of its own."""
    fit = resolved.fit
    if fit is None:
        return "no fit (defaults)"
    engine = "" if fit.engine == "trtllm-0.9" else f"{fit.engine} "
    borrowed = " (borrowed)" if resolved.borrowed else ""
    return f"fit {engine}{fit.gpu} {fit.precision}{borrowed}"


@dataclass(frozen=True, slots=True)
class ModelledPerf:
    calibration: Calibration
    catalog: Catalog
    engine: str | None = None
    mode: str = "static"
    _resolved: dict[tuple[str, str], Resolved] = field(
        default_factory=dict, repr=False, compare=False
    )

    def resolve(self, gpu: Gpu, precision: str) -> Resolved:
        """The calibration's parameters for this GPU and precision (cached: asked per point)."""
        key = (gpu.id, precision)
        found = self._resolved.get(key)
        if found is None:
            found = self.calibration.resolve(self.engine, gpu, precision, self.catalog)
            self._resolved[key] = found
        return found

    def error_pct(self, resolved: Resolved, gpu: Gpu) -> float | None:
        """Cross-validated median throughput error on this GPU, when its own fit is used."""
        summary = self.calibration.accuracy_for(gpu.id)
        if resolved.fit is None or resolved.borrowed or "throughput" not in summary:
            return None
        return summary["throughput"]

    def typical_error(self, resolved: Resolved, gpu: Gpu) -> str:
        fit = resolved.fit
        if fit is None:
            return "error unknown (uncalibrated)"
        summary = self.calibration.accuracy_for(gpu.id)
        if summary and not resolved.borrowed:
            return (
                f"typical error ±{summary['itl']:.0f} % ITL, ±{summary['ttft']:.0f} % TTFT, "
                f"±{summary['throughput']:.0f} % throughput (cross-validated on {gpu.id})"
            )
        return "error unknown (borrowed calibration)"

    def point(
        self,
        model: LlmArch,
        gpu: Gpu,
        tp: int,
        batch: float,
        precision: str,
        input_tokens: float,
        output_tokens: float,
        nvlink_domain: int,
        mode: str | None = None,
    ) -> ModelPoint:
        """One configuration. The memory check is reported, not enforced (the caller decides)."""
        setup = Setup(model, gpu, tp, precision, nvlink_domain)
        resolved = self.resolve(gpu, precision)
        mode = mode or self.mode
        context = int(input_tokens + output_tokens)
        if mode == "static":
            times = static_times(setup, resolved.params, int(batch), input_tokens, output_tokens)
            memory = memory_fit(model, gpu, tp, precision, context, int(batch))
        else:
            times = inflight_times(setup, resolved.params, batch, input_tokens, output_tokens)
            memory = memory_fit(model, gpu, tp, precision, context, 1)
        return ModelPoint(times, memory, resolved, self.typical_error(resolved, gpu))

    def lookup(
        self,
        model: LlmArch,
        server: Server,
        gpu: Gpu,
        precisions: tuple[str, ...],
        input_tokens: int,
        output_tokens: int,
    ) -> Lookup:
        """Every TP and batch that fits, for each precision; reasons for whatever cannot run."""
        estimates: list[Estimate] = []
        missing: dict[str, None] = {}
        context = input_tokens + output_tokens
        for precision in precisions:
            why = unsupported(gpu, precision)
            if why:
                missing[why] = None
                continue
            too_big = ""
            for tp in TPS:
                problem = tp_problem(model, tp, server.gpus)
                if problem:
                    if tp <= server.gpus:
                        missing[problem] = None
                    continue
                fit = memory_fit(model, gpu, tp, precision, context)
                if fit.max_batch < 1:
                    too_big = f"does not fit: {fit.reason or 'no room for one sequence'}"
                    continue
                batches = sorted({b for b in BATCHES if b <= fit.max_batch} | {fit.max_batch})
                if self.mode == "inflight":
                    batches = [b for b in BATCHES if b <= 2 * fit.max_batch]
                for batch in batches:
                    p = self.point(
                        model,
                        gpu,
                        tp,
                        batch,
                        precision,
                        input_tokens,
                        output_tokens,
                        server.nvlink_domain,
                    )
                    estimates.append(self._estimate(server, gpu, precision, tp, batch, p))
            if too_big:  # the widest TP that was tried: the closest it came to fitting
                missing[too_big] = None
        return Lookup(tuple(estimates), tuple(missing))

    def _estimate(
        self, server: Server, gpu: Gpu, precision: str, tp: int, batch: int, p: ModelPoint
    ) -> Estimate:
        instances = server.gpus // tp
        return Estimate(
            server=server.id,
            gpu=gpu.id,
            precision=precision,
            tp=tp,
            batch=float(batch),
            mode=self.mode,
            ttft_ms=p.times.ttft_ms,
            itl_ms=p.times.itl_ms,
            e2e_ms=p.times.e2e_ms,
            rps_per_server=instances * p.times.instance_rps,
            provenance="modelled",
            source=short_label(p.calibration),
            citations=(f"llmsize roofline model, calibration: {p.calibration.label}",),
            note=p.typical_error,
            error_pct=self.error_pct(p.calibration, gpu),
        )
