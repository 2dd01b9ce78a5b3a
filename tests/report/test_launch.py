"""`plan --emit`: every flag of an emitted command is one the engine accepts (its own `--help`,
captured in tests/data/engine_help/ with where it came from), every value within the choices the
help lists; the numbers are the plan's; what a command cannot express is refused by name."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from llmsize.api import plan
from llmsize.report.launch import launch_text
from tests.cli.helpers import assert_one_line_error, run
from tests.conftest import EXAMPLES

HELP = Path(__file__).resolve().parent.parent / "data" / "engine_help"
ENGINES = {"vllm": "vllm-0.32.0.txt", "sglang": "sglang-0.5.23.txt", "trtllm": "trtllm-serve.txt"}


def accepted(engine: str) -> dict[str, set[str] | None]:
    """Each flag the engine's help names, with its choices where it lists them."""
    text = (HELP / ENGINES[engine]).read_text(encoding="utf-8")
    found: dict[str, set[str] | None] = {}
    for match in re.finditer(r"(--[A-Za-z0-9][A-Za-z0-9_-]*)(?:\s+\{([^}]*)\})?", text):
        flag, choices = match.group(1), match.group(2)
        if choices:
            found[flag] = set(choices.split(","))
        else:
            found.setdefault(flag, None)
    return found


def command_of(text: str) -> list[str]:
    """The command line of emitted text (its last line; the rest are comments or a file)."""
    return shlex.split(text.strip().splitlines()[-1])


def flags_and_values(args: list[str]) -> list[tuple[str, str | None]]:
    pairs = []
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            value = args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else None
            pairs.append((arg, value))
    return pairs


CASES = [
    "llama-70b-chat-2026",
    "overnight-batch-job",
    "deepseek-r1-reasoning",
    "gpt-oss-120b-chat",
    "deepseek-r1-mtp",
]


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
@pytest.mark.parametrize("example", CASES)
def test_every_emitted_flag_is_one_the_engine_accepts(engine: str, example: str) -> None:
    result = plan(EXAMPLES / f"{example}.yaml", method="peak")
    args = command_of(launch_text(result, engine))
    known = accepted(engine)
    for flag, value in flags_and_values(args):
        assert flag in known, (engine, flag)
        choices = known[flag]
        if choices is not None:
            assert value in choices, (engine, flag, value)


def test_trtllm_flags_are_its_serve_commands_and_the_options_file_is_yaml() -> None:
    result = plan(EXAMPLES / "deepseek-r1-reasoning.yaml", method="peak")
    text = launch_text(result, "trtllm")
    known = accepted("trtllm")
    for flag, _ in flags_and_values(command_of(text)):
        assert flag in known, flag
    # a TensorRT-LLM replica with an fp8 KV cache carries it in the options file
    fp8_kv = plan(EXAMPLES / "deepseek-r1-reasoning.yaml", method="peak", kv_precision="fp8")
    text = launch_text(fp8_kv, "trtllm")
    options = text.split("<<'EOF'\n", 1)[1].split("\nEOF", 1)[0]
    assert yaml.safe_load(options)["kv_cache_config"] == {"dtype": "fp8"}
    assert "--extra_llm_api_options" in command_of(text)


def test_the_command_carries_the_plans_numbers() -> None:
    result = plan(EXAMPLES / "overnight-batch-job.yaml", method="peak")
    rec = result.recommendation
    assert rec is not None and rec.best is not None and rec.best.layout is not None
    args = command_of(launch_text(result, "vllm"))
    value = dict(flags_and_values(args))
    assert value["--tensor-parallel-size"] == str(rec.best.layout.tp)
    assert value["--max-num-seqs"] == str(int(rec.best.batch or 0))  # the concurrency it sized
    assert value["--quantization"] == "fp8"  # a BF16 checkpoint served in FP8
    uc = result.usecase
    assert int(value["--max-model-len"] or 0) >= uc.input_tokens_total + uc.output_tokens
    assert args[2] == "meta-llama/Llama-3.1-70B"  # the catalog's repository
    per_server = rec.server.gpus // rec.best.layout.gpus
    assert f"# {(rec.servers or 0) * per_server} replica(s)" in launch_text(result, "vllm")


def test_the_k8s_manifest_runs_the_same_vllm_command() -> None:
    result = plan(EXAMPLES / "gpt-oss-120b-chat.yaml", method="peak")
    manifest = list(yaml.safe_load_all(launch_text(result, "k8s")))
    deployment, service = manifest
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] + container["args"] == command_of(launch_text(result, "vllm"))
    rec = result.recommendation
    assert rec is not None and rec.best is not None and rec.best.layout is not None
    assert container["resources"]["limits"]["nvidia.com/gpu"] == rec.best.layout.gpus
    assert service["kind"] == "Service"


def test_what_a_command_cannot_express_is_refused_by_name(tmp_path: Path) -> None:
    # the talk's NeMo row states no layout; a BF16 checkpoint has no on-the-fly NVFP4
    seed = str(EXAMPLES / "seed-nemo-43b.yaml")
    assert_one_line_error(run("plan", seed, "--emit", "vllm"), "--emit")
    assert_one_line_error(run("plan", seed, "--emit", "docker"), "--emit")
    case = yaml.safe_load((EXAMPLES / "llama-70b-chat-2026.yaml").read_text())
    case["hardware"] = {"server": "dgx-b200", "precision": "nvfp4"}
    path = tmp_path / "fp4.yaml"
    path.write_text(yaml.safe_dump(case))
    result = run("plan", str(path), "--emit", "vllm", "--method", "peak")
    assert_one_line_error(result, "--emit")
    assert "quantized ahead" in result.output


def test_speculative_decoding_is_launched_as_planned() -> None:
    import json

    result = plan(EXAMPLES / "deepseek-r1-mtp.yaml", method="peak")
    value = dict(flags_and_values(command_of(launch_text(result, "vllm"))))
    assert json.loads(value["--speculative-config"] or "") == {
        "method": "mtp",
        "num_speculative_tokens": 1,
    }
    sglang = dict(flags_and_values(command_of(launch_text(result, "sglang"))))
    assert sglang["--speculative-algorithm"] == "NEXTN"
    assert sglang["--speculative-num-draft-tokens"] == "2"
    options = launch_text(result, "trtllm").split("<<'EOF'\n", 1)[1].split("\nEOF", 1)[0]
    assert yaml.safe_load(options)["speculative_config"] == {
        "decoding_type": "MTP",
        "num_nextn_predict_layers": 1,
    }


def test_an_eagle_head_the_use_case_does_not_name_is_refused(tmp_path: Path) -> None:
    case = tmp_path / "eagle.yaml"
    text = (EXAMPLES / "llama-70b-chat-2026.yaml").read_text()
    case.write_text(text + "speculative:\n  method: eagle\n")
    assert_one_line_error(run("plan", str(case), "--method", "peak", "--emit", "vllm"), "EAGLE-3")


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_a_disaggregated_answer_emits_a_prefill_and_a_decode_worker(
    engine: str, tmp_path: Path
) -> None:
    """plan --disaggregated --emit: one command per role, each flag and value one the engine's
    help accepts, the decode worker capped at the batch it was sized at."""
    source = (EXAMPLES / "deepseek-r1-disaggregated-gb200.yaml").read_text()
    case = tmp_path / "dsr1.yaml"  # the checkpoint's own FP8 blocks: no pre-quantized one needed
    case.write_text(source.replace("precision: nvfp4", "precision: fp8-block"))
    result = plan(case, method="peak", disaggregated=True)
    text = launch_text(result, engine)
    commands = [shlex.split(line) for line in text.splitlines() if not line.startswith("#")]
    assert len(commands) == 2
    known = accepted(engine)
    for args in commands:
        for flag, value in flags_and_values(args):
            assert flag in known, flag
            choices = known[flag]
            if choices is not None:
                assert value in choices, (flag, value)
    prefill, decode = commands
    if engine == "sglang":
        assert prefill[prefill.index("--disaggregation-mode") + 1] == "prefill"
        assert decode[decode.index("--disaggregation-mode") + 1] == "decode"
    else:
        assert (
            '"kv_connector":"NixlConnector"' in prefill[prefill.index("--kv-transfer-config") + 1]
        )
    choice = next(o.choice for o in result.disaggregated if o.choice and o.server.id in text)
    batch = round(choice.times.decode_batch)
    if engine == "vllm":  # per engine core: one per data-parallel rank
        ranks = choice.decode.attention_dp
        assert int(decode[decode.index("--max-num-seqs") + 1]) == -(-batch // ranks)
    else:  # the replica's total, a multiple of the DP ranks (SGLang splits it evenly)
        ranks = choice.decode.attention_dp
        assert int(decode[decode.index("--max-running-requests") + 1]) == -(-batch // ranks) * ranks


def test_a_disaggregated_answer_is_not_emitted_for_trtllm_or_k8s(tmp_path: Path) -> None:
    source = (EXAMPLES / "deepseek-r1-disaggregated-gb200.yaml").read_text()
    case = tmp_path / "dsr1.yaml"
    case.write_text(source.replace("precision: nvfp4", "precision: fp8-block"))
    for target in ("trtllm", "k8s"):
        assert_one_line_error(
            run("plan", str(case), "--method", "peak", "--disaggregated", "--emit", target),
            "--emit",
            "vllm or sglang",
        )
