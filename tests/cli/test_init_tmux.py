"""`llmsize init` in a real terminal (tmux: send-keys, capture-pane), including a wrong answer
being re-asked with a clear message. Skipped where tmux is not installed."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def _wait_for(session: str, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", session, "-S", "-200")
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared; screen:\n{screen}")


def test_a_terminal_session_answers_the_checklist(tmp_path: Path) -> None:
    session = f"llmsize-{uuid.uuid4().hex[:8]}"
    target = tmp_path / "terminal.yaml"
    command = f"{shlex.quote(sys.executable)} -m llmsize init {shlex.quote(str(target))}; sleep 30"
    _tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", command)
    try:
        steps = [
            ("Model (catalog id", "mistral-7"),  # wrong: re-asked
            ("did you mean 'mistral-7b'", "mistral-7b"),
            ("System prompt: tokens", "0"),
            ("Average user input", "1000"),
            ("RAG documents", "0"),
            ("Chat history", "0"),
            ("Average output", "200"),
            ("Streaming (limit the first token)", "bulk"),  # wrong: re-asked
            ("answer streaming, sequential or batch", "streaming"),
            ("Time to first token limit", "800"),
            ("Inter-token limit", "fast"),
            ("Load: peak req/s", "12"),
            ("Server type", "all"),
            ("Precision", "best"),
        ]
        for prompt, answer in steps:
            _wait_for(session, prompt)
            _tmux("send-keys", "-t", session, answer, "Enter")
        screen = _wait_for(session, "Wrote ")
        assert "try again" in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    doc = yaml.safe_load(target.read_text())
    assert doc["model"] == "mistral-7b"
    assert doc["latency"] == {"first_token_ms": 800, "inter_token_ms": 90}
    assert doc["load"] == {"peak_rps": 12}
