"""AIConfigurator's silicon measurements (its `silicon_sample.csv` format) as measured runs.

Each aggregated row is one closed-loop run of vLLM, SGLang or TensorRT-LLM 1.x: a model on a
parallel layout at a fixed concurrency and fixed input and output lengths, with its mean TTFT and
TPOT. The bundled `data/aic-silicon-train.csv` is the calibration share of that sample (see
data/CURVES.md); a user's own file in the same format reads the same way.

Two things are read with care, each from the row itself:
- concurrency of one replica: `batch_size` × `attention_dp_size` as the row states them (the
  file's README: batch_size is per attention-DP rank). It equals the run's `silicon_concurrency`
  in all but 3 rows, whose total (416 at batch 13 on TP2) spread over 32 replicas: a TTFT of
  0.7 s at 15,000 input tokens is 13 requests per replica, not 416. Without a batch_size the
  stated total is used;
- layout: in 181 rows the run id says `tp4_ep4` (or `tp8_ep8`) while `tp_size` (or
  `attention_dp_size`) holds 16 (64) and `moe_tp_size` 4 (8): the squared width cannot run on
  the 8-GPU B200 and H200 servers they name, and SGLang's and TensorRT-LLM's `--tp 4 --ep 4`
  is four GPUs with attention TP4 (or DP4) and experts EP4. Those rows are read as the id says.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmsize.benchdb.schema import CurvePoint, csv_number
from llmsize.deployment import Layout
from llmsize.errors import InputError

if TYPE_CHECKING:
    from llmsize.catalog import Catalog, Gpu, LlmArch, Server

SOURCE_ID = "AIC_SILICON"
SOURCE = (
    "NVIDIA AIConfigurator silicon sample (aiconfigurator-core 0.12.0, "
    "aiconfigurator_core/systems/silicon_sample.csv)"
)
ENGINES = {"vllm": "vllm", "sglang": "sglang", "trtllm": "trtllm"}
"""The file's backend names and the engine ids of data/engines.yaml."""

QUANT = {"fp8": "fp8", "fp8_block": "fp8-block", "nvfp4": "nvfp4", "int4_wo": "int4", "": "bf16"}
"""moe_quant_mode (else gemm_quant_mode): what the weights were stored in. An unquantized run
leaves both empty: BF16 weights."""

BUNDLED = "aic-silicon-train.csv"
"""The calibration share of AIConfigurator's silicon sample, shipped in llmsize/data."""


def bundled_text() -> str:
    """The shipped silicon CSV's text (read by its aggregated and disaggregated readers)."""
    from importlib import resources

    return resources.files("llmsize.data").joinpath(BUNDLED).read_text(encoding="utf-8")


DISAGGREGATED = "disaggregated runs (a prefill and a decode pool): not in the aggregated test"
"""Rows outside what an aggregated model is asked: they count neither as answered nor refused."""

REQUIRED = (
    "id",
    "backend",
    "model_path",
    "system",
    "mode",
    "isl",
    "osl",
    "tp_size",
    "silicon_ttft_ms",
    "silicon_tpot_ms",
)


@dataclass(frozen=True, slots=True)
class SiliconRun:
    """One aggregated run: its lengths and latencies as a curve point (model = the Hugging Face
    id, gpu = the file's system name), the engine and the layout it ran."""

    point: CurvePoint
    engine: str
    engine_version: str
    layout: Layout
    family: tuple[str, str, str, str, str]
    """(mode, engine, system, model, precision): the file's unit of holding data out."""


def is_silicon_text(text: str) -> bool:
    """Whether a CSV's text is in this format (told apart from a curve CSV by its header)."""
    header = {c.strip() for c in text.partition("\n")[0].split(",")}
    return {"silicon_ttft_ms", "silicon_tpot_ms", "model_path"} <= header


def _int(row: dict[str, str], column: str, where: str, default: int | None = None) -> int:
    value = csv_number(row.get(column) or "", column, where, integer=True)
    if value is None:
        if default is None:
            raise InputError(f"{where}: {column}", "is required")
        return default
    return int(value)


def _ms(row: dict[str, str], column: str, where: str) -> float:
    value = csv_number(row.get(column) or "", column, where)
    if not value:  # blank or zero: a run always takes time
        raise InputError(f"{where}: {column}", "expected a positive number")
    return value


def layout_of(row: dict[str, str], where: str, pool: str = "") -> Layout:
    """The layout the run used (see the module docstring for the squared-width rows); `pool`
    'prefill_' or 'decode_' reads a disaggregated run's pool."""
    tp = _int(row, f"{pool}tp_size", where)
    dp = _int(row, f"{pool}attention_dp_size", where, 1) or 1
    pp = _int(row, f"{pool}pp_size", where, 1) or 1
    ep = _int(row, f"{pool}moe_ep_size", where, 1) or 1
    moe_tp = _int(row, f"{pool}moe_tp_size", where, 0)
    run_id = row.get("id", "")
    named = re.search(r"_tp(\d+)_ep(\d+)_", run_id)
    says_so = named is not None and int(named.group(1)) == int(named.group(2)) == ep
    # the database dump's rows ("_cfg<n>" ids) name no layout but store it the same way
    if moe_tp == ep > 1 and tp * dp == ep * ep and (says_so or "_cfg" in run_id):
        tp, dp = (ep, 1) if tp > 1 else (1, ep)
        moe_tp = 1
    if tp < 1:
        raise InputError(f"{where}: {pool}tp_size", "must be at least 1")
    return Layout(tp, pp, dp, ep, moe_tp)


def _concurrency(row: dict[str, str], where: str) -> int:
    if (row.get("batch_size") or "").strip():
        return _int(row, "batch_size", where) * (_int(row, "attention_dp_size", where, 1) or 1)
    stated = _stated_concurrency(row)
    if stated:
        return stated
    raise InputError(f"{where}: batch_size", "is required (or silicon_concurrency in the source)")


def _stated_concurrency(row: dict[str, str]) -> int | None:
    stated = re.search(r"silicon_concurrency=(\d+)", row.get("silicon_data_source", ""))
    return int(stated.group(1)) if stated else None


def _rows(text: str, origin: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Each row of a silicon CSV with where it is, the format's columns checked once."""
    from llmsize.files import csv_rows

    reader = csv_rows(text, origin)
    header = next(reader, (1, []))[1]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(origin, f"missing column(s) {', '.join(missing)} of the silicon format")
    for line, values in reader:
        yield f"{origin}:{line}", dict(zip(header, values, strict=False))


@dataclass(frozen=True, slots=True)
class _Common:
    """What every run states: engine, what the weights were stored in, lengths."""

    engine: str
    precision: str
    input_tokens: int
    output_tokens: int


def _common(row: dict[str, str], where: str) -> _Common:
    backend = row["backend"].strip()
    if backend not in ENGINES:
        raise InputError(f"{where}: backend", f"{backend!r} is not one of {', '.join(ENGINES)}")
    quant = (row.get("moe_quant_mode") or row.get("gemm_quant_mode") or "").strip()
    if quant not in QUANT:
        raise InputError(f"{where}: moe_quant_mode", f"{quant!r} is not one of {', '.join(QUANT)}")
    isl, osl = _int(row, "isl", where), _int(row, "osl", where)
    if isl < 1 or osl < 1:
        raise InputError(f"{where}: isl", "input and output lengths must be at least 1")
    return _Common(ENGINES[backend], QUANT[quant], isl, osl)


def read_silicon(text: str, origin: str) -> tuple[list[SiliconRun], Counter[str]]:
    """The aggregated runs of a silicon CSV, and a count of the rows left out by reason."""
    runs: list[SiliconRun] = []
    skipped: Counter[str] = Counter()
    for where, row in _rows(text, origin):
        if row["mode"].strip() != "agg":
            skipped[DISAGGREGATED] += 1
            continue
        common = _common(row, where)
        layout = layout_of(row, where)
        point = CurvePoint(
            model=row["model_path"].strip(),
            gpu=row["system"].strip(),
            precision=common.precision,
            tp=layout.tp,
            load_type="concurrency",
            load_value=float(_concurrency(row, where)),
            input_tokens=float(common.input_tokens),
            output_tokens=float(common.output_tokens),
            ttft_ms=_ms(row, "silicon_ttft_ms", where),
            itl_ms=_ms(row, "silicon_tpot_ms", where),
            latency_stat="mean",
            source_id=SOURCE_ID,
            source=SOURCE,
            source_row=row["id"].strip(),
            raw_precision=row.get("precision", "").strip(),
            origin=origin,
        )
        family = ("agg", common.engine, point.gpu, point.model, row.get("precision", "").strip())
        runs.append(
            SiliconRun(point, common.engine, row.get("backend_version", "").strip(), layout, family)
        )
    return runs, skipped


NO_WORKER_COUNTS = "disaggregated runs that recorded no worker counts (only their concurrency)"
"""Without each pool's workers the deployment that ran is unknown: such rows are refused (by
`perf.disaggregated.check_silicon`, once their recorded layouts were checked)."""


@dataclass(frozen=True, slots=True)
class PoolRun:
    """One pool of a disaggregated run: its layout, workers, and batch per attention-DP rank
    (prompts to a prefill pass, or sequences a decode step runs; None where not recorded)."""

    layout: Layout
    workers: int  # 0: not recorded (the run gave only its concurrency)
    batch: int | None


@dataclass(frozen=True, slots=True)
class DisaggregatedRun:
    """One disaggregated closed-loop run: both pools, the load, and what was measured."""

    row: str
    origin: str
    engine: str
    engine_version: str
    model: str  # the Hugging Face id
    gpu: str  # the file's system name (both pools ran on it)
    precision: str
    input_tokens: int
    output_tokens: int
    concurrency: int
    prefill: PoolRun
    decode: PoolRun
    ttft_ms: float
    tpot_ms: float
    family: tuple[str, str, str, str, str]


def _pool(row: dict[str, str], where: str, pool: str) -> PoolRun:
    batch = _int(row, f"{pool}batch_size", where, 0)
    return PoolRun(
        layout_of(row, where, pool), _int(row, f"{pool}num_workers", where, 0), batch or None
    )


def read_disaggregated(text: str, origin: str) -> tuple[list[DisaggregatedRun], Counter[str]]:
    """The disaggregated runs of a silicon CSV, and a count of the rows left out by reason.
    A run that recorded no worker counts is kept with 0 workers (its layouts can still be
    checked; the model refuses it) where it states its concurrency. The load is the run's
    stated concurrency, else what the decode pool held (batch per rank x ranks x workers)."""
    runs: list[DisaggregatedRun] = []
    skipped: Counter[str] = Counter()
    for where, row in _rows(text, origin):
        if row["mode"].strip() != "disagg":
            continue
        workers = [_int(row, f"{pool}num_workers", where, 0) for pool in ("prefill_", "decode_")]
        if min(workers) < 1 and not _stated_concurrency(row):
            skipped[NO_WORKER_COUNTS] += 1
            continue
        common = _common(row, where)
        prefill, decode = _pool(row, where, "prefill_"), _pool(row, where, "decode_")
        concurrency = _stated_concurrency(row) or (
            (decode.batch or 0) * decode.layout.attention_dp * decode.workers
        )
        if concurrency < 1:
            raise InputError(f"{where}: decode_batch_size", "or silicon_concurrency is required")
        model, gpu = row["model_path"].strip(), row["system"].strip()
        runs.append(
            DisaggregatedRun(
                row["id"].strip(),
                origin,
                common.engine,
                row.get("backend_version", "").strip(),
                model,
                gpu,
                common.precision,
                common.input_tokens,
                common.output_tokens,
                concurrency,
                prefill,
                decode,
                _ms(row, "silicon_ttft_ms", where),
                _ms(row, "silicon_tpot_ms", where),
                ("disagg", common.engine, gpu, model, row.get("precision", "").strip()),
            )
        )
    return runs, skipped


@dataclass(frozen=True, slots=True)
class RanOn:
    """What a silicon run ran on, in catalog terms: the model, the GPU, the precision as the
    model reads it, and the GPU's widest-NVLink server type (None: the catalog has none)."""

    model: LlmArch
    gpu: Gpu
    precision: str
    server: Server | None


def ran_on(catalog: Catalog, model: str, system: str, precision: str, where: str) -> RanOn | None:
    """The run's hardware (None: its GPU is not in the catalog); an unknown model is an error
    naming `where`. gpt-oss's rows say nvfp4 for its own MXFP4 checkpoint: read as mxfp4."""
    arch = catalog.resolve_model(model, where)
    gpu = catalog.gpus.find(system)
    if gpu is None:
        return None
    if arch.native is not None and arch.native.name == "mxfp4" and precision == "nvfp4":
        precision = "mxfp4"
    server = max(
        (s for s in catalog.servers.entries if s.gpu == gpu.id),
        key=lambda s: s.nvlink_domain,
        default=None,
    )
    return RanOn(arch, gpu, precision, server)
