"""The one enumeration of candidate deployments: every precision and layout of a model on a server
type that the GPU runs and the memory holds, and why the others were left out. The steady-state
search (`ModelledPerf.lookup`) and the simulated search both start from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmsize.catalog import Gpu, LlmArch, Server
from llmsize.deployment import Layout
from llmsize.perf.memory import MemoryFit, memory_fit
from llmsize.workload import PLAIN, Serving

TPS = (1, 2, 4, 8)
"""Tensor-parallel widths tried (within the server)."""

PPS = (2, 3, 4)
"""Pipeline stages tried, one server-wide TP group each, when no layout fits one server: a
replica then spans that many whole servers."""

EP_WIDTHS = (2, 4, 8, 16, 32, 64)
"""GPUs an MoE model's expert-parallel layouts are tried on, within the NVLink domain (an NVL72
rack takes the wide ones)."""


def moe_layouts(model: LlmArch, server: Server) -> list[Layout]:
    """Expert-parallel layouts of an MoE model on this server: for each width the NVLink domain
    holds, attention TP over it with the experts spread over the same GPUs (TP8 EP8), and
    attention data parallel with them (TP1×DP8 EP8), as SGLang and TensorRT-LLM run DeepSeek."""
    if not model.is_moe:
        return []
    found = []
    for width in EP_WIDTHS:
        if width > min(server.gpus, server.nvlink_domain):
            break
        for layout in (
            Layout(tp=width, ep=width),
            Layout(tp=1, attention_dp=width, ep=width),
        ):
            if not layout.problems(model, server.gpus):
                found.append(layout)
    return found


@dataclass(frozen=True, slots=True)
class Candidate:
    """A precision and layout that runs the model on this server type, with its memory fit for
    one sequence of the use case's length."""

    precision: str
    layout: Layout
    memory: MemoryFit


def unsupported(gpu: Gpu, precision: str) -> str:
    """Why a GPU cannot run a precision, or ''."""
    if gpu.runs(precision):
        return ""
    return f"{gpu.id} has no {precision.upper()} tensor cores"


def tp_problem(model: LlmArch, tp: int, gpus: int) -> str:
    """Why TP `tp` cannot run the model within one server of `gpus` GPUs, or '' (the layout's
    own rules, deployment.Layout, plus: today's candidates stay within a server)."""
    if tp > gpus:
        return f"TP{tp} needs {tp} GPUs; the server has {gpus}"
    problems = Layout(tp=tp).problems(model, gpus)
    return problems[0] if problems else ""


@dataclass(frozen=True, slots=True)
class Enumeration:
    """What runs, why the rest does not, and whether memory was what stopped them."""

    found: tuple[Candidate, ...]
    missing: tuple[str, ...]
    too_big: bool  # some layout ran out of memory (the widest one is in `missing`)


def candidates(
    model: LlmArch,
    server: Server,
    gpu: Gpu,
    precisions: Sequence[str],
    context_tokens: int,
    engine: str = "",
    kv: str = "",
    serving: Serving = PLAIN,
) -> Enumeration:
    """Every (precision, layout) that runs and fits, in precision then width order; and why the
    rest cannot (unsupported precision, a layout the model or server cannot take, too big).
    With a cached prefix, each sequence holds only what it does not find cached, and the
    prefix is held once; a speculative drafter's weights are held beside the model's."""
    found: list[Candidate] = []
    missing: dict[str, None] = {}
    any_too_big = False
    if kv == "nvfp4" and not gpu.supports("nvfp4"):
        return Enumeration((), (f"{gpu.id} has no FP4 tensor cores for an NVFP4 KV cache",), False)
    for precision in precisions:
        why = unsupported(gpu, precision)
        if why:
            missing[why] = None
            continue
        too_big = ""
        fitted = False
        layouts = []
        for tp in TPS:
            problem = tp_problem(model, tp, server.gpus)
            if problem and tp <= server.gpus:
                missing[problem] = None
            elif not problem:
                layouts.append(Layout(tp=tp))
        for layout in [*layouts, *moe_layouts(model, server)]:
            fit = memory_fit(
                model,
                gpu,
                layout.tp,
                precision,
                context_tokens,
                attention_dp=layout.attention_dp,
                kv=kv,
                engine=engine,
                serving=serving,
            )
            if fit.max_batch < 1:
                if layout.is_tensor_only or not too_big:  # the widest TP, else the first EP
                    too_big = f"does not fit: {fit.reason or 'no room for one sequence'}"
                continue
            fitted = True
            found.append(Candidate(precision, layout, fit))
        if not fitted:
            spanning = _spanning(model, server, gpu, precision, context_tokens, engine, kv, serving)
            if spanning is not None:
                found.append(spanning)
                too_big = ""
        if too_big:  # the widest layout that was tried: the closest it came to fitting
            missing[too_big] = None
            any_too_big = True
    return Enumeration(tuple(found), tuple(missing), any_too_big)


def _spanning(
    model: LlmArch,
    server: Server,
    gpu: Gpu,
    precision: str,
    context_tokens: int,
    engine: str = "",
    kv: str = "",
    serving: Serving = PLAIN,
) -> Candidate | None:
    """The narrowest pipeline of server-wide TP groups that holds the model, if any."""
    tp = max((t for t in TPS if t <= min(server.gpus, server.nvlink_domain)), default=1)
    if tp_problem(model, tp, server.gpus):
        return None
    for pp in PPS:
        layout = Layout(tp=tp, pp=pp)
        if layout.problems(model, server.gpus):
            continue
        fit = memory_fit(
            model,
            gpu,
            tp,
            precision,
            context_tokens,
            1,
            pp,
            kv=kv,
            engine=engine,
            serving=serving,
        )
        if fit.max_batch >= 1:
            return Candidate(precision, layout, fit)
    return None
