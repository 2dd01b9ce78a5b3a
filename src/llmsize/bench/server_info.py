"""Which engine answered, when the server says: vLLM's `/version`, SGLang's
`/get_server_info`, and the `owned_by` of `/v1/models` (vLLM says "vllm", SGLang "sglang"); a run
records it so its rows say what was measured, not only where."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from llmsize.bench.client import Endpoint


async def server_identity(client: httpx.AsyncClient, endpoint: Endpoint) -> str | None:
    """'vllm 0.32.0', 'sglang 0.5.9', 'vllm' or None: whatever the server tells about itself."""
    base = endpoint.url.rstrip("/")
    root = base[: -len("/v1")] if base.endswith("/v1") else base
    owner = version = None
    models = await _json(client, f"{base}/models", endpoint)
    if isinstance(models, dict) and isinstance(models.get("data"), list):
        for entry in models["data"]:
            if isinstance(entry, dict) and entry.get("id") == endpoint.model:
                owner = entry.get("owned_by") if isinstance(entry.get("owned_by"), str) else None
    for path in ("/version", "/get_server_info"):
        found = await _json(client, root + path, endpoint)
        if isinstance(found, dict) and isinstance(found.get("version"), str):
            version = found["version"]
            break
    parts = [p[:40] for p in (owner, version) if p]
    return " ".join(parts) or None


async def _json(client: httpx.AsyncClient, url: str, endpoint: Endpoint) -> Any:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        response = await client.get(url, headers=endpoint.headers(), timeout=5.0)
        if response.status_code == 200:
            return response.json()
    return None
