"""Credentials never leave the process: a URL's user:password is dropped from everything
written or printed, and an API key must be a value HTTP can carry (a stray carriage return or
newline would split the header, or smuggle another one) before any request is sent."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from llmsize.errors import InputError


def redacted_url(url: str) -> str:
    """The URL without its user:password@ (what outputs may name)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def header_value(value: str | None, variable: str) -> str | None:
    """An API key from the environment, refused (without showing it) if HTTP cannot carry it."""
    if value is None or value == "":
        return None
    bad = [c for c in value if ord(c) < 0x20 or ord(c) == 0x7F or ord(c) > 0xFF]
    if bad:
        where = "a carriage return" if "\r" in bad else "a newline" if "\n" in bad else "a control"
        raise InputError(
            variable,
            f"the API key holds {where} character, which an HTTP header cannot carry "
            "(check how the variable was set; the key is not shown)",
        )
    return value
