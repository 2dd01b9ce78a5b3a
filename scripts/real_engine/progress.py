"""The real-engine check's progress lines, each with the seconds since the check started, so a
run's log shows where its time went (issue 13 keeps the whole step under 15 minutes)."""

from __future__ import annotations

import time

STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"[real-engine {time.monotonic() - STARTED:4.0f} s] {text}", flush=True)
