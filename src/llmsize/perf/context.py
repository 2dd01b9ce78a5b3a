"""Everything a prediction needs, built once per command: catalog, curves, calibration, engine."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from llmsize.catalog import Catalog, Gpu, Server, load_catalog
from llmsize.errors import InputError, unknown_name
from llmsize.perf.calibration import Calibration, load_calibration
from llmsize.perf.measured import MeasuredCurves
from llmsize.perf.modelled import MODES, ModelledPerf
from llmsize.perf.roofline import default_nvlink_domain
from llmsize.perf.sources import SOURCES, CombinedPerf


@dataclass(frozen=True, slots=True)
class PerfOptions:
    """The settings every predicting question shares: which data answers (`source`: auto,
    measured or model), whose fit (`calibration` file, `engine`), the user's own measurements
    (`bench` curve files) and the batching `mode` (static or inflight)."""

    source: str = "auto"
    calibration: Path | None = None
    engine: str | None = None
    bench: tuple[Path, ...] = ()
    mode: str = "inflight"
    statistic: str = "mean"  # which rows of `bench` answer: the use case's percentile's

    @classmethod
    def of(
        cls,
        source: str = "auto",
        calibration: Path | str | None = None,
        engine: str | None = None,
        bench: Sequence[Path | str] = (),
        mode: str = "inflight",
        statistic: str = "mean",
    ) -> PerfOptions:
        """From the library's keyword arguments (paths as str or Path)."""
        return cls(
            source,
            Path(calibration) if calibration is not None else None,
            engine,
            tuple(Path(b) for b in bench),
            mode,
            statistic,
        )


@dataclass(frozen=True, slots=True)
class PerfContext:
    catalog: Catalog
    calibration: Calibration
    engine: str
    perf: CombinedPerf

    @property
    def mode(self) -> str:
        return self.perf.modelled.mode


def perf_context(
    models: Iterable[str], options: PerfOptions = PerfOptions(), engine_field: str = "--engine"
) -> PerfContext:
    """Load curves (only these models' rows), the calibration and check the engine name (an
    unknown one is an error naming `engine_field`: the flag, or the use case's field)."""
    from llmsize.benchdb.store import load_store

    source, mode, engine, bench = options.source, options.mode, options.engine, options.bench

    if source not in SOURCES:
        raise InputError("--source", f"{source!r} is not one of {', '.join(SOURCES)}")
    if mode not in MODES:
        raise InputError("--mode", f"{mode!r} is not one of {', '.join(MODES)}")
    catalog = load_catalog()
    cal = load_calibration(options.calibration)
    chosen = chosen_engine(cal, engine, mode, engine_field)
    store = (
        load_store(bench, models=set(models), statistic=options.statistic)
        if source != "model"
        else load_store((), models=set())
    )
    modelled = ModelledPerf(cal, catalog, chosen, mode)
    return PerfContext(catalog, cal, chosen, CombinedPerf(MeasuredCurves(store), modelled, source))


def chosen_engine(
    calibration: Calibration, engine: str | None, mode: str, engine_field: str = "--engine"
) -> str:
    """The engine asked for (an unknown one is an error naming `engine_field`), else the
    mode's default."""
    from llmsize.perf.kv_budget import engine_memory, known_engine

    cal = calibration
    known = [*cal.engines, *(e for e in engine_memory().engines if e not in cal.engines)]
    if engine is not None and engine not in known and known_engine(engine) is None:
        raise unknown_name(engine_field, "engine", engine, known)
    return engine or default_engine(cal, mode)


INFLIGHT_ENGINE = "vllm"
"""The engine a continuous-batching answer assumes when none is named: vLLM, the most deployed
open engine (its profile is fitted on today's silicon runs)."""


def default_engine(calibration: Calibration, mode: str) -> str:
    """vLLM for continuous batching; the calibration's default (the talk's calculator, TensorRT-LLM
    0.9 static batches) for static batches."""
    if mode == "inflight" and INFLIGHT_ENGINE in calibration.engines:
        return INFLIGHT_ENGINE
    return calibration.default_engine


def bare_server(gpu: Gpu, gpus: int = 8) -> Server:
    """An 8-GPU box of one GPU type, for questions asked about a GPU rather than a server."""
    return Server(
        id=f"{gpu.id}-x{gpus}",
        name=f"{gpus}x {gpu.name}",
        gpu=gpu.id,
        gpus=gpus,
        nvlink_domain=min(gpus, default_nvlink_domain(gpu)),
        source="an 8-GPU server of this GPU (results are per 8 GPUs)",
    )
