"""Per-token prices and context lengths from a provider's ``/models`` catalog.

OpenRouter's catalog entries carry ``pricing`` (USD per token, as decimal
strings: ``prompt``, ``completion``, ``input_cache_read``,
``input_cache_write``) and ``context_length``; other OpenAI-compatible
servers often carry a context length (vLLM's ``max_model_len``). A price
book is fetched once per endpoint for ``catalog.ttl_seconds`` when a reply's
cost must be estimated (a reply whose upstream reports its cost uses a book
already held, for its context length, and asks nobody), and kept on disk
beside the model lists, so every daemon and the CLI share it; a failed
fetch is remembered too (as an empty book) so a server without a catalog is
not asked on every reply. The book names its source and date: an estimated
cost says which price it used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermesd.paths import cache_dir, ensure_private_dir

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 8.0
# A failed or priceless fetch is asked again after this long, whatever catalog.ttl_seconds says.
RETRY_SECONDS = 600


@dataclass(frozen=True)
class Price:
    """One model's catalog facts: USD per token (None: not listed) and its context window."""

    prompt: float | None = None
    completion: float | None = None
    cache_read: float | None = None
    cache_write: float | None = None
    context_length: int | None = None

    @property
    def priced(self) -> bool:
        """Both prompt and completion prices are known."""
        return self.prompt is not None and self.completion is not None


@dataclass(frozen=True)
class PriceBook:
    """One endpoint's catalog facts, where they came from and when."""

    source: str  # "openrouter /models"
    fetched_at: float
    models: dict[str, Price]

    @property
    def label(self) -> str:
        """"openrouter /models of 2026-12-06": how an estimate names its price."""
        return f"{self.source} of {time.strftime('%Y-%m-%d', time.gmtime(self.fetched_at))}"

    def get(self, model: str | None) -> Price | None:
        """The model's facts; a router's or vendor-prefixed id is also tried without its prefix."""
        if not model:
            return None
        return self.models.get(model) or (self.models.get(model.split("/", 1)[1]) if "/" in model else None)


def _decimal(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None  # OpenRouter lists a router's price as "-1": not a price


def _context(entry: dict[str, Any]) -> int | None:
    top = entry.get("top_provider")
    for value in (entry.get("context_length"), entry.get("max_model_len"),
                  top.get("context_length") if isinstance(top, dict) else None):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def parse_catalog(payload: Any) -> dict[str, Price]:
    """A ``/models`` reply (``{"data": [...]}`` or a bare list) as each model's prices and context length."""
    items = payload.get("data") if isinstance(payload, dict) else payload
    models: dict[str, Price] = {}
    for entry in items if isinstance(items, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        pricing = entry.get("pricing") if isinstance(entry.get("pricing"), dict) else {}
        price = Price(prompt=_decimal(pricing.get("prompt")), completion=_decimal(pricing.get("completion")),
                      cache_read=_decimal(pricing.get("input_cache_read")),
                      cache_write=_decimal(pricing.get("input_cache_write")), context_length=_context(entry))
        if price != Price():
            models[entry["id"]] = price
    return models


class PriceBooks:
    """The books of every endpoint this process asked about: memory first, then the disk cache, then the network."""

    def __init__(self) -> None:
        self._books: dict[str, PriceBook] = {}
        self._lock = threading.Lock()

    def book(self, *, provider: str, url: str, headers: dict[str, str], ttl_seconds: int) -> PriceBook:
        """The book of the catalog at ``url``, fetched when none younger than ``ttl_seconds`` is kept. Blocking."""
        now = time.time()
        with self._lock:
            book = self._books.get(url)
        if book is None:
            book = _read(_cache_file(provider, url))
        if book is not None and _fresh(book, now, ttl_seconds):
            with self._lock:
                self._books[url] = book
            return book
        models = fetch(url, headers)
        if models is None and book is not None and book.models:
            return book  # a stale book beats none
        book = PriceBook(source=f"{provider} /models", fetched_at=now, models=models or {})
        with self._lock:
            self._books[url] = book
        try:
            _write(_cache_file(provider, url), book)
        except OSError as exc:
            log.warning("price cache not written: %s", exc)
        return book

    def fresh(self, url: str, ttl_seconds: int) -> bool:
        """Whether this process holds a book of ``url`` that :meth:`book` would give without a fetch. Never blocks."""
        with self._lock:
            book = self._books.get(url)
        return book is not None and _fresh(book, time.time(), ttl_seconds)

    def held(self, *, provider: str, url: str) -> PriceBook | None:
        """The book held for ``url`` (this process's, else the disk cache's, however old), never fetched."""
        with self._lock:
            book = self._books.get(url)
        if book is None:
            book = _read(_cache_file(provider, url))
            if book is not None:
                with self._lock:
                    self._books.setdefault(url, book)
        return book


def _fresh(book: PriceBook, now: float, ttl_seconds: int) -> bool:
    """Young enough to use without asking again (an empty book is asked again sooner)."""
    return now - book.fetched_at < (ttl_seconds if book.models else min(ttl_seconds, RETRY_SECONDS))


def fetch(url: str, headers: dict[str, str]) -> dict[str, Price] | None:
    """GET the catalog (as the plugins' catalogs are fetched: redirects within its origin); None when it cannot be read."""
    from providers.base import fetch_catalog

    payload = fetch_catalog(url, headers=headers, timeout=FETCH_TIMEOUT)
    if payload is None:
        log.info("price catalog %s not read", url)
        return None
    return parse_catalog(payload)


def _cache_file(provider: str, url: str) -> Path:
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in provider)
    return cache_dir() / "prices" / f"{safe}-{digest}.json"


def _read(path: Path) -> PriceBook | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        models = {k: Price(**v) for k, v in data["models"].items()}
        return PriceBook(source=str(data["source"]), fetched_at=float(data["fetchedAt"]), models=models)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write(path: Path, book: PriceBook) -> None:
    ensure_private_dir(path.parent)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    data = {"source": book.source, "fetchedAt": book.fetched_at, "models": {k: v.__dict__ for k, v in book.models.items()}}
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)
