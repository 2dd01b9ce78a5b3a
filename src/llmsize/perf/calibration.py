"""Fitted model parameters per engine, GPU and precision class, with the rule for borrowing them.

A calibration holds one parameter set per (engine, GPU, precision class), each with its fit
report. Engines differ (TensorRT-LLM 0.9 in NVIDIA's DLI sweep, NIM, the talk's NeMo/PyTriton
stack, your own server), so each keeps its own fit. A combination without data borrows, in this
order: the same engine and GPU in the other precision class; the same engine on the closest
calibrated GPU of the same generation; then the default engine by the same rules, then its closest
GPU of any generation. Every prediction carries the label of what it used.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from llmsize.catalog import Catalog, Gpu
from llmsize.errors import InputError, shown
from llmsize.perf.roofline import Params

SCHEMA_VERSION = 1

ENGINE_OF_SOURCE = {
    "DLI_TRTLLM_v0.9.0": "trtllm-0.9",
    "DLI_NIM_GENAIPERF": "nim",
    "SEED_S62797": "nemo-s62797",
    "IOG_VLLM_H100PCIE": "vllm-0.8.5",
}
"""Bundled sources and the engine each measured."""

DEFAULT_ENGINE = "trtllm-0.9"

PROFILE = "*"
"""The gpu and precision of an engine profile: one parameter set fitted over every GPU and
precision the engine was measured on (the datasheet rates and bytes carry the differences)."""


def precision_class(precision: str) -> str:
    """The calibration group of a precision (catalog/precisions.py: 16-bit formats and
    weight-only int4 share one)."""
    from llmsize.catalog.precisions import rate_class

    return rate_class(precision) if precision != "fp4" else "16bit"


@dataclass(frozen=True, slots=True)
class GroupFit:
    engine: str
    gpu: str
    precision: str  # precision class: "fp8" or "16bit"
    rows: int
    params: Params
    before: dict[str, dict[str, float]] = field(default_factory=dict)
    after: dict[str, dict[str, float]] = field(default_factory=dict)
    gpus: tuple[str, ...] = ()
    """An engine profile's measured GPUs (its gpu and precision are PROFILE: one fit for all)."""
    layouts: tuple[str, ...] = ()
    """Parallel layouts beyond tensor parallelism among its rows: 'pp', 'attention_dp', 'ep'."""
    fitted: tuple[str, ...] = ()
    """The parameters its rows were fitted for (the others are its prior's); () : all of them."""

    @property
    def is_profile(self) -> bool:
        return self.gpu == PROFILE

    def describe(self) -> str:
        if self.is_profile:
            return f"{self.engine} profile fit on {', '.join(self.gpus)} ({self.rows} rows)"
        share = (
            f", {len(self.fitted)} of {len(Params.names())} parameters fitted"
            if self.fitted and len(self.fitted) < len(Params.names())
            else ""
        )
        return f"{self.engine} fit on {self.gpu} {self.precision} ({self.rows} rows{share})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "gpu": self.gpu,
            "precision": self.precision,
            **({"gpus": list(self.gpus)} if self.gpus else {}),
            **({"layouts": list(self.layouts)} if self.layouts else {}),
            "rows": self.rows,
            **({"fitted_params": list(self.fitted)} if self.fitted else {}),
            "params": {k: round(v, 6) for k, v in self.params.as_dict().items()},
            "error_before": self.before,
            "error_after": self.after,
        }


@dataclass(frozen=True, slots=True)
class ResolvedFit:
    """The parameters a prediction uses and where they come from."""

    params: Params
    label: str
    borrowed: bool
    fit: GroupFit | None


@dataclass(frozen=True, slots=True)
class Calibration:
    groups: dict[tuple[str, str, str], GroupFit]
    default_engine: str
    origin: str
    fallback: Calibration | None = None
    notes: str = ""
    shared: dict[str, dict[str, float]] = field(default_factory=dict)
    accuracy: dict[str, dict[str, float]] = field(default_factory=dict)
    """Cross-validated median absolute percentage error per GPU and metric (llmsize accuracy)."""

    def accuracy_for(self, gpu: str, engine: str = "") -> dict[str, float]:
        """The cross-validated error on this GPU: of this engine's profile where it was measured
        there (key 'ENGINE on GPU'), else of the calibration's per-GPU groups."""
        key = f"{engine} on {gpu}" if engine else gpu
        found = self.accuracy.get(key)
        if found:
            return found
        return self.fallback.accuracy_for(gpu, engine) if self.fallback else {}

    @property
    def engines(self) -> list[str]:
        found = dict.fromkeys([*(k[0] for k in self.groups), *self.shared])
        if self.fallback is not None:
            found.update(dict.fromkeys(self.fallback.engines))
        return list(found)

    def _local(self, engine: str, gpu: Gpu, cls: str, catalog: Catalog) -> GroupFit | None:
        """Same GPU and class; same GPU other class; closest same-generation GPU (this file)."""
        exact = self.groups.get((engine, gpu.id, cls))
        if exact is not None:
            return exact
        other = self.groups.get((engine, gpu.id, "16bit" if cls == "fp8" else "fp8"))
        if other is not None:
            return other
        profile = self.groups.get((engine, PROFILE, PROFILE))
        if profile is not None:
            return profile
        return self._closest(engine, gpu, cls, catalog, same_generation=True)

    def _closest(
        self, engine: str, gpu: Gpu, cls: str, catalog: Catalog, *, same_generation: bool
    ) -> GroupFit | None:
        best: tuple[float, GroupFit] | None = None
        for (eng, gpu_id, c), fit in self.groups.items():
            other = catalog.gpus.find(gpu_id) if gpu_id != PROFILE else None
            if (
                eng != engine
                or other is None
                or (same_generation and other.generation != gpu.generation)
            ):
                continue
            distance = abs(math.log(other.bandwidth_tb_s / gpu.bandwidth_tb_s)) + (c != cls)
            if best is None or distance < best[0]:
                best = (distance, fit)
        return best[1] if best else None

    def shared_for(self, engine: str) -> dict[str, float]:
        """The engine's shared parameters: its own, the default engine's, or the fallback's."""
        for calibration in (self, self.fallback):
            if calibration is None:
                continue
            for name in (engine, calibration.default_engine):
                if name in calibration.shared:
                    return calibration.shared[name]
        return {}

    def resolve(
        self, engine: str | None, gpu: Gpu, precision: str, catalog: Catalog
    ) -> ResolvedFit:
        """Parameters for a GPU and precision under an engine, borrowing where there is no fit."""
        engine = engine or self.default_engine
        found = self._resolve(engine, gpu, precision, catalog)
        shared = self.shared_for(engine)
        if not shared or (found.fit is not None and found.fit.is_profile):
            return found
        return ResolvedFit(replace(found.params, **shared), found.label, found.borrowed, found.fit)

    def _resolve(self, engine: str, gpu: Gpu, precision: str, catalog: Catalog) -> ResolvedFit:
        cls = precision_class(precision)
        chain: list[tuple[Calibration, str]] = [(self, engine)]
        family = engine.split("-", 1)[0]  # vllm-0.12 borrows vllm's profile before another's
        if family != engine and family != self.default_engine:
            chain.append((self, family))
        if engine != self.default_engine:
            chain.append((self, self.default_engine))
        if self.fallback is not None:
            chain.append((self.fallback, self.fallback.default_engine))
        for calibration, eng in chain:
            fit = calibration._local(eng, gpu, cls, catalog)
            if fit is not None:
                return _resolved(fit, gpu, cls, engine)
        last, eng = chain[-1]
        fit = last._closest(eng, gpu, cls, catalog, same_generation=False)
        if fit is not None:
            return _resolved(fit, gpu, cls, engine)
        return ResolvedFit(Params(), "uncalibrated default parameters", True, None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "default_engine": self.default_engine,
            "notes": self.notes,
            "engines": {
                name: {k: round(v, 6) for k, v in values.items()}
                for name, values in self.shared.items()
            },
            "accuracy": self.accuracy,
            "groups": [g.to_dict() for g in self.groups.values()],
        }


def _errors(value: object, where: str) -> dict[str, Any]:
    """Error summaries: {metric: number} or {metric: {statistic: number}}."""
    result: dict[str, Any] = {}
    for key, item in _mapping(value, where).items():
        if isinstance(item, dict):
            result[str(key)] = {str(k): _number(v, f"{where}.{key}.{k}") for k, v in item.items()}
        else:
            result[str(key)] = _number(item, f"{where}.{key}")
    return result


def _resolved(fit: GroupFit, gpu: Gpu, cls: str, engine: str) -> ResolvedFit:
    if fit.is_profile:
        borrowed = fit.engine != engine or gpu.id not in fit.gpus
    else:
        borrowed = (fit.gpu, fit.precision, fit.engine) != (gpu.id, cls, engine)
    label = fit.describe()
    if borrowed:
        label = f"borrowed: {label}; none for {engine} on {gpu.id} {cls}"
    return ResolvedFit(fit.params, label, borrowed, fit)


def _number(value: object, where: str) -> float:
    """A finite number (a boolean, text, NaN or infinity is refused)."""
    from llmsize.files import finite

    if not finite(value):
        raise InputError(where, f"expected a finite number, got {shown(value)}")
    return float(value)  # type: ignore[arg-type]


def _mapping(value: object, where: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(where, f"expected a mapping, got {shown(value)}")
    return value


def calibration_from_dict(data: Any, origin: str, fallback: Calibration | None) -> Calibration:
    """A calibration document checked field by field: every problem is one line naming it."""
    try:
        return _calibration(data, origin, fallback)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(origin, f"malformed calibration: {shown(str(exc))}") from None


MAY_BE_ZERO = frozenset({"sequence_overhead_us", "moe_width_exponent"})
"""Parameters whose absence is a real zero (a fit from before they existed did not need them)."""


def _calibration(data: Any, origin: str, fallback: Calibration | None) -> Calibration:
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(
            origin, f"not a calibration file (schema_version {SCHEMA_VERSION} expected)"
        )
    groups: dict[tuple[str, str, str], GroupFit] = {}
    names = set(Params.names())
    group_list = data.get("groups") or []
    if not isinstance(group_list, list):
        raise InputError(f"{origin}: groups", "expected a list of fitted groups")
    for i, item in enumerate(group_list):
        where = f"{origin}: groups[{i}]"
        try:
            raw = _mapping(_mapping(item, where)["params"], f"{where}.params")
            unknown = set(raw) - names
            if unknown:
                raise InputError(
                    f"{where}.params", f"unknown parameter(s) {', '.join(sorted(unknown))}"
                )
            params = Params(**{k: _number(v, f"{where}.params.{k}") for k, v in raw.items()})
            if any(v <= 0 and k not in MAY_BE_ZERO for k, v in params.as_dict().items()):
                raise InputError(f"{where}.params", "parameters must be positive")
            if any(v < 0 for v in params.as_dict().values()):
                raise InputError(f"{where}.params", "parameters must not be negative")
            fit = GroupFit(
                engine=str(item["engine"]),
                gpu=str(item["gpu"]),
                precision=str(item["precision"]),
                rows=int(item.get("rows", 0)),
                params=params,
                before=_errors(item.get("error_before"), f"{where}.error_before"),
                after=_errors(item.get("error_after"), f"{where}.error_after"),
                gpus=tuple(str(g) for g in item.get("gpus") or ()),
                layouts=tuple(str(g) for g in item.get("layouts") or ()),
                fitted=tuple(str(g) for g in item.get("fitted_params") or ()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(where, f"malformed group: {exc}") from None
        groups[(fit.engine, fit.gpu, fit.precision)] = fit
    default = str(
        data.get("default_engine") or (next(iter(groups))[0] if groups else DEFAULT_ENGINE)
    )
    shared: dict[str, dict[str, float]] = {}
    for name, values in _mapping(data.get("engines"), f"{origin}: engines").items():
        values = _mapping(values, f"{origin}: engines.{name}")
        unknown = set(values) - names
        if unknown:
            raise InputError(
                f"{origin}: engines.{name}", f"unknown parameter(s) {', '.join(sorted(unknown))}"
            )
        shared[str(name)] = {
            k: _number(v, f"{origin}: engines.{name}.{k}") for k, v in values.items()
        }
    accuracy = {
        str(gpu): _errors(values, f"{origin}: accuracy.{gpu}")
        for gpu, values in _mapping(data.get("accuracy"), f"{origin}: accuracy").items()
    }
    notes = str(data.get("notes") or "")
    return Calibration(groups, default, origin, fallback, notes, shared, accuracy)


@functools.cache
def shipped_calibration() -> Calibration:
    """The fit on the bundled measurements (data/calibration.yaml, see its notes)."""
    text = resources.files("llmsize.data").joinpath("calibration.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return calibration_from_dict(yaml.load(text, Loader=loader), "calibration.yaml", None)


def load_calibration(path: Path | None) -> Calibration:
    """The shipped calibration, with the engine profiles of the user's catalogs over it, and a
    `--calibration` file over those: each backed by the one below for what it lacks."""
    base = _with_user_engines(shipped_calibration())
    if path is None:
        return base
    from llmsize.files import read_yaml

    data = read_yaml(path, "calibration")
    return calibration_from_dict(data, str(path), base)


def _with_user_engines(shipped: Calibration) -> Calibration:
    """Engine profiles (`engines:`, `groups:`) from the user catalog files, in force order."""
    from llmsize.catalog.store import ENGINE_SECTIONS, read_user_catalog
    from llmsize.user_catalogs import user_catalog_files

    calibration = shipped
    for path in user_catalog_files():
        sections = {k: v for k, v in read_user_catalog(path).items() if k in ENGINE_SECTIONS}
        if sections:
            document = {
                "schema_version": SCHEMA_VERSION,
                "default_engine": calibration.default_engine,
                **sections,
            }
            calibration = calibration_from_dict(document, str(path), calibration)
    return calibration


def save_calibration(
    calibration: Calibration, path: Path, *, force: bool = False, inputs: Sequence[Path] = ()
) -> None:
    """Write the calibration YAML whole or not at all (see llmsize.files)."""
    from llmsize.files import write_output

    text = yaml.safe_dump(calibration.to_dict(), sort_keys=False, width=100)
    write_output(path, text, force=force, inputs=inputs)
