"""Every class of bad file or flag found by feeding llmsize a few hundred hostile inputs: each is
one line on stderr, exit code 2, no traceback, and answered in time. Every output rule: nothing
is replaced without --force, no input is overwritten, no link followed, no half-written file."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.helpers import assert_one_line_error, run
from tests.conftest import LLAMA_3_8B_CONFIG

ROOT = Path(__file__).resolve().parents[2]
NEMO = ROOT / "examples" / "usecases" / "seed-nemo-43b.yaml"
RECORDS = ROOT / "tests" / "data" / "llmsize_bench" / "results.jsonl"
GOOD = "model: llama-2-7b\ninput_tokens: 128\noutput_tokens: 512\nlatency: {first_token_ms: 500}\n"
GOOD += "load: {peak_rps: 10}\nhardware: {server: dgx-h100, precision: bf16}\n"
LLAMA = LLAMA_3_8B_CONFIG


def quick(check: Callable[[], None], seconds: float = 60.0) -> None:
    """A hang guard, not a speed target: a FIFO or /dev/zero read would never return."""
    started = time.perf_counter()
    check()
    assert time.perf_counter() - started < seconds


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (GOOD.encode("utf-16"), "UTF-16"),
        (GOOD.replace("llama-2-7b", "caf\xe9").encode("latin-1"), "not UTF-8"),
        (("a: " + "[" * 200 + "]" * 200).encode(), "nested deeper"),
        (GOOD.replace("128", "1" + "0" * 5000, 1).encode(), "5001 digits"),
        (b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b]\n", "alias"),
        ((GOOD + "input_tokens: 200\n").encode(), "duplicate key 'input_tokens'"),
        (GOOD.replace("128", "true").encode(), "input_tokens"),
        (GOOD.replace("500}", ".nan}").encode(), "latency.first_token_ms"),
        ((GOOD + "cost: {server_usd_per_hour: {dgx-h100: .inf}}\n").encode(), "finite"),
        (b"\xef\xbb\xbf" + GOOD.replace("128", '"128"').encode(), "input_tokens"),
    ],
)
def test_bad_use_case_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "u.yaml"
    path.write_bytes(content)
    quick(lambda: assert_one_line_error(run("plan", str(path)), fragment))
    checked = run("validate", str(path))
    assert checked.exit_code == 2 and fragment in checked.output, checked.output
    assert "Traceback" not in checked.output


def test_a_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert run("plan", str(path)).exit_code in (0, 1)


def test_pipes_devices_and_huge_files(tmp_path: Path) -> None:
    fifo = tmp_path / "u.yaml"
    os.mkfifo(fifo)
    quick(lambda: assert_one_line_error(run("plan", str(fifo)), "not a regular file"))
    quick(lambda: assert_one_line_error(run("plan", "/dev/zero"), "not a regular file"))
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)
    quick(lambda: assert_one_line_error(run("plan", str(big)), "at most"))
    quick(lambda: assert_one_line_error(run("show", str(fifo)), "not a regular file"))


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"num_hidden_layers": "32"}, "num_hidden_layers must be a whole number"),
        ({"hidden_size": 4096.5}, "hidden_size must be a whole number"),
        ({"num_attention_heads": True}, "num_attention_heads must be a whole number"),
        ({"vocab_size": [1]}, "vocab_size"),
        ({"num_attention_heads": 8192, "num_key_value_heads": 8192}, "not a multiple of heads"),
        ({"intermediate_size": -1}, "intermediate_size"),
    ],
)
def test_config_json_fields_of_the_wrong_type(
    tmp_path: Path, change: dict[str, object], fragment: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**LLAMA, **change}))
    args = ["estimate", "--model", str(path), "--gpu", "h100-sxm", "--tp", "1", "--batch", "1"]
    args += ["--input-tokens", "100", "--output-tokens", "10"]
    assert_one_line_error(run(*args), fragment)


@pytest.mark.parametrize(
    "document",
    [
        [1, 2],
        {"benchmarks": 5},
        {"benchmarks": [1]},
        {"benchmarks": [{"metrics": []}]},
        {"records": {"time_to_first_token": "x"}},
        {"date": "x", "num_prompts": "many", "mean_ttft_ms": None},
    ],
)
def test_import_odd_json_shapes(tmp_path: Path, document: object) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(document))
    out = tmp_path / "o.csv"
    for tool in ("", "aiperf", "vllm", "guidellm"):
        args = ["import", str(path), "--out", str(out), "--gpu", "h100-sxm"]
        result = run(*args, *(["--from", tool] if tool else []))
        assert_one_line_error(result)
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("schema_version: 1\ngroups: 5\n", "groups"),
        ("schema_version: 1\ngroups: [5]\n", "groups[0]"),
        ("schema_version: 1\ngroups: [{params: 3}]\n", "params"),
        ("schema_version: 1\nengines: [1, 2]\n", "engines"),
        ("schema_version: 1\nengines: {x: {e_compute: .nan}}\n", "finite"),
        (
            "schema_version: 1\ngroups: [{engine: e, gpu: h100-sxm, precision: fp8, "
            "params: {e_compute: .nan}}]\n",
            "finite",
        ),
        ("schema_version: 1\naccuracy: {h100-sxm: {ttft: yes}}\n", "finite"),
        ("- 1\n- 2\n", "not a calibration file"),
    ],
)
def test_calibration_files_of_the_wrong_shape(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    assert_one_line_error(run("plan", str(NEMO), "--calibration", str(path)), fragment)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ({"level": "rate 1", "sent_ms": 0, "end_ms": 5, "token_ms": ["a"]}, "token_ms"),
        ({"level": "rate 1", "sent_ms": 0, "end_ms": 5, "index": "7"}, "'index'"),
        ({"level": "rate 1", "sent_ms": 0, "end_ms": 5, "status": 2.5}, "'status'"),
        ({"level": "rate 1", "sent_ms": 0, "end_ms": 5, "warmup": "no"}, "'warmup'"),
        ({"level": "rate 1", "sent_ms": 0, "end_ms": 5, "error": 3}, "'error'"),
        ({"level": "rate 1", "sent_ms": True, "end_ms": 5}, "'sent_ms'"),
    ],
)
def test_records_of_the_wrong_type(tmp_path: Path, line: dict[str, object], fragment: str) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(line) + "\n")
    assert_one_line_error(run("show", str(path)), fragment)


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_trace_times_must_be_real(tmp_path: Path, value: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f"arrival_s,input_tokens,output_tokens\n0,100,10\n{value},100,10\n")
    assert_one_line_error(run("simulate", str(NEMO), "--trace", str(path)), "t.csv:3")


def test_a_wide_curve_field(tmp_path: Path) -> None:
    lines = (ROOT / "src" / "llmsize" / "data" / "curves.csv").read_text().splitlines()[:2]
    wide = tmp_path / "wide.csv"
    wide.write_text(lines[0] + "\n" + lines[1].rstrip(",") + ',"' + "n" * 200_000 + '"\n')
    assert run("validate", str(wide)).exit_code == 0  # a 200 KB notes field is data
    huge = tmp_path / "huge.csv"
    huge.write_text(lines[0] + "\n" + lines[1].rstrip(",") + ',"' + "n" * (2 << 20) + '"\n')
    assert_one_line_error(run("plan", str(NEMO), "--bench", str(huge)), "huge.csv:2")


def test_plot_paths_need_a_picture_extension(tmp_path: Path) -> None:
    assert_one_line_error(
        run("plan", str(NEMO), "--plot", str(tmp_path / "servers.md")), "--plot", ".png"
    )
    assert not (tmp_path / "servers.md").exists()


def test_outputs_need_force_and_are_never_inputs_or_links(tmp_path: Path) -> None:
    report = tmp_path / "r.md"
    assert run("plan", str(NEMO), "--report", str(report)).exit_code == 0
    first = report.read_text()
    assert_one_line_error(run("plan", str(NEMO), "--report", str(report)), "--force")
    assert run("plan", str(NEMO), "--report", str(report), "--force").exit_code == 0
    assert report.read_text().splitlines()[0] == first.splitlines()[0]
    assert_one_line_error(
        run("plan", str(NEMO), "--report", str(NEMO), "--force"), "one of this command's inputs"
    )
    link = tmp_path / "link.md"
    link.symlink_to(report)
    assert_one_line_error(run("plan", str(NEMO), "--report", str(link), "--force"), "link")
    assert_one_line_error(run("schema", "--out", str(report)), "--force")
    curves = tmp_path / "c.csv"
    curves.write_text((ROOT / "src" / "llmsize" / "data" / "curves.csv").read_text()[:4000])
    keep = curves.read_text()
    assert_one_line_error(run("calibrate", str(curves), "--out", str(curves), "--force"), "inputs")
    assert curves.read_text() == keep


def test_user_strings_reach_the_terminal_as_text(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    path.write_text(GOOD + 'name: "[bold red]x[/] \\e[2J\\e]0;pwned\\a"\n')
    result = run("plan", str(path))
    assert result.exit_code in (0, 1), result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "[bold red]x[/]" in result.stdout  # shown as typed, not interpreted
    bad = tmp_path / "v.yaml"
    bad.write_text('model: "llama\\e[2J"\n')
    result = run("validate", str(bad))
    assert "\x1b" not in result.output


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("engine: tgi", "engine: unknown engine 'tgi'"),
        ("engine: vlm", "did you mean"),
        ("batching: dynamic", "batching"),
    ],
)
def test_a_use_cases_engine_and_batching(tmp_path: Path, line: str, fragment: str) -> None:
    """issue 12's use-case fields: one line naming the file and the field, exit 2 (the flag is
    named only when the flag gave the engine)."""
    base = (ROOT / "examples" / "usecases" / "llama-70b-chat-2026.yaml").read_text(encoding="utf-8")
    path = tmp_path / "usecase.yaml"
    path.write_text(f"{base}{line}\n", encoding="utf-8")
    assert_one_line_error(run("plan", str(path), "--method", "peak"), fragment, f"{path}: ")
    if line.startswith("engine"):
        assert "--engine" not in run("plan", str(path), "--method", "peak").stderr
        assert_one_line_error(run("simulate", str(path)), fragment, f"{path}: ")


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("model: llama-3.1-70b", "model: llama-3.1-07b", "model: unknown model"),
        ("[dgx-h100, hgx-h200, dgx-b200]", "[dgx-h10]", "hardware.server: unknown server"),
    ],
)
def test_a_use_cases_unknown_names_name_its_file(
    tmp_path: Path, old: str, new: str, fragment: str
) -> None:
    """A model or server the catalog does not hold is named after the use case's file, as its
    schema errors are, by plan, simulate and validate alike."""
    base = (ROOT / "examples" / "usecases" / "llama-70b-chat-2026.yaml").read_text(encoding="utf-8")
    assert old in base
    path = tmp_path / "usecase.yaml"
    path.write_text(base.replace(old, new), encoding="utf-8")
    for command in ("plan", "simulate"):
        assert_one_line_error(run(command, str(path)), f"{path}: {fragment}", "did you mean")
    checked = run("validate", str(path))
    assert checked.exit_code == 2 and f"{path}: {fragment}" in checked.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--dataset", "bogus"), "--dataset"),
        (("--folds", "1"), "--folds"),
        (("--engine", "vllm", "--method", "guess"), "--method"),
    ],
)
def test_issue_12_flags(args: tuple[str, ...], fragment: str) -> None:
    command = "plan" if "--method" in args else "accuracy"
    extra = (str(ROOT / "examples" / "usecases" / "llama-70b-chat-2026.yaml"),)
    assert_one_line_error(run(command, *(extra if command == "plan" else ()), *args), fragment)


@pytest.mark.parametrize(
    ("flag", "value", "hint"),
    [
        ("--precision", "fp3", "did you mean 'fp8' or 'fp4'?"),
        ("--kv-precision", "FP8x", "did you mean 'fp8'"),
        ("--mode", "inflite", "did you mean 'inflight'?"),
    ],
)
def test_a_flag_value_that_is_not_a_choice_is_named_with_the_closest(
    flag: str, value: str, hint: str
) -> None:
    """Typer's own message, without the "Value error, " its validation puts first, and with the
    closest choices where one is close."""
    result = run(
        "estimate", "--model", "llama-2-7b", "--gpu", "h100-sxm", "--tp", "1", "--batch", "8",
        "--input-tokens", "100", "--output-tokens", "10", flag, value,
    )  # fmt: skip
    assert_one_line_error(result, flag, f"'{value}' is not one of", hint)
    assert "Value error" not in result.stderr


def test_a_choice_nothing_resembles_lists_the_choices_only() -> None:
    result = run("plan", str(NEMO), "--method", "zzz")
    assert_one_line_error(result, "'zzz' is not one of 'auto', 'peak', 'simulate'.")
    assert "did you mean" not in result.stderr and "Value error" not in result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("capacity", "--gpu", "h100-sxm"), "no such option --gpu; did you mean --server?"),
        (("estimate", "--input", "100"), "no such option --input; did you mean --input-tokens?"),
        (("simulate", "--rps", "3"), "no such option --rps; did you mean --rate?"),
        (("peak", "--percentil", "0.9"), "did you mean --percentile?"),
        (("plan", str(NEMO), "--tp", "2"), "no such option --tp; it is an option of llmsize "),
        (("plan", str(NEMO), "--zzz"), "no such option --zzz (see --help)"),
    ],
)
def test_an_unknown_flag_is_named_with_this_commands_flag_for_the_idea(
    args: tuple[str, ...], fragment: str
) -> None:
    """Click's own suggestion for `capacity --gpu` was `--api`: a spelling match, not the flag
    the user meant. Flags brought from another command map to this one's; a flag only other
    commands take says which."""
    result = run(*args)
    assert_one_line_error(result, fragment)
    if args[1] == "--tp":
        assert "estimate" in result.stderr and "simulate" in result.stderr
