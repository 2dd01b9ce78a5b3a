"""Measured curves as a performance source: exact points, or interpolated between lengths."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmsize.benchdb.interpolate import CurveMiss, value_at
from llmsize.benchdb.schema import CurvePoint
from llmsize.benchdb.store import CurveStore, GroupKey
from llmsize.catalog import Gpu, LlmArch, Precision, Server
from llmsize.catalog.precisions import FULL_QUALITY, SAME_RATE
from llmsize.deployment import Deployment
from llmsize.perf.estimate import Answer, Estimate, Lookup
from llmsize.units import e2e_ms
from llmsize.workload import PLAIN, Serving

if TYPE_CHECKING:
    from llmsize.perf.roofline import Params

_MODES = {"batch": "static", "concurrency": "inflight"}


def precisions_for(gpu: Gpu, asked: Precision | None) -> tuple[str, ...]:
    """The asked precision (BF16 and FP16 stand for each other), or every full-quality one."""
    if asked is None:
        return tuple(p for p in (*FULL_QUALITY, "fp16") if gpu.supports(p))
    return SAME_RATE.get(asked, (asked,))


def cite(points: Iterable[CurvePoint]) -> tuple[str, ...]:
    """One citation per source, naming the rows used: 'source (rows 12, 15)'."""
    rows: dict[str, list[str]] = {}
    for p in points:
        rows.setdefault(p.source or p.origin, [])
        if p.source_row and p.source_row not in rows[p.source or p.origin]:
            rows[p.source or p.origin].append(p.source_row)
    return tuple(
        f"{source} (row{'s' if len(r) > 1 else ''} {', '.join(r)})" if r else source
        for source, r in rows.items()
    )


@dataclass(frozen=True, slots=True)
class MeasuredCurves:
    store: CurveStore

    def lookup(
        self,
        model: LlmArch,
        server: Server,
        gpu: Gpu,
        precision: Precision | None,
        input_tokens: int,
        output_tokens: int,
        mode: str = "static",
        *,
        kv: str = "",
        serving: Serving = PLAIN,
    ) -> Lookup:
        """Curves of this model on this GPU in the mode asked (static batches or in-flight
        concurrency), at the use case's lengths; with `kv`, only curves whose KV cache was held
        in it (a curve's cache follows its precision). The curves prefilled every prompt whole
        and decoded a token a step: a cached prefix or speculative decoding is not credited,
        and the lookup says so."""
        found = self._lookup(model, server, gpu, precision, input_tokens, output_tokens, mode, kv)
        if not serving.beyond_measured or mode != "inflight" or not found.estimates:
            return found
        note = (
            "measured curves prefill every prompt whole and decode a token a step: the cached "
            "prefix or speculative decoding is not credited"
        )
        return Lookup(found.estimates, (*found.missing, note), found.too_big)

    def _lookup(
        self,
        model: LlmArch,
        server: Server,
        gpu: Gpu,
        precision: Precision | None,
        input_tokens: int,
        output_tokens: int,
        mode: str,
        kv: str,
    ) -> Lookup:
        from llmsize.catalog.precisions import info

        wanted = precisions_for(gpu, precision)
        curves = self._curves(model, gpu)
        if not curves:
            return Lookup((), (f"no measurements of {model.id} on {gpu.id}",))
        estimates: list[Estimate] = []
        missing: dict[str, None] = {}
        for (_, _, prec, tp, load_type, load_value), points in sorted(
            curves.items(), key=lambda kv: (kv[0][2], kv[0][3] or 0, kv[0][4], kv[0][5] or 0)
        ):
            if prec not in wanted or _MODES.get(load_type) != mode:
                continue
            tag = f"{prec} TP{tp if tp is not None else '?'}"
            held = info(prec).kv
            if kv and kv != held:
                missing[f"{tag}: measured with a {held} KV cache, not {kv}"] = None
                continue
            if tp is not None and tp > server.gpus:
                missing[f"{tag}: needs {tp} GPUs, {server.id} has {server.gpus}"] = None
                continue
            value = value_at(points, input_tokens, output_tokens)
            if isinstance(value, CurveMiss):
                missing[f"{tag}: {value.reason}"] = None
                continue
            m = value.metrics
            ttft, itl = m["ttft_ms"], m["itl_ms"]
            if ttft is None or (itl is None and output_tokens > 1):
                missing[f"{tag}: TTFT or ITL not measured"] = None
                continue
            e2e = e2e_ms(ttft, itl or 0.0, output_tokens)
            rps = self._rps(m, server, tp, load_value, mode, e2e)
            if rps is None:
                missing[f"{tag}: throughput not measured and TP or batch not stated"] = None
                continue
            source_ids = dict.fromkeys(p.source_id or p.origin for p in value.points)
            note = ""
            if precision is not None and prec != precision:
                note = f"measured in {prec}; {precision} runs at the same datasheet rate"
            estimates.append(
                Estimate(
                    server=server.id,
                    gpu=gpu.id,
                    precision=prec,
                    tp=tp,
                    batch=load_value,
                    mode=mode,
                    ttft_ms=ttft,
                    itl_ms=itl,
                    e2e_ms=e2e,
                    rps_per_server=rps,
                    provenance=value.provenance,
                    source=", ".join(source_ids),
                    citations=cite(value.points),
                    note=note,
                )
            )
        if not estimates and not missing:
            missing[f"no measurements of {model.id} on {gpu.id} in {'/'.join(wanted)}"] = None
        return Lookup(tuple(estimates), tuple(missing))

    def _curves(self, model: LlmArch, gpu: Gpu) -> dict[GroupKey, tuple[CurvePoint, ...]]:
        """This model's curves on this GPU, stored under its id or its name."""
        return self.store.curves(model.id, gpu.id) or self.store.curves(model.name.lower(), gpu.id)

    def answer(self, deployment: Deployment, input_tokens: int, output_tokens: int) -> Answer:
        """The measured (or interpolated) curve point of this deployment's precision, TP and
        batch, if one was measured."""
        from llmsize.perf.modelled import asked_kv

        pool = deployment.pool
        if not pool.layout.is_tensor_only:
            return Answer(None, None, "", reason=f"no measured curve ran {pool.layout.label}")
        lookup = self.lookup(
            deployment.model,
            pool.server,
            pool.gpu,
            deployment.precision.weights,  # type: ignore[arg-type]
            input_tokens,
            output_tokens,
            deployment.mode,
            kv=asked_kv(deployment),
        )
        tp, batch = pool.layout.tp, pool.batch
        for e in lookup.estimates:
            if e.tp == tp and e.batch == batch:
                return Answer(e, None, "; ".join(e.citations) or e.source)
        return Answer(None, None, "", reason="no measured curve covers this configuration")

    def step_scales(
        self, deployment: Deployment, params: Params
    ) -> tuple[float, float, tuple[str, ...]] | None:
        """Factors (prefill, decode) that bring the roofline to this deployment's measured
        in-flight runs: the median of measured / modelled ITL over every concurrency measured,
        and of TTFT at the lowest concurrency (where it is nearly one prefill). None when this
        model, GPU, precision and TP has no closed-loop measurement."""
        from llmsize.perf.modelled import asked_kv
        from llmsize.perf.roofline import Setup, inflight_times

        pool = deployment.pool
        if asked_kv(deployment) or not pool.layout.is_tensor_only:
            return None  # the measurements ran another cache or layout
        model, gpu, tp = deployment.model, pool.gpu, pool.layout.tp
        precision = deployment.precision.weights
        wanted = precisions_for(gpu, precision)  # type: ignore[arg-type]
        points = [
            p
            for (_, _, prec, curve_tp, load_type, _), group in self._curves(model, gpu).items()
            if prec in wanted and curve_tp == tp and load_type == "concurrency"
            for p in group
            if p.load_value and p.ttft_ms and p.itl_ms
        ]
        if not points:
            return None
        setup = Setup(model, gpu, tp, precision, pool.server.nvlink_domain)

        modelled = [
            inflight_times(setup, params, p.load_value or 1, p.input_tokens, p.output_tokens)
            for p in points
        ]
        decode = statistics.median(
            (p.itl_ms or 0) / float(t.itl_ms) for p, t in zip(points, modelled, strict=True)
        )
        lowest = min(p.load_value or 1 for p in points)
        prefill = statistics.median(
            (p.ttft_ms or 0) / float(t.ttft_ms)
            for p, t in zip(points, modelled, strict=True)
            if p.load_value == lowest
        )
        return prefill, decode, tuple(dict.fromkeys(p.source_id or p.origin for p in points))

    @staticmethod
    def _rps(
        m: dict[str, float | None],
        server: Server,
        tp: int | None,
        load_value: float | None,
        mode: str,
        e2e: float,
    ) -> float | None:
        """Requests/s of a whole server: as published, or instances x batch / E2E (static), or
        instances x measured req/s (in-flight)."""
        published = m["rps_per_8_gpus"]
        if published is not None:
            return published * server.gpus / 8
        if tp is None or load_value is None:
            return None
        instances = server.gpus // tp
        if mode == "static":
            return instances * load_value / (e2e / 1000.0)
        req_s = m["req_s"]
        return None if req_s is None else instances * req_s
