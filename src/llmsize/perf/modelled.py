"""The calibrated roofline model as a performance source: any model, GPU, precision, TP, batch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from llmsize.catalog import Catalog, Gpu, LlmArch, Server
from llmsize.catalog.precisions import CALIBRATED
from llmsize.deployment import Deployment, Layout, PrecisionSpec
from llmsize.errors import InputError
from llmsize.perf.calibration import Calibration, GroupFit, ResolvedFit
from llmsize.perf.candidates import candidates
from llmsize.perf.estimate import Answer, Estimate, Lookup, StepBasis
from llmsize.perf.memory import MemoryFit, memory_fit
from llmsize.perf.roofline import Setup, StepTimes, inflight_times, static_times
from llmsize.workload import PLAIN, Serving

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
    rate_range: tuple[float, float] | None = None  # measured / modelled rate, 90 % of the time
    range_note: str = ""


def _beyond(layout: Layout, fit: GroupFit | None) -> Layout:
    """The parts of a layout the fit's own rows never ran (an engine profile's silicon runs
    include some attention-DP and expert-parallel layouts; the 2024 fits none)."""
    if fit is None or not fit.layouts:
        return layout
    ran = set(fit.layouts)
    return Layout(
        tp=layout.tp,
        pp=1 if "pp" in ran else layout.pp,
        attention_dp=1 if "attention_dp" in ran else layout.attention_dp,
        ep=1 if "ep" in ran else layout.ep,
        moe_tp=1,
    )


def unmeasured_layout(layout: Layout) -> str:
    """The parts of a layout no bundled calibration measurement ran ('' when none): the fits
    are of tensor-parallel replicas, so pipeline, attention-DP and expert-parallel replicas are
    modelled without a measured error figure."""
    found = []
    if layout.pp > 1:
        found.append("pipeline-parallel replicas")
    if layout.attention_dp > 1:
        found.append("attention data parallelism")
    if layout.ep > 1:
        found.append("expert parallelism")
    return " or ".join(found)


BORROWED_WIDENING = 1.5
"""A borrowed fit's range: its engine's (or all GPUs') range, this much wider in log space."""

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
    if fit.is_profile:
        return f"fit {fit.engine} profile{borrowed}"
    return f"fit {engine}{fit.gpu} {fit.precision}{borrowed}"


@dataclass(frozen=True, slots=True)
class ModelledPerf:
    calibration: Calibration
    catalog: Catalog
    engine: str | None = None
    mode: str = "inflight"
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
        fit = resolved.fit
        if fit is None or resolved.borrowed:
            return None
        summary = self._accuracy(fit, gpu)
        if "throughput" not in summary:
            return None
        return None if self._unmeasured(fit, model) else summary["throughput"]

    def rate_range(
        self, resolved: ResolvedFit, gpu: Gpu, model: LlmArch
    ) -> tuple[tuple[float, float] | None, str]:
        """What the modelled rate is multiplied by to cover 90 % of what was measured where the
        fit was cross-validated (the 5th and 95th percentile of measured / modelled), and a note.
        A borrowed fit takes its engine's (or all GPUs') range, widened by half again in log
        space; a fit never validated for this model has none."""
        fit = resolved.fit
        if fit is None or self._unmeasured(fit, model):
            return None, "unvalidated"
        if not resolved.borrowed:
            own = self._accuracy(fit, gpu)
            if "throughput_low" in own:
                return (own["throughput_low"], own["throughput_high"]), ""
        wide = self.calibration.accuracy_for(fit.engine if fit.is_profile else "all")
        if "throughput_low" not in wide:
            return None, "unvalidated"
        low, high = (
            wide["throughput_low"] ** BORROWED_WIDENING,
            wide["throughput_high"] ** BORROWED_WIDENING,
        )
        return (low, high), "borrowed calibration: range widened"

    def _accuracy(self, fit: GroupFit, gpu: Gpu) -> dict[str, float]:
        """An engine profile's figures on this GPU, or the per-GPU groups' figures."""
        return self.calibration.accuracy_for(gpu.id, fit.engine if fit.is_profile else "")

    @staticmethod
    def _unmeasured(fit: GroupFit, model: LlmArch) -> str:
        """What of the model the fit's measurements never covered: the 2024 groups measured
        dense transformers and Mixtral; an engine profile's silicon runs measured MoE with
        shared experts, MLA, sliding windows, linear attention and 4-bit checkpoints too, so
        only layer kinds none of its models has are unmeasured there."""
        if not fit.is_profile:
            return unmeasured_kinds(model)
        found: dict[str, None] = {}
        for block in model.structure:
            if block.mixer.kind == "mamba":
                found["Mamba layers"] = None
            if block.mixer.topk:
                found["sparse attention"] = None
        return ", ".join(found)

    def typical_error(self, resolved: ResolvedFit, gpu: Gpu, model: LlmArch) -> str:
        fit = resolved.fit
        if fit is None:
            return "error unknown (uncalibrated)"
        kinds = self._unmeasured(fit, model)
        if kinds:
            return f"error unknown (no calibration measurements of {kinds})"
        summary = self._accuracy(fit, gpu)
        if summary and not resolved.borrowed:
            where = f"{fit.engine} on {gpu.id}" if fit.is_profile else gpu.id
            return (
                f"typical error ±{summary['itl']:.0f} % ITL, ±{summary['ttft']:.0f} % TTFT, "
                f"±{summary['throughput']:.0f} % throughput (cross-validated on {where})"
            )
        return "error unknown (borrowed calibration)"

    def point(
        self,
        model: LlmArch,
        gpu: Gpu,
        layout: Layout,
        batch: float,
        precision: str,
        input_tokens: float,
        output_tokens: float,
        server: Server,
        mode: str | None = None,
        kv: str = "",
        serving: Serving = PLAIN,
    ) -> ModelPoint:
        """One configuration: a replica of `layout` at `batch` (its whole concurrency or static
        batch; each attention-DP rank takes its share), served as `serving` says (a cached
        prefix, speculative decoding; in-flight only: the static calculator prefills every
        prompt whole and decodes a token a step). The memory check is reported, not enforced
        (the caller decides)."""
        from llmsize.perf.pipeline import pipelined

        engine = self.engine or ""
        tp, pp, dp = layout.tp, layout.pp, layout.attention_dp
        setup = Setup.on(model, gpu, server, layout, precision, kv=kv, engine=engine)
        resolved = self.resolve(gpu, precision)
        mode = mode or self.mode
        if mode == "static":
            serving = PLAIN
        cached = serving.cached_tokens
        context = int(input_tokens + output_tokens)
        micro = max(1.0, batch / pp)
        per_rank = math.ceil(batch / dp) if mode == "static" else 1
        memory = memory_fit(
            model,
            gpu,
            tp,
            precision,
            context,
            per_rank,
            pp,
            dp,
            kv=kv,
            engine=engine,
            serving=serving,
        )
        if mode == "static":
            times = static_times(setup, resolved.params, int(micro), input_tokens, output_tokens)
            prompt_tokens = micro * input_tokens / dp
        else:
            times = inflight_times(
                setup, resolved.params, micro, input_tokens, output_tokens, serving
            )
            prompt_tokens = input_tokens - cached
        times = pipelined(times, pp, model.hidden, prompt_tokens, micro / dp, server.network_gb_s)
        unmeasured = unmeasured_layout(_beyond(layout, resolved.fit))
        if serving.speculation is not None:  # no calibration row ran speculative decoding
            unmeasured = ", ".join(p for p in (unmeasured, "speculative decoding") if p)
        if unmeasured:  # the calibration data has no runs of such layouts
            kinds = self._unmeasured(resolved.fit, model) if resolved.fit else ""
            parts = ", ".join(p for p in (kinds, unmeasured) if p)
            note = f"error unknown (no calibration measurements of {parts})"
            return ModelPoint(times, memory, resolved, note, None, None, "unvalidated")
        rate_range, range_note = self.rate_range(resolved, gpu, model)
        return ModelPoint(
            times,
            memory,
            resolved,
            self.typical_error(resolved, gpu, model),
            self.error_pct(resolved, gpu, model),
            rate_range,
            range_note,
        )

    def lookup(
        self,
        model: LlmArch,
        server: Server,
        gpu: Gpu,
        precisions: tuple[str, ...],
        input_tokens: int,
        output_tokens: int,
        *,
        kv: str = "",
        serving: Serving = PLAIN,
    ) -> Lookup:
        """Every layout and batch that fits, for each precision; reasons for whatever cannot
        run (the shared enumeration, perf/candidates.py)."""
        estimates: list[Estimate] = []
        if self.mode == "static":
            serving = PLAIN
        enumeration = candidates(
            model,
            server,
            gpu,
            precisions,
            input_tokens + output_tokens,
            self.engine or "",
            kv,
            serving,
        )
        for c in enumeration.found:
            fit, ranks = c.memory, c.layout.attention_dp
            batches = sorted({b for b in BATCHES if b <= fit.max_batch} | {fit.max_batch})
            if self.mode == "inflight":
                batches = [b for b in BATCHES if b <= 2 * fit.max_batch]
            for batch in (b * ranks for b in batches):
                p = self.point(
                    model,
                    gpu,
                    c.layout,
                    batch,
                    c.precision,
                    input_tokens,
                    output_tokens,
                    server,
                    kv=kv,
                    serving=serving,
                )
                estimates.append(self._estimate(server, gpu, c.precision, c.layout, batch, p))
        return Lookup(tuple(estimates), enumeration.missing, enumeration.too_big)

    def answer(
        self,
        deployment: Deployment,
        input_tokens: int,
        output_tokens: int,
        *,
        serving: Serving = PLAIN,
    ) -> Answer:
        """The model's answer for an aggregated deployment at its batch."""
        refuse_unmodelled(deployment)
        pool = deployment.pool
        layout, batch = pool.layout, int(pool.batch or 1)
        precision = deployment.precision.weights
        p = self.point(
            deployment.model,
            pool.gpu,
            layout,
            batch,
            precision,
            input_tokens,
            output_tokens,
            pool.server,
            deployment.mode,
            asked_kv(deployment),
            serving,
        )
        origin = f"model ({p.calibration.label})"
        needed = math.ceil(batch / layout.attention_dp) if deployment.mode == "static" else 1
        if p.memory.max_batch < needed:
            return Answer(None, p.memory, origin, "", p.memory.reason)
        estimate = self._estimate(pool.server, pool.gpu, precision, layout, batch, p)
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
        layout: Layout,
        batch: int,
        p: ModelPoint,
    ) -> Estimate:
        per_replica = layout.servers_spanned(server.gpus)
        instances = server.gpus // layout.gpus if per_replica == 1 else 1 / per_replica
        rps = instances * p.times.instance_rps
        return Estimate(
            server=server.id,
            gpu=gpu.id,
            precision=precision,
            tp=layout.tp,
            batch=float(batch),
            mode=self.mode,
            ttft_ms=p.times.ttft_ms,
            itl_ms=p.times.itl_ms,
            e2e_ms=p.times.e2e_ms,
            rps_per_server=rps,
            provenance="modelled",
            source=short_label(p.calibration),
            citations=(f"llmsize roofline model, calibration: {p.calibration.label}",),
            note=p.typical_error,
            error_pct=p.error_pct,
            rps_low=None if p.rate_range is None else p.rate_range[0] * rps,
            rps_high=None if p.rate_range is None else p.rate_range[1] * rps,
            range_note=p.range_note,
            pp=layout.pp,
            servers_per_replica=per_replica,
            attention_dp=layout.attention_dp,
            ep=layout.ep,
        )
