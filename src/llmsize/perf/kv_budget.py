"""How much of a GPU each serving engine gives its KV cache (data/engines.yaml).

Engines size the cache differently: vLLM and SGLang take a share of the device's whole memory
and leave the cache what the weights and runtime do not use; TensorRT-LLM gives the cache a
share of what is free once the weights and its buffers are in place; TensorRT-LLM 0.9's static
sessions allocate exactly the batch's cache. The rule, not one fraction for all, decides whether
a batch fits.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from llmsize.catalog import Gpu


class Scheduler(BaseModel):
    """An engine's scheduler defaults that the in-flight model uses, with their source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step_tokens: int = Field(ge=1)
    step_tokens_below_gib: dict[float, int] = Field(default_factory=dict)
    step_tokens_by_gpu: dict[str, int] = Field(default_factory=dict)
    step_tokens_by_generation: dict[str, int] = Field(default_factory=dict)
    chunked_prefill: bool
    mixed_prefill: bool  # a prompt's chunk rides a decode step: its first token waits for it alone
    prefix_caching: bool
    max_running: int | None = Field(default=None, ge=1)
    max_running_by_generation: dict[str, int] = Field(default_factory=dict)
    source: str
    # disaggregated: which worker's step the client's first token leaves with ("prefill": the
    # prefill worker's, as it samples it; "decode": the decode worker's first step once the KV
    # cache has landed, the token recomputed there), and where that is documented
    disaggregated_first_token: Literal["prefill", "decode"] = "prefill"
    disaggregated_source: str = ""

    def tokens_for(self, gpu: Gpu) -> int:
        """The step's token budget on this GPU: a GPU or device generation (a CPU) named apart,
        else the first memory tier the GPU is below, else the default."""
        if gpu.id in self.step_tokens_by_gpu:
            return self.step_tokens_by_gpu[gpu.id]
        if gpu.generation in self.step_tokens_by_generation:
            return self.step_tokens_by_generation[gpu.generation]
        for below, tokens in sorted(self.step_tokens_below_gib.items()):
            if gpu.memory_gb < below:
                return tokens
        return self.step_tokens

    def running_for(self, gpu: Gpu) -> int | None:
        """The most sequences a step runs on this device (None: as many as memory holds)."""
        return self.max_running_by_generation.get(gpu.generation, self.max_running)


class MemoryRule(BaseModel):
    """One engine's KV-cache budget rule and scheduler defaults, with their sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    rule: Literal["share_of_total", "share_of_free"]
    fraction: float = Field(gt=0, le=1)
    fraction_by_tp: dict[int, float] = Field(default_factory=dict)
    fraction_flag: str
    overhead_gib: float = Field(ge=0)
    overhead_per_weight_gib: float = Field(default=0.0, ge=0)
    source: str
    scheduler: Scheduler

    def fraction_at(self, tp: int) -> float:
        """The default fraction at this TP size (SGLang lowers it as TP grows)."""
        steps = [f for size, f in sorted(self.fraction_by_tp.items()) if size <= tp]
        return steps[-1] if steps else self.fraction

    def overhead(self, weights_gib: float) -> float:
        """Runtime memory beside weights and cache: activations, graphs, buffers, context."""
        return self.overhead_gib + self.overhead_per_weight_gib * weights_gib


class EngineMemory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int
    visible_fraction: float = Field(gt=0, le=1)
    visible_source: str
    default: str
    engines: dict[str, MemoryRule]


@dataclass(frozen=True, slots=True)
class KvBudget:
    """One GPU's memory under an engine's rule (GiB)."""

    engine: str
    visible_gib: float  # what the device reports
    usable_gib: float  # what the engine lets weights, runtime and cache use
    overhead_gib: float  # runtime memory beside weights and cache
    kv_gib: float  # left for the KV cache (negative: the weights do not fit)


@functools.cache
def engine_memory() -> EngineMemory:
    text = resources.files("llmsize.data").joinpath("engines.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # packaged data: the fast C parser
    return EngineMemory.model_validate(yaml.load(text, Loader=loader))


def known_engine(engine: str) -> str | None:
    """The nearest engine the table knows for a name with a version (`vllm-0.12.0` is `vllm`,
    `vllm-0.8.5` is `vllm-0.8`), or None when neither it nor its family is known."""
    table = engine_memory()
    name = engine
    while name:
        if name in table.engines:
            return name
        name = name.rsplit(".", 1)[0] if "." in name else ""
    family = engine.split("-", 1)[0]
    return family if family in table.engines else None


def engine_id(engine: str) -> str:
    """The engine whose rule applies: a known id, the nearest versioned one (`vllm-0.8.5` is
    `vllm-0.8`), its family (`vllm-0.11` is `vllm`), else the default (the calibration's
    engine)."""
    return known_engine(engine) or engine_memory().default


def memory_rule(engine: str = "") -> MemoryRule:
    return engine_memory().engines[engine_id(engine)]


def scheduler(engine: str = "") -> Scheduler:
    """The engine's scheduler defaults (the nearest known engine's, as for its memory rule)."""
    return memory_rule(engine).scheduler


def visible_gib(gpu: Gpu) -> float:
    """What the device reports: the datasheet's GiB less what the driver and ECC keep."""
    return gpu.memory_gb * engine_memory().visible_fraction


def kv_budget(
    gpu: Gpu, weights_gib: float, tp: int = 1, engine: str = "", fraction: float | None = None
) -> KvBudget:
    """The KV cache one GPU holds beside `weights_gib` of weights under `engine`'s rule, at the
    engine's default fraction or the one its flag was set to."""
    name = engine_id(engine)
    rule = engine_memory().engines[name]
    visible = visible_gib(gpu)
    overhead = rule.overhead(weights_gib)
    if gpu.kv_cache_gib is not None:  # a cache set outright (a CPU device), not a share
        return KvBudget(name, visible, visible, overhead, gpu.kv_cache_gib)
    fraction = rule.fraction_at(tp) if fraction is None else fraction
    if rule.rule == "share_of_total":
        usable = fraction * visible
        kv = usable - weights_gib - overhead
    else:
        free = visible - weights_gib - overhead
        kv = fraction * free if free > 0 else free
        usable = visible - (1 - fraction) * max(free, 0.0)
    return KvBudget(name, visible, usable, overhead, kv)
