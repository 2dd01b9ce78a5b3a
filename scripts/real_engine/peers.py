"""Step 4 of the real-engine check: other load generators (AIPerf, GuideLLM, from PyPI) measure
the same server, and their result files go through `llmsize import`, as a user who measured with
them would bring them in. Each tool gets its own environment, made once and kept beside vLLM's
(LLMSIZE_PEERS_DIR, default ~/.cache/llmsize), since their dependencies pin each other out."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import predict
from progress import say

TOOLS = {"aiperf": "0.13.0", "guidellm": "0.8.1"}
CONCURRENCY = 4
REQUESTS = 24
RUN_TIMEOUT_S = 600


def tool_python(tool: str) -> Path:
    """The kept environment's Python for a tool, made (a minute or two) when missing."""
    version = TOOLS[tool]
    home = Path(os.environ.get("LLMSIZE_PEERS_DIR", Path.home() / ".cache" / "llmsize"))
    env = home / f"{tool}-{version}"
    python = env / "bin" / "python"
    ready = env / ".llmsize-ready"
    if ready.exists() and python.exists():
        return python
    say(f"installing {tool} {version} into {env} (kept for later runs)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"{tool}=={version}"], check=True)
    ready.write_text(version, encoding="utf-8")
    return python


def _run(command: list[str], where: Path) -> None:
    done = subprocess.run(
        command, cwd=where, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise RuntimeError(f"{Path(command[2]).name} exited {done.returncode}:\n{tail}")


def aiperf(port: int, model_dir: Path, served: str, tokens: tuple[int, int], out: Path) -> Path:
    """AIPerf at a closed-loop concurrency; its profile export."""
    python = tool_python("aiperf")
    out.mkdir(parents=True, exist_ok=True)
    _run(
        [
            str(python),
            "-m",
            "aiperf",
            "profile",
            "--model",
            served,
            "--url",
            f"http://127.0.0.1:{port}",
            "--endpoint-type",
            "chat",
            "--streaming",
            "--tokenizer",
            str(model_dir),
            "--synthetic-input-tokens-mean",
            str(tokens[0]),
            "--output-tokens-mean",
            str(tokens[1]),
            "--extra-inputs",
            "ignore_eos:true",
            "--request-count",
            str(REQUESTS),
            "--warmup-request-count",
            str(CONCURRENCY),
            "--concurrency",
            str(CONCURRENCY),
            "--artifact-dir",
            str(out),
        ],
        out,
    )
    found = sorted(out.rglob("profile_export_aiperf.json"))
    if not found:
        raise RuntimeError(f"AIPerf wrote no profile_export_aiperf.json under {out}")
    return found[0]


def guidellm(port: int, model_dir: Path, served: str, tokens: tuple[int, int], out: Path) -> Path:
    """GuideLLM at a closed-loop concurrency; its benchmarks.json."""
    python = tool_python("guidellm")
    out.mkdir(parents=True, exist_ok=True)
    result = out / "benchmarks.json"
    _run(
        [
            str(python),
            "-m",
            "guidellm",
            "run",
            "--backend",
            f"kind=openai_http,target=http://127.0.0.1:{port},model={served}",
            "--profile",
            f"kind=concurrent,streams={CONCURRENCY}",
            "--constraint",
            f"kind=max_requests,count={REQUESTS}",
            "--data",
            f"kind=synthetic_text,prompt_tokens={tokens[0]},output_tokens={tokens[1]}",
            "--tokenizer",
            f"kind=huggingface_auto,model={model_dir}",
            "--output",
            f"kind=json,path={result}",
        ],
        out,
    )
    if not result.is_file():
        raise RuntimeError(f"GuideLLM wrote no {result}")
    return result


def imported(result: Path, model_dir: Path, out: Path) -> dict[str, Any]:
    """A tool's result file through `llmsize import` (as this device and model); its row."""
    predict.llmsize(
        "import",
        str(result),
        "--out",
        str(out),
        "--gpu",
        predict.GPU,
        "--model",
        str(model_dir / "config.json"),
        "--force",
    )
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != 1:
        raise RuntimeError(f"llmsize import made {len(rows)} rows of {result}, expected one")
    row = rows[0]
    return {
        "load_value": float(row["load_value"]),
        "ttft_ms": float(row["ttft_ms"]),
        "itl_ms": float(row["itl_ms"]),
        "latency_stat": row["latency_stat"],
    }
