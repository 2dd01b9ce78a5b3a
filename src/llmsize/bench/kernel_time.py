"""The kernel's receive time of a socket read (Linux SO_TIMESTAMPNS), shared by the client and
the mock server: a process busy with many streams then delays its reads, not its measurements."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable

SO_TIMESTAMPNS = 35
"""Linux: stamp each read with the kernel's arrival time of its data."""


def enable(sock: socket.socket, *, required: bool = True) -> None:
    """Ask the kernel to stamp this socket's reads (where it cannot, reads are timed)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        if required:
            raise


def arrival(ancillary: Iterable[tuple[int, int, bytes]], now: float) -> float:
    """A read's ancillary data as a perf_counter time: the earlier of the kernel's stamp and
    `now`, so a missing or odd stamp never moves time forward. The stamp is on the wall clock,
    so it is converted with the wall clock's offset read at that read: a step of the wall clock
    during a run (NTP on a freshly booted machine) then moves no measurement."""
    offset = time.time() - time.perf_counter()
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
            seconds, nanos = struct.unpack("qq", payload[:16])
            now = min(now, seconds + nanos * 1e-9 - offset)
    return now
