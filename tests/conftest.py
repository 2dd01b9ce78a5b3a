"""Shared fixtures: paths to shipped examples and a writer for use-case files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "usecases"

LLAMA_3_8B_CONFIG: dict[str, Any] = {
    "model_type": "llama",
    "num_hidden_layers": 32,
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "intermediate_size": 14336,
    "vocab_size": 128256,
    "max_position_embeddings": 8192,
}
"""The architecture fields of meta-llama/Meta-Llama-3-8B's config.json, for reader tests."""


@pytest.fixture
def write_usecase(tmp_path: Path) -> Callable[..., Path]:
    """Write a use case (the NeMo 43B example, with overrides) to a temporary YAML file."""

    def write(overrides: dict[str, Any] | None = None, *, raw: str | None = None) -> Path:
        path = tmp_path / "usecase.yaml"
        if raw is not None:
            path.write_text(raw, encoding="utf-8")
            return path
        data: dict[str, Any] = yaml.safe_load((EXAMPLES / "seed-nemo-43b.yaml").read_text())
        for key, value in (overrides or {}).items():
            target = data
            parts = key.split(".")
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            if value is None:
                target.pop(parts[-1], None)
            else:
                target[parts[-1]] = value
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return write


class _RayHead:
    """A Ray cluster of this machine alone, with two CPUs (`ray start --head`), started when a
    test first asks and again whenever it stopped answering (a long test session on two busy
    cores has seen its processes gone between two tests). Ray binds its node to the machine's
    own interface, never loopback (ray._private.services.resolve_ip_for_localhost), so the
    address is 127.0.0.1 but the cluster's is that interface's; token authentication is off
    (an explicit address takes no token unless RAY_AUTH_MODE says so)."""

    def __init__(self) -> None:
        import os
        import sys

        self.ray = str(Path(sys.executable).parent / "ray")
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
        self.port = 0

    def answering(self) -> bool:
        import socket

        if not self.port:
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                return True
        except OSError:
            return False

    def address(self) -> str:
        import socket
        import subprocess

        if not self.answering():
            self.stop()
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            subprocess.run(
                [self.ray, "start", "--head", f"--port={self.port}", "--num-cpus=2",
                 "--include-dashboard=false", "--disable-usage-stats"],
                check=True, timeout=180, capture_output=True, env=self.env,
            )  # fmt: skip
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        """`ray stop`, which stops every Ray process of this user on the machine."""
        import subprocess

        subprocess.run(
            [self.ray, "stop", "--force"], timeout=180, capture_output=True, env=self.env
        )


@pytest.fixture(scope="session")
def _ray_cluster() -> Iterator[_RayHead]:
    pytest.importorskip("ray")
    head = _RayHead()
    try:
        yield head
    finally:
        if head.port:
            head.stop()


@pytest.fixture
def ray_head(_ray_cluster: _RayHead) -> str:
    """The address of the session's Ray cluster (see _RayHead), started if it is not up."""
    return _ray_cluster.address()
