"""`llmsize init`: the checklist asked through prompts (CliRunner input), the same file from
flags, and the written use cases plan."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmsize.checklist import parse_inter_token, parse_length, parse_load, parse_system_prompt
from llmsize.cli import app
from llmsize.errors import InputError
from tests.cli.helpers import RUNNER, assert_one_line_error, run

# model, system prompt, input, RAG, history, output, mode, limit, inter-token limit, load, server,
# precision
RAG_ANSWERS = [
    "llama-2-7",  # a wrong answer: re-asked with "did you mean"
    "llama-2-70b",
    "100 words",
    "300 words",
    "2000",
    "200",
    "5000",  # too long for the context window: re-asked
    "500",
    "streaming",
    "3000",
    "slow",  # not a reading speed: re-asked
    "average",
    "avg 25",
    "all",
    "best",
]
RAG_FLAGS = [
    "--model", "llama-2-70b", "--system-prompt", "100 words", "--input-tokens", "300 words",
    "--rag", "2000", "--history", "200", "--output-tokens", "500",
    "--first-token-ms", "3000", "--inter-token-ms", "average", "--load", "avg 25",
    "--server", "all", "--precision", "best",
    "--yes",
]  # fmt: skip


def interactive(path: Path, answers: list[str]) -> str:
    result = RUNNER.invoke(app, ["init", str(path)], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    return result.output


def test_streaming_rag_case_through_the_prompts(tmp_path: Path) -> None:
    path = tmp_path / "rag.yaml"
    shown = interactive(path, RAG_ANSWERS)
    assert "unknown model 'llama-2-7'; did you mean" in shown
    assert "7734 tokens exceed the 4096-token context window" in shown
    assert "size for a peak of 33 req/s" in shown  # Poisson 95 % of 25
    doc = yaml.safe_load(path.read_text())
    assert doc["model"] == "llama-2-70b"
    assert doc["system_prompt_tokens"] == 134  # 100 words / 0.75
    assert doc["input_tokens"] == 400 + 2000 + 200
    assert doc["output_tokens"] == 500
    assert doc["latency"] == {"first_token_ms": 3000, "inter_token_ms": 200}  # average reader
    assert "'slow': give milliseconds" in shown
    assert doc["load"] == {"avg_rps": 25}
    assert "hardware" not in doc
    assert run("plan", str(path)).exit_code == 0


def test_sequential_case_with_daily_requests(tmp_path: Path) -> None:
    path = tmp_path / "seq.yaml"
    prompt = 'You are a careful "support" agent: answer in English.'
    answers = ["llama-3.1-8b", prompt, "800", "0", "0", "200", "sequential", "20000"]
    answers += ["720000/day over 8h", "dgx-h100", "fp8"]
    shown = interactive(path, answers)
    assert "size for a peak of" in shown
    doc = yaml.safe_load(path.read_text())
    assert doc["latency"] == {"last_token_ms": 20000}
    assert doc["load"] == {"avg_rps": 25}  # 720,000 over 8 h
    assert doc["hardware"] == {"server": "dgx-h100", "precision": "fp8"}
    assert doc["system_prompt"] == prompt  # pasted text, kept as text (quotes survive)
    assert run("plan", str(path)).exit_code == 0


def test_flags_write_the_same_file_as_the_prompts(tmp_path: Path) -> None:
    asked, flagged = tmp_path / "asked.yaml", tmp_path / "flagged.yaml"
    interactive(asked, RAG_ANSWERS)
    assert run("init", str(flagged), *RAG_FLAGS).exit_code == 0
    assert flagged.read_bytes() == asked.read_bytes()


def test_bad_flags_and_existing_files(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    assert_one_line_error(run("init", str(path), "--model", "llama-2-7", "--yes"), "--model")
    assert_one_line_error(run("init", str(path), "--load", "lots", "--yes"), "--load")
    assert_one_line_error(
        run("init", str(path), "--model", "llama-2-7b", "--input-tokens", "4000", "--yes"),
        "--output-tokens",
    )
    both = ("--first-token-ms", "500", "--last-token-ms", "9000")
    assert_one_line_error(run("init", str(path), *both, "--yes"), "not both")
    assert run("init", str(path), "--yes").exit_code == 0
    assert_one_line_error(run("init", str(path), "--yes"), "--force")
    assert run("init", str(path), "--yes", "--force").exit_code == 0


def test_lengths_and_loads_parse() -> None:
    assert parse_system_prompt("150 words") == (200, None)
    assert parse_system_prompt("Be brief and kind")[1] == "Be brief and kind"
    with pytest.raises(InputError, match="paste the text"):
        parse_system_prompt("lots")
    assert parse_length("300 words", "x") == 400 and parse_length("512", "x") == 512
    assert parse_load("30", "x") == (30.0, None, "", None, None)
    assert parse_load("avg 6.92", "x") == (None, 6.92, "", None, None)
    assert parse_load("200000/day over 8h", "x").avg_rps == pytest.approx(6.9444, abs=1e-4)
    assert parse_load("batch 2000000 in 8h", "x") == (None, None, "", 2_000_000, 8.0)
    assert parse_load("2000000 in 7.5h", "x").window_hours == 7.5
    with pytest.raises(InputError, match="1-24 hours"):
        parse_load("batch 10 in 30h", "load")
    with pytest.raises(InputError, match="300 words"):
        parse_length("three hundred", "input")


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--first-token-ms", "-3"),
        ("--last-token-ms", "soon"),
        ("--server", "dgx-h1"),
        ("--precision", "fp9"),
        ("--input-tokens", "lots"),
        ("--output-tokens", "0"),
        ("--system-prompt", "x"),
    ],
)
def test_every_bad_init_flag_is_one_line(flag: str, value: str, tmp_path: Path) -> None:
    assert_one_line_error(run("init", str(tmp_path / "u.yaml"), flag, value, "--yes"), flag)
    assert not (tmp_path / "u.yaml").exists()


BATCH_ANSWERS = ["llama-3.1-8b", "0", "2000", "0", "0", "200", "batch", "500000 in 6h"]
BATCH_ANSWERS += ["all", "best"]


def test_a_batch_job_has_no_latency_limit_and_no_poisson_peak(tmp_path: Path) -> None:
    asked, flagged = tmp_path / "asked.yaml", tmp_path / "flagged.yaml"
    shown = interactive(asked, BATCH_ANSWERS)
    assert "size for 23.15 req/s of throughput (no Poisson peak)" in shown
    doc = yaml.safe_load(asked.read_text())
    assert "latency" not in doc
    assert doc["load"] == {"batch": {"requests": 500_000, "window_hours": 6}}
    flags = ["--model", "llama-3.1-8b", "--input-tokens", "2000", "--output-tokens", "200"]
    result = run("init", str(flagged), *flags, "--load", "batch 500000 in 6h", "--yes")
    assert result.exit_code == 0, result.output
    assert flagged.read_bytes() == asked.read_bytes()
    assert run("plan", str(flagged)).exit_code == 0
    # a flagged limit stays a limit
    limited = tmp_path / "limited.yaml"
    limit = ("--last-token-ms", "60000", "--load", "batch 500000 in 6h", "--yes")
    assert run("init", str(limited), *flags, *limit).exit_code == 0
    assert yaml.safe_load(limited.read_text())["latency"] == {"last_token_ms": 60000}


def test_the_inter_token_limit_is_a_reading_speed_or_milliseconds(tmp_path: Path) -> None:
    """The talk's checklist: the inter-token limit is the reader's speed (fast 90 ms a token,
    average 200 ms), asked for streaming; `--yes` leaves it out; a batch job takes it as a flag
    and its file says that it is the limit."""
    assert [parse_inter_token(t, "x") for t in ("none", "", "fast", "average", "50", "45 ms")] == [
        None, None, 90.0, 200.0, 50.0, 45.0,
    ]  # fmt: skip
    for bad in ("slow", "0", "-5", "nan"):
        with pytest.raises(InputError, match="milliseconds"):
            parse_inter_token(bad, "x")
    plain = tmp_path / "plain.yaml"
    assert run("init", str(plain), "--yes").exit_code == 0
    assert "inter_token_ms" not in yaml.safe_load(plain.read_text())["latency"]
    batch = tmp_path / "batch.yaml"
    flags = ("--load", "batch 100000 in 8h", "--inter-token-ms", "90", "--yes")
    assert run("init", str(batch), *flags).exit_code == 0
    text = batch.read_text()
    assert yaml.safe_load(text)["latency"] == {"inter_token_ms": 90}
    assert "latency:   # inter-token latency (reading speed) is the limit" in text
    assert run("plan", str(batch), "--method", "peak").exit_code == 0
    slow = run("init", str(tmp_path / "slow.yaml"), "--inter-token-ms", "slow", "--yes")
    assert_one_line_error(slow, "--inter-token-ms", "'fast' (90)")
