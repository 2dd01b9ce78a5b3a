"""A Ray cluster to run on (`--ray ADDRESS`): bench's client workers and the twin's sweeps.

Ray is an optional extra (`pip install 'llmsize[distributed]'`) and is imported only here, only
when asked. ADDRESS is what Ray itself takes: `local` starts a Ray on this machine for the run
(on 127.0.0.1, stopped at the end), `auto` joins the cluster this machine is part of, and
`HOST:PORT` (or `ray://HOST:10001`) names a cluster's head. Every node needs llmsize installed
in the Python that Ray runs, as with any Ray job.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any

from llmsize.errors import InputError

NAMESPACE = "llmsize"
EXTRA = "pip install 'llmsize[distributed]'"


def ray_module(flag: str = "--ray") -> Any:
    """Ray, or one line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError(flag, f"needs Ray, which is not installed: {EXTRA}") from None
    return ray


def _reachable(address: str, flag: str) -> None:
    """A HOST:PORT that nothing answers on is one line now, not Ray's minute of retries."""
    if address in ("local", "auto") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(flag, f"{address!r} is not local, auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise InputError(flag, f"no Ray cluster answers at {address} ({why})") from None


@contextlib.contextmanager
def ray_session(address: str, cpus_needed: int = 1, flag: str = "--ray") -> Iterator[Any]:
    """Connected to the cluster at `address` for the block (a `local` one started and stopped);
    refused in one line when it is unreachable or has fewer CPUs than `cpus_needed`."""
    ray = ray_module(flag)
    _reachable(address, flag)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    options: dict[str, Any] = {
        "namespace": NAMESPACE,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
    }
    if address == "local":
        options |= {"include_dashboard": False, "_node_ip_address": "127.0.0.1"}
    try:
        ray.init(address=address, **options)
    except Exception as exc:  # Ray raises several kinds; each is the cluster's answer
        why = first_line(exc)
        if isinstance(exc, ConnectionError):  # most often a cluster that wants its token
            why += " (a cluster with token authentication needs RAY_AUTH_MODE=token and its token)"
        raise InputError(flag, f"could not join the Ray cluster at {address}: {why}") from None
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if cpus < cpus_needed:
            raise InputError(
                "--workers",
                f"{cpus_needed} workers need a CPU each; the Ray cluster at {address} has {cpus}",
            )
        yield ray
    finally:
        ray.shutdown()


def first_line(exc: BaseException) -> str:
    """An exception as one line (Ray's carry whole tracebacks)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
