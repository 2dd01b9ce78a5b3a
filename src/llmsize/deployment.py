"""What runs where: the one description of a deployment that every layer speaks.

A replica runs the model on `Layout.gpus` GPUs: tensor parallel (`tp`) × attention data parallel
(`attention_dp`) GPUs per pipeline stage, `pp` stages; its MoE layers are sharded expert parallel
(`ep`) × MoE tensor parallel (`moe_tp`) over the same tp × attention_dp GPUs (the layout fields of
AIConfigurator's silicon data mean exactly this). A pool is a number of such replicas (workers) of
one GPU type on one server type; a deployment is one pool (aggregated serving) or a prefill pool
and a decode pool (disaggregated), with one precision specification and one engine profile.
The model answers one pool of any layout; the twin runs tensor-parallel pools.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the catalog (pydantic) loads only when a deployment is built
    from llmsize.catalog import Gpu, LlmArch, Server


RACK_GPUS = 8
"""Servers of more GPUs are racks (GB200/GB300 NVL72): replicas that do not divide the rack
(EP16, EP64) are allowed, the GPUs left over idle and counted as such."""


@dataclass(frozen=True, slots=True)
class Layout:
    """How one replica's GPUs are used."""

    tp: int = 1
    pp: int = 1
    attention_dp: int = 1
    ep: int = 1
    moe_tp: int = 0  # 0: whatever covers the attention GPUs, tp × attention_dp / ep

    def __post_init__(self) -> None:
        for name in ("tp", "pp", "attention_dp", "ep"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.moe_tp < 0:
            raise ValueError("moe_tp must be at least 1")
        if self.moe_tp == 0:
            object.__setattr__(self, "moe_tp", max(1, self.width // self.ep))

    @property
    def width(self) -> int:
        """GPUs per pipeline stage: tp × attention_dp (the MoE layout covers the same ones)."""
        return self.tp * self.attention_dp

    @property
    def gpus(self) -> int:
        return self.width * self.pp

    def servers_spanned(self, server_gpus: int) -> int:
        """Whole servers of `server_gpus` GPUs one replica takes (1 when it fits in one)."""
        return math.ceil(self.gpus / server_gpus)

    def replicas_on(self, servers: int, server_gpus: int) -> int:
        """Whole replicas `servers` servers of `server_gpus` GPUs hold (a spanning replica
        takes several servers; Pool.servers is the inverse)."""
        spanned = self.servers_spanned(server_gpus)
        if spanned > 1:
            return servers // spanned
        return servers * max(1, server_gpus // self.gpus)

    @property
    def is_tensor_only(self) -> bool:
        return self.pp == self.attention_dp == self.ep == 1

    def faults(self, model: LlmArch, server_gpus: int | None = None) -> list[tuple[str, str]]:
        """Why this layout cannot run the model (on servers of `server_gpus` GPUs, if given),
        each with the layout field it concerns (tp, ep, pp): [] when it can."""
        found = []
        width = self.gpus
        rack = server_gpus is not None and server_gpus > RACK_GPUS
        if server_gpus is not None and not rack and width <= server_gpus and server_gpus % width:
            found.append(("tp", f"{self.label} does not divide the server's {server_gpus} GPUs"))
        if model.is_moe and self.ep * self.moe_tp != self.width:
            found.append(
                (
                    "ep",
                    f"the MoE layout (EP{self.ep} × MoE-TP{self.moe_tp}) must cover the attention "
                    f"layout's TP{self.tp} × DP{self.attention_dp} = {self.width} GPUs",
                )
            )
        if model.experts == 1 and self.ep > 1:
            found.append(
                ("ep", f"{model.id} is dense: it has no experts to spread over EP{self.ep}")
            )
        elif model.experts % self.ep:
            found.append(
                ("ep", f"EP{self.ep} does not divide {model.id}'s {model.experts} experts")
            )
        if model.heads % self.tp:
            found.append(
                ("tp", f"TP{self.tp} does not divide {model.id}'s {model.heads} attention heads")
            )
        if self.pp > model.layers:
            found.append(("pp", f"PP{self.pp} exceeds {model.id}'s {model.layers} layers"))
        return found

    def problems(self, model: LlmArch, server_gpus: int | None = None) -> list[str]:
        """Why this layout cannot run the model, in words ([] when it can)."""
        return [text for _, text in self.faults(model, server_gpus)]

    @property
    def label(self) -> str:
        """'TP4', 'TP4×PP2', 'TP2×DP4 EP8': the parts that are not 1, attention first."""
        parts = [f"TP{self.tp}"]
        if self.attention_dp > 1:
            parts.append(f"DP{self.attention_dp}")
        if self.pp > 1:
            parts.append(f"PP{self.pp}")
        text = "×".join(parts)
        if self.ep > 1:
            text += f" EP{self.ep}"
            if self.moe_tp > 1:
                text += f"×MoE-TP{self.moe_tp}"
        return text


@dataclass(frozen=True, slots=True)
class PrecisionSpec:
    """Weights, activations and KV cache precisions, given separately."""

    weights: str
    activations: str
    kv_cache: str

    @classmethod
    def named(cls, precision: str) -> PrecisionSpec:
        """What one precision name means (catalog/precisions.py): FP8 engines compute and cache
        in FP8; weight-only int4 runs 16-bit math and a 16-bit cache."""
        from llmsize.catalog.precisions import info

        entry = info(precision)
        activations = "fp16" if entry.weight_only else precision
        return cls(precision, activations, entry.kv)

    @property
    def label(self) -> str:
        if self == PrecisionSpec.named(self.weights):
            return self.weights
        return f"W {self.weights} A {self.activations} KV {self.kv_cache}"


@dataclass(frozen=True, slots=True)
class Pool:
    """Replicas (workers) of one layout on one GPU type, housed in servers of one type."""

    server: Server
    gpu: Gpu
    layout: Layout
    workers: int = 1
    batch: float | None = None  # per replica: the static batch or the in-flight concurrency

    @property
    def servers_per_replica(self) -> int:
        """A replica wider than a server spans whole servers."""
        return self.layout.servers_spanned(self.server.gpus)

    @property
    def replicas_per_server(self) -> int:
        return max(1, self.server.gpus // self.layout.gpus)

    @property
    def servers(self) -> int:
        """Whole servers for all the workers."""
        if self.layout.gpus > self.server.gpus:
            return self.workers * self.servers_per_replica
        return math.ceil(self.workers / self.replicas_per_server)

    @property
    def gpus(self) -> int:
        return self.workers * self.layout.gpus

    def problems(self, model: LlmArch) -> list[str]:
        return self.layout.problems(model, self.server.gpus)


@dataclass(frozen=True, slots=True)
class Deployment:
    """One model served by one pool (aggregated) or a prefill and a decode pool
    (disaggregated)."""

    model: LlmArch
    precision: PrecisionSpec
    pools: tuple[Pool, ...]
    engine: str = ""
    mode: str = "inflight"  # "static": the calculator's batches; "inflight": continuous batching

    def __post_init__(self) -> None:
        if len(self.pools) not in (1, 2):
            raise ValueError("a deployment has one pool, or a prefill and a decode pool")

    @classmethod
    def aggregated(
        cls,
        model: LlmArch,
        server: Server,
        gpu: Gpu,
        layout: Layout,
        precision: str,
        *,
        workers: int = 1,
        batch: float | None = None,
        engine: str = "",
        mode: str = "inflight",
        kv_cache: str | None = None,
    ) -> Deployment:
        pool = Pool(server, gpu, layout, workers, batch)
        spec = PrecisionSpec.named(precision)
        if kv_cache is not None:
            spec = PrecisionSpec(spec.weights, spec.activations, kv_cache)
        return cls(model, spec, (pool,), engine, mode)

    @property
    def is_aggregated(self) -> bool:
        return len(self.pools) == 1

    @property
    def pool(self) -> Pool:
        """The one pool of an aggregated deployment."""
        if not self.is_aggregated:
            raise ValueError("a disaggregated deployment has a prefill and a decode pool")
        return self.pools[0]

    @property
    def prefill(self) -> Pool:
        return self.pools[0]

    @property
    def decode(self) -> Pool:
        return self.pools[-1]

    @property
    def servers(self) -> int:
        return sum(p.servers for p in self.pools)

    @property
    def gpus(self) -> int:
        return sum(p.gpus for p in self.pools)

    def problems(self) -> list[str]:
        return [problem for pool in self.pools for problem in pool.problems(self.model)]

    @property
    def label(self) -> str:
        if self.is_aggregated:
            return f"{self.precision.label} {self.pool.layout.label}"
        p, d = self.prefill, self.decode
        return (
            f"{self.precision.label} {p.workers} prefill {p.layout.label} on {p.gpu.id} + "
            f"{d.workers} decode {d.layout.label} on {d.gpu.id}"
        )
