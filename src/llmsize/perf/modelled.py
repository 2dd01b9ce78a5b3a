"""The calibrated roofline model as a performance source: any model, GPU, precision, TP, batch."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmsize.catalog import Catalog, Gpu, LlmArch, Server
from llmsize.catalog.precisions import CALIBRATED
from llmsize.deployment import Deployment, Layout, PrecisionSpec
from llmsize.errors import InputError
from llmsize.perf.calibration import Calibration, ResolvedFit
from llmsize.perf.candidates import candidates
from llmsize.perf.estimate import Answer, Estimate, Lookup, StepBasis
from llmsize.perf.memory import MemoryFit, memory_fit
from llmsize.perf.roofline import Setup, StepTimes, inflight_times, static_times

BATCHES = (1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)
"""Batch sizes (or concurrencies) the model explores; the largest that fits is added."""


MODES = ("static", "inflight")


@dataclass(frozen=True, slots=True)
class ModelPoint:
    """One modelled configuration: latencies, rate, memory, and where the parameters came from."""

    times: StepTimes
    memory: MemoryFit
    calibration: ResolvedFit
    typical_error: str
    error_pct: float | None = None  # cross-validated throughput error, where it was measured


def unmodelled_layout(layout: Layout) -> str:
    """Why the model cannot represent this layout yet ('' when it can): tensor and pipeline
    parallel are modelled; attention data parallel and expert parallel not yet."""
    if layout.attention_dp == 1 and layout.ep == 1:
        return ""
    return f"{layout.label}: attention-DP and expert-parallel layouts are not modelled yet"


MEASURED_EXPERTS = 8
"""The widest MoE in the bundled calibration data (Mixtral 8x7B, top-2, no shared experts)."""


def unmeasured_kinds(model: LlmArch) -> str:
    """The parts of a model no bundled calibration measurement covers ('' when all are): the
    error figures were cross-validated on dense transformers and Mixtral, so they are shown only
    for models of those kinds."""
    found: dict[str, None] = {}
    for block in model.structure:
        if block.mixer.kind != "full":
            found[block.mixer.kind.replace("mla", "MLA") + " layers"] = None
        if block.mixer.window or block.mixer.topk:
            found["windowed or sparse attention"] = None
        ffn = block.ffn
        shared = ffn.params > model.hidden * ffn.experts  # more than a router: shared experts
        if ffn.kind == "moe" and (ffn.experts > MEASURED_EXPERTS or shared):
            found[f"MoE with {ffn.experts} experts"] = None
    if model.native is not None and model.native.name not in CALIBRATED:
        found[f"{model.native.name} checkpoints"] = None
    return ", ".join(found)


def refuse_unmodelled(deployment: Deployment) -> None:
    """A deployment the model cannot represent yet is refused by name, never approximated."""
    if not deployment.is_aggregated:
        raise InputError("deployment", "disaggregated prefill/decode pools are not modelled yet")
    why = unmodelled_layout(deployment.pool.layout)
    if why:
        raise InputError("deployment", why)
    spec, named = deployment.precision, PrecisionSpec.named(deployment.precision.weights)
    if spec.activations != named.activations:
        raise InputError("precision", f"{spec.label}: mixed precisions are not modelled yet")


def asked_kv(deployment: Deployment) -> str:
    """The KV-cache precision a deployment asks for apart from its weights ('' : it follows
    them, or the checkpoint's own KV scheme)."""
    spec = deployment.precision
    return "" if spec.kv_cache == PrecisionSpec.named(spec.weights).kv_cache else spec.kv_cache


def short_label(resolved: ResolvedFit) -> str:
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
    _resolved: dict[tuple[str, str], ResolvedFit] = field(
        default_factory=dict, repr=False, compare=False
    )

    def resolve(self, gpu: Gpu, precision: str) -> ResolvedFit:
        """The calibration's parameters for this GPU and precision (cached: asked per point)."""
        key = (gpu.id, precision)
        found = self._resolved.get(key)
        if found is None:
            found = self.calibration.resolve(self.engine, gpu, precision, self.catalog)
            self._resolved[key] = found
        return found

    def error_pct(self, resolved: ResolvedFit, gpu: Gpu, model: LlmArch) -> float | None:
        """Cross-validated median throughput error on this GPU, when its own fit is used and
        the model is of a kind the calibration measured."""
        summary = self.calibration.accuracy_for(gpu.id)
        if resolved.fit is None or resolved.borrowed or "throughput" not in summary:
            return None
        return None if unmeasured_kinds(model) else summary["throughput"]

    def typical_error(self, resolved: ResolvedFit, gpu: Gpu, model: LlmArch) -> str:
        fit = resolved.fit
        if fit is None:
            return "error unknown (uncalibrated)"
        kinds = unmeasured_kinds(model)
        if kinds:
            return f"error unknown (no calibration measurements of {kinds})"
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
        pp: int = 1,
        kv: str = "",
    ) -> ModelPoint:
        """One configuration (a replica of TP `tp` × `pp` pipeline stages at `batch`). The memory
        check is reported, not enforced (the caller decides)."""
        from llmsize.perf.pipeline import pipelined

        engine = self.engine or ""
        setup = Setup(model, gpu, tp, precision, nvlink_domain, pp, kv, engine)
        resolved = self.resolve(gpu, precision)
        mode = mode or self.mode
        context = int(input_tokens + output_tokens)
        micro = max(1.0, batch / pp)
        if mode == "static":
            times = static_times(setup, resolved.params, int(micro), input_tokens, output_tokens)
            memory = memory_fit(
                model, gpu, tp, precision, context, int(batch), pp, kv=kv, engine=engine
            )
            prompt_tokens = micro * input_tokens
        else:
            times = inflight_times(setup, resolved.params, micro, input_tokens, output_tokens)
            memory = memory_fit(model, gpu, tp, precision, context, 1, pp, kv=kv, engine=engine)
            prompt_tokens = input_tokens
        times = pipelined(times, pp, model.hidden, prompt_tokens, micro)
        if pp > 1:  # the calibration data has no pipeline-parallel runs
            note = "error unknown (no calibration measurements of pipeline-parallel replicas)"
            return ModelPoint(times, memory, resolved, note, None)
        return ModelPoint(
            times,
            memory,
            resolved,
            self.typical_error(resolved, gpu, model),
            self.error_pct(resolved, gpu, model),
        )

    def lookup(
        self,
        model: LlmArch,
        server: Server,
        gpu: Gpu,
        precisions: tuple[str, ...],
        input_tokens: int,
        output_tokens: int,
    ) -> Lookup:
        """Every layout and batch that fits, for each precision; reasons for whatever cannot
        run (the shared enumeration, perf/candidates.py)."""
        estimates: list[Estimate] = []
        enumeration = candidates(
            model, server, gpu, precisions, input_tokens + output_tokens, self.engine or ""
        )
        for c in enumeration.found:
            tp, pp, fit = c.layout.tp, c.layout.pp, c.memory
            batches = sorted({b for b in BATCHES if b <= fit.max_batch} | {fit.max_batch})
            if self.mode == "inflight":
                batches = [b for b in BATCHES if b <= 2 * fit.max_batch]
            for batch in batches:
                p = self.point(
                    model,
                    gpu,
                    tp,
                    batch,
                    c.precision,
                    input_tokens,
                    output_tokens,
                    server.nvlink_domain,
                    pp=pp,
                )
                estimates.append(self._estimate(server, gpu, c.precision, tp, batch, p, pp))
        return Lookup(tuple(estimates), enumeration.missing, enumeration.too_big)

    def answer(self, deployment: Deployment, input_tokens: int, output_tokens: int) -> Answer:
        """The model's answer for an aggregated, tensor-parallel deployment at its batch."""
        refuse_unmodelled(deployment)
        pool = deployment.pool
        tp, pp, batch = pool.layout.tp, pool.layout.pp, int(pool.batch or 1)
        precision = deployment.precision.weights
        p = self.point(
            deployment.model,
            pool.gpu,
            tp,
            batch,
            precision,
            input_tokens,
            output_tokens,
            pool.server.nvlink_domain,
            deployment.mode,
            pp,
            asked_kv(deployment),
        )
        origin = f"model ({p.calibration.label})"
        if p.memory.max_batch < (batch if deployment.mode == "static" else 1):
            return Answer(None, p.memory, origin, "", p.memory.reason)
        estimate = self._estimate(pool.server, pool.gpu, precision, tp, batch, p, pp)
        return Answer(estimate, p.memory, origin, p.typical_error)

    def step_basis(self, deployment: Deployment) -> StepBasis:
        """The calibrated parameters the twin's steps run on, for this deployment's GPU."""
        refuse_unmodelled(deployment)
        pool = deployment.pool
        resolved = self.resolve(pool.gpu, deployment.precision.weights)
        return StepBasis(resolved.params, f"model ({resolved.label})")

    def _estimate(
        self,
        server: Server,
        gpu: Gpu,
        precision: str,
        tp: int,
        batch: int,
        p: ModelPoint,
        pp: int = 1,
    ) -> Estimate:
        layout = Layout(tp=tp, pp=pp)
        per_replica = layout.servers_spanned(server.gpus)
        instances = server.gpus // layout.gpus if per_replica == 1 else 1 / per_replica
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
            error_pct=p.error_pct,
            pp=pp,
            servers_per_replica=per_replica,
        )
