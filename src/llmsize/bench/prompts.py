"""Prompts of a target token length: exact with a local tokenizer, otherwise synthetic text whose
length is calibrated against the server's own count (usage.prompt_tokens)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from llmsize.bench.client import Endpoint
from llmsize.errors import InputError

_VOCABULARY = (
    "time person year way day thing man world life hand part child eye woman place work week "
    "case point government company number group problem fact river mountain ocean forest city "
    "garden kitchen window letter question answer system program market price energy water light "
    "music story paper table chair engine signal model server token memory network cluster"
)
WORDS = tuple(_VOCABULARY.split())
PROBES = (64, 256)


async def _post(
    client: httpx.AsyncClient, endpoint: Endpoint, body: dict[str, object]
) -> httpx.Response:
    """One probe; sent again once if the server closed a kept-alive connection unannounced."""
    try:
        return await client.post(endpoint.path, json=body, headers=endpoint.headers())
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        return await client.post(endpoint.path, json=body, headers=endpoint.headers())


@dataclass(slots=True)
class PromptMaker:
    """Deterministic prompts, distinct per request, level and seed, so that an engine's prefix
    cache (on by default in vLLM, SGLang and TensorRT-LLM) never serves a measured prompt from an
    earlier one: each prompt opens with words drawn for (seed, level, request). A run without
    `--seed` draws its seed, so two runs do not share prompts either. With `shared_prefix`
    tokens, every prompt begins with the same prefix (drawn for the seed) and the rest is its
    own: the way to measure prefix caching on purpose."""

    target_tokens: int
    seed: int = 0
    tokenizer: Path | None = None
    words_per_token: float = 1.0
    overhead_tokens: float = 0.0
    calibrated_from: str = "not calibrated"
    shared_prefix: int = 0  # tokens every prompt starts with
    _encoder: object | None = field(default=None, repr=False)

    def _text(self, rng: random.Random, words: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(max(1, words)))

    async def prepare(self, client: httpx.AsyncClient, endpoint: Endpoint) -> None:
        """Fit tokens = overhead + words / words_per_token from two probe requests (or load the
        tokenizer)."""
        if self.tokenizer is not None:
            self._load_tokenizer()
            return
        counts = []
        rng = random.Random(self.seed ^ 0x5EED)
        for words in PROBES:
            body = endpoint.payload(self._text(rng, words), 1, stream=False)
            try:
                response = await _post(client, endpoint, body)
            except httpx.HTTPError as exc:
                raise InputError("--url", f"cannot reach {endpoint.path}: {exc}") from None
            if response.status_code != 200:
                raise InputError("--url", f"{endpoint.path} answered HTTP {response.status_code}")
            try:
                counts.append(float(response.json()["usage"]["prompt_tokens"]))
            except (ValueError, KeyError, TypeError):
                self.calibrated_from = "no usage.prompt_tokens: assumed 1 token per word"
                return
        slope = (counts[1] - counts[0]) / (PROBES[1] - PROBES[0])
        if slope <= 0:
            self.calibrated_from = "server counts did not grow with length: 1 token per word"
            return
        self.words_per_token = 1 / slope
        self.overhead_tokens = max(0.0, counts[0] - PROBES[0] * slope)
        overhead = f"{self.overhead_tokens:.0f}"
        self.calibrated_from = (
            f"server usage: {slope:.3f} tokens per word + {overhead} template tokens"
        )

    def _load_tokenizer(self) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise InputError(
                "--tokenizer", "needs the optional package: pip install 'llmsize[tokenizers]'"
            ) from None
        assert self.tokenizer is not None
        from llmsize.files import read_text

        try:
            text = read_text(self.tokenizer, "tokenizer")
        except InputError as exc:
            raise InputError("--tokenizer", str(exc)) from None
        try:
            self._encoder = Tokenizer.from_str(text)
        except Exception as exc:  # the tokenizers library raises plain Exceptions
            raise InputError("--tokenizer", f"cannot load {self.tokenizer}: {exc}") from None
        self.calibrated_from = f"tokenizer {self.tokenizer}"

    def prompt(self, index: int, level: int = 0) -> str:
        """Request `index` of level `level`: the shared prefix (if any), then its own words."""
        own = random.Random(f"{self.seed}/{level}/{index}")
        prefix = self.prefix()
        if self._encoder is not None:
            encoder = self._encoder
            text = self._text(own, (self.target_tokens - self.shared_prefix) * 2)
            ids = encoder.encode(text, add_special_tokens=False).ids  # type: ignore[attr-defined]
            rest = str(encoder.decode(ids[: self.target_tokens - self.shared_prefix]))  # type: ignore[attr-defined]
            return prefix + rest
        words = round((self.target_tokens - self.overhead_tokens) * self.words_per_token)
        return prefix + self._text(own, words - self._prefix_words())

    def _prefix_words(self) -> int:
        return round(self.shared_prefix * self.words_per_token) if self.shared_prefix else 0

    def prefix(self) -> str:
        """The text every prompt of the run begins with ('' without a shared prefix)."""
        if not self.shared_prefix:
            return ""
        rng = random.Random(f"{self.seed}/shared")
        if self._encoder is not None:
            encoder = self._encoder
            ids = encoder.encode(  # type: ignore[attr-defined]
                self._text(rng, self.shared_prefix * 2), add_special_tokens=False
            ).ids[: self.shared_prefix]
            return str(encoder.decode(ids)) + " "  # type: ignore[attr-defined]
        return self._text(rng, self._prefix_words()) + " "
