"""The KV cache's precision apart from the weights (issue 11): `hardware.kv_precision` in the use
case and `--kv-precision` on plan, configs, capacity and simulate. A measured curve answers only
the cache it ran with; the twin holds the cache it is asked for."""

from __future__ import annotations

import json
from pathlib import Path

from llmsize.api import configs
from llmsize.catalog import load_catalog
from llmsize.deployment import Deployment, Layout
from llmsize.perf.estimate import StepBasis
from llmsize.perf.roofline import Params
from llmsize.sim.run import TwinSetup
from tests.cli.helpers import assert_one_line_error, run

CATALOG = load_catalog()

USECASE = """\
name: chat-70b
model: llama-3-70b
input_tokens: 2000
output_tokens: 300
latency:
  first_token_ms: 3000
load:
  avg_rps: 10
hardware:
  server: dgx-h100
  precision: fp16
"""


def _max_batch(result: object) -> int:
    return max(int(e.batch or 0) for e in result.points)  # type: ignore[attr-defined]


def test_an_8_bit_cache_holds_about_twice_the_sequences() -> None:
    wide = configs("llama-3-70b", "h100-sxm", 2000, 300, "fp16", source="model")
    narrow = configs(
        "llama-3-70b", "h100-sxm", 2000, 300, "fp16", source="model", kv_precision="fp8"
    )
    assert _max_batch(narrow) > 1.8 * _max_batch(wide) / 2  # batches are sampled in steps
    assert max(e.rps_per_server for e in narrow.points) >= max(
        e.rps_per_server for e in wide.points
    )


def test_a_measured_curve_does_not_answer_another_kv_precision() -> None:
    """The DLI sweep ran Llama-2-70B in FP16 with an FP16 cache: asked for an FP8 cache, the
    answer is modelled and says why the measurement was left out."""
    plain = configs("llama-2-70b", "h100-sxm", 128, 128, "fp16", mode="static")
    assert any(e.provenance == "measured" for e in plain.points)
    asked = configs("llama-2-70b", "h100-sxm", 128, 128, "fp16", kv_precision="fp8", mode="static")
    assert asked.points and all(e.provenance == "modelled" for e in asked.points)
    assert any("fp16 KV cache, not fp8" in m for m in asked.missing)


def test_the_twin_holds_the_cache_it_is_asked_for() -> None:
    model = CATALOG.models.get("llama-3-70b", "model")
    server = CATALOG.servers.get("dgx-h100", "server")
    gpu = CATALOG.gpu_of(server)
    twins = [
        TwinSetup.of(
            Deployment.aggregated(model, server, gpu, Layout(tp=4), "fp16", kv_cache=kv),
            StepBasis(Params(), "model"),
        )
        for kv in (None, "fp8")
    ]
    assert (twins[0].kv, twins[1].kv) == ("", "fp8")
    assert twins[1].kv_capacity_tokens() > 1.9 * twins[0].kv_capacity_tokens()


def test_plan_takes_the_use_case_field_and_the_flag(tmp_path: Path) -> None:
    path = tmp_path / "uc.yaml"
    path.write_text(USECASE.replace("precision: fp16", "precision: fp16\n  kv_precision: fp8"))
    doc = json.loads(run("plan", str(path), "--json").stdout)
    assert doc["kv_precision"] == "fp8"
    plain = tmp_path / "plain.yaml"
    plain.write_text(USECASE)
    flagged = run("plan", str(plain), "--json", "--kv-precision", "fp8")
    assert flagged.exit_code in (0, 1), flagged.output
    assert json.loads(flagged.stdout)["kv_precision"] == "fp8"
    assert json.loads(run("plan", str(plain), "--json").stdout)["kv_precision"] is None


def test_an_fp4_cache_on_a_gpu_without_fp4_is_a_reason_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "uc.yaml"
    path.write_text(USECASE)
    result = run("plan", str(path), "--json", "--kv-precision", "nvfp4")
    doc = json.loads(result.stdout)
    assert doc["recommendation"] is None
    assert "no FP4 tensor cores for an NVFP4 KV cache" in json.dumps(doc["alternatives"])


def test_a_bad_kv_precision_in_the_use_case_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "uc.yaml"
    path.write_text(USECASE.replace("precision: fp16", "precision: fp16\n  kv_precision: fp5"))
    assert_one_line_error(run("plan", str(path)), "hardware.kv_precision")


def test_a_bad_kv_precision_flag_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "uc.yaml"
    path.write_text(USECASE)
    configs_args = ["configs", "--model", "llama-3-70b", "--gpu", "h100-sxm"]
    configs_args += ["--input-tokens", "100", "--output-tokens", "10"]
    for args in (["plan", str(path)], ["simulate", str(path)], configs_args):
        assert_one_line_error(run(*args, "--kv-precision", "fp5"), "--kv-precision")
