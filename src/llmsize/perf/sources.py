"""Measured first, modelled elsewhere: one lookup that search and the commands share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from llmsize.catalog import Gpu, LlmArch, Precision, Server
from llmsize.catalog.precisions import FULL_QUALITY
from llmsize.deployment import Deployment
from llmsize.perf.calibration import precision_class
from llmsize.perf.estimate import Answer, Estimate, Lookup, StepBasis
from llmsize.perf.measured import MeasuredCurves
from llmsize.perf.modelled import ModelledPerf, refuse_unmodelled
from llmsize.workload import PLAIN, Serving

SOURCES = ("auto", "measured", "model")


class PerfSource(Protocol):
    """What a search asks a source: everything it can say about a model on a server type."""

    def lookup(
        self,
        model: LlmArch,
        server: Server,
        gpu: Gpu,
        precision: Precision | None,
        input_tokens: int,
        output_tokens: int,
        *,
        kv: str = "",
        serving: Serving = PLAIN,
    ) -> Lookup: ...


def lookup_each(
    perf: PerfSource,
    model: LlmArch,
    server: Server,
    gpu: Gpu,
    precisions: Sequence[Precision | None],
    input_tokens: int,
    output_tokens: int,
    *,
    kv: str = "",
    serving: Serving = PLAIN,
) -> Lookup:
    """One server type's lookups at each precision asked (a use case's `hardware.precision`
    list) as one: every estimate, each reason once."""
    found = [
        perf.lookup(model, server, gpu, p, input_tokens, output_tokens, kv=kv, serving=serving)
        for p in precisions
    ]
    if len(found) == 1:
        return found[0]
    estimates = tuple(e for f in found for e in f.estimates)
    missing = tuple(dict.fromkeys(m for f in found for m in f.missing))
    return Lookup(estimates, missing, any(f.too_big for f in found))


class PerfModel(PerfSource, Protocol):
    """The one performance-model interface the commands use: enumerate (`lookup`), answer for
    one deployment at its load (`answer`), and give the twin its step times (`step_basis`).
    `CombinedPerf` implements it over measured curves and the calibrated model."""

    def answer(
        self,
        deployment: Deployment,
        input_tokens: int,
        output_tokens: int,
        *,
        serving: Serving = PLAIN,
    ) -> Answer: ...

    def step_basis(self, deployment: Deployment) -> StepBasis: ...


def modelled_precisions(
    gpu: Gpu, asked: Precision | None, model: LlmArch | None = None
) -> tuple[str, ...]:
    """What to model: the asked precision; else a quantized checkpoint's own precision (gpt-oss
    is MXFP4, DeepSeek-R1 FP8-block), where the GPU runs it; else FP8 (where the GPU has it) and
    BF16. Weight-only int4 and 4-bit floats change answers, not just speed, so they are modelled
    only when asked for or stored so."""
    if asked is not None:
        return (asked,)
    native = model.native if model is not None else None
    if native is not None and gpu.runs(native.name):
        return (native.name,)
    return tuple(p for p in FULL_QUALITY if gpu.supports(p))


def _covered(measured: Sequence[Estimate]) -> Callable[[Estimate], bool]:
    """Whether measured curves already answer an estimate's precision class and TP (a measured
    row that does not state its TP answers every TP of its precision class)."""
    pairs = {(precision_class(e.precision), e.tp) for e in measured}
    return lambda e: (
        (precision_class(e.precision), e.tp) in pairs
        or (precision_class(e.precision), None) in pairs
    )


NOT_MEASURED = (
    "measured curves were left to the model: they prefilled every prompt whole and decoded a "
    "token a step, and this use case caches a prefix or decodes speculatively"
)


def _credits(serving: Serving, perf: CombinedPerf) -> bool:
    """Whether the answer credits a cached prefix or speculative decoding (in-flight only:
    static batches have neither)."""
    return serving.beyond_measured and perf.modelled.mode == "inflight"


@dataclass(frozen=True, slots=True)
class CombinedPerf:
    """`auto`: measured curves where they answer (a precision and TP with a measured curve at the
    use case's lengths is answered by measurements alone), the calibrated model for every other
    precision and TP; `measured` or `model` alone on request."""

    measured: MeasuredCurves
    modelled: ModelledPerf
    source: str = "auto"
    _bases: dict[tuple[object, ...], StepBasis] = field(
        default_factory=dict, repr=False, compare=False
    )

    def step_basis(self, deployment: Deployment) -> StepBasis:
        """The twin's steps: the calibrated roofline, brought to the deployment's own in-flight
        measurements where there are some (`model` alone on request). The same replica at any
        server count has the same basis, so the simulated search's trials share one."""
        refuse_unmodelled(deployment)  # before asking for its one pool
        pool = deployment.pool
        key = (deployment.model, pool.gpu.id, pool.layout, deployment.precision, pool.server.id)
        found = self._bases.get(key)
        if found is None:
            found = self._bases[key] = self._step_basis(deployment)
        return found

    def _step_basis(self, deployment: Deployment) -> StepBasis:
        basis = self.modelled.step_basis(deployment)
        if self.source == "model":
            return basis
        scales = self.measured.step_scales(deployment, basis.params)
        if scales is None:
            return basis
        prefill, decode, sources = scales
        label = (
            f"{basis.label} scaled to measured in-flight runs ({', '.join(sources)}): "
            f"prefill x{prefill:.2f}, decode x{decode:.2f}"
        )
        return replace(
            basis, label=label, prefill_scale=prefill, decode_scale=decode, measured=sources
        )

    def answer(
        self,
        deployment: Deployment,
        input_tokens: int,
        output_tokens: int,
        *,
        serving: Serving = PLAIN,
    ) -> Answer:
        """Measured first (its memory from the model), the model elsewhere; `measured` alone
        says why it cannot answer. A cached prefix or speculative decoding is the model's to
        answer in `auto`: the measurements ran without them."""
        modelled = self.modelled.answer(deployment, input_tokens, output_tokens, serving=serving)
        if self.source == "model" or (self.source == "auto" and _credits(serving, self)):
            return modelled
        measured = self.measured.answer(deployment, input_tokens, output_tokens)
        if measured.estimate is not None or self.source == "measured":
            return replace(measured, memory=modelled.memory)
        return modelled

    def lookup(
        self,
        model: LlmArch,
        server: Server,
        gpu: Gpu,
        precision: Precision | None,
        input_tokens: int,
        output_tokens: int,
        *,
        kv: str = "",
        serving: Serving = PLAIN,
    ) -> Lookup:
        """`kv`: the KV cache's precision when asked apart from the weights ('' : it follows).
        `serving`: a shared prompt prefix the engine's prefix cache holds, speculative decoding.
        Measured curves ran without them, so where either applies `auto` leaves them to the
        model (and says so); `measured` alone answers without them, and says so."""
        measured = Lookup(())
        skipped: tuple[str, ...] = ()
        if self.source == "auto" and _credits(serving, self):
            skipped = (NOT_MEASURED,)
        elif self.source != "model":
            measured = self.measured.lookup(
                model,
                server,
                gpu,
                precision,
                input_tokens,
                output_tokens,
                self.modelled.mode,
                kv=kv,
                serving=serving,
            )
        if self.source == "measured":
            return measured
        modelled = self.modelled.lookup(
            model,
            server,
            gpu,
            modelled_precisions(gpu, precision, model),
            input_tokens,
            output_tokens,
            kv=kv,
            serving=serving,
        )
        if self.source == "model":
            return modelled
        covered = _covered(measured.estimates)
        extra = tuple(e for e in modelled.estimates if not covered(e))
        answered = bool(measured.estimates or extra)
        # why measurements were left out matters when the model answered another cache for them
        missing = modelled.missing + (() if answered and not kv else measured.missing) + skipped
        return Lookup(measured.estimates + extra, tuple(dict.fromkeys(missing)), modelled.too_big)
