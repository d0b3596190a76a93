"""Long-lived HTTP clients, one per endpoint (per request slot for httpx), so connections are reused.

A new client costs a TLS handshake on first use; reusing it across chats
keeps steady-state time to first token at the network's floor. Chat
Completions and Anthropic Messages use the plain httpx client; only the
Responses API loads the openai SDK (and the HTTP stack it brings).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from typing import Any

from hermesd.transports import NetworkSettings

log = logging.getLogger(__name__)

_openai: dict[tuple, Any] = {}
_httpx: dict[tuple, Any] = {}
_closing: set[Any] = set()  # replaced clients being closed
# How long a request waits for its slot's connection. It never has to (each slot has one request in flight,
# and its pool one connection), unless that pool lost count of its connection (replace_httpx_client).
POOL_WAIT_SECONDS = 1.0
NO_KEY = "hermesd-no-key"  # the SDK insists on a key; its header is removed when unused


def _key_id(api_key: str | None) -> str:
    return hashlib.sha256((api_key or "").encode()).hexdigest()[:16]


def openai_client(base_url: str, api_key: str | None, net: NetworkSettings) -> Any:
    """The openai SDK's client for one endpoint and key (Responses API only), built once.

    Everything handed to the SDK is its own: its ``Timeout`` (httpx's up to
    openai 2.x, httpx2's from 3.x) and its default HTTP client. An object of
    hermesd's httpx is refused by a release on another HTTP stack.
    """
    import openai

    cache_key = (base_url, _key_id(api_key), net.timeout, net.connect_timeout)
    client = _openai.get(cache_key)
    if client is None:
        client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or NO_KEY,
            max_retries=0,  # the chat engine retries, so a cancel can interrupt the wait
            timeout=openai.Timeout(net.timeout, connect=net.connect_timeout),
        )
        _openai[cache_key] = client
    return client


def httpx_client(base_url: str, net: NetworkSettings, slot: int = 0) -> Any:
    """The httpx client of one endpoint's request slot and timeouts, built once (its connection reused across chats).

    A slot (:mod:`hermesd.transports.gates`) has one request in flight at a
    time, so its client's pool holds one connection and keeps it: httpcore's
    pool checks every connection it holds whenever a request starts or ends,
    and closes a connection going idle while more than its keep-alive
    allowance are open, which under 100 concurrent chats in one pool cost
    ~150 µs of CPU a chunk and a new connection for most chats (B6).
    """
    key = (base_url, net.timeout, net.connect_timeout, slot)
    client = _httpx.get(key)
    if client is None:
        client = _httpx[key] = _slot_client(base_url, net)
    return client


def replace_httpx_client(base_url: str, net: NetworkSettings, slot: int = 0) -> Any:
    """A new client for the slot, the one it had closed (its connections too) in the background.

    For a pool that waited :data:`POOL_WAIT_SECONDS` for its one connection:
    the slot's own request never shares it, so a cancellation that interrupted
    httpcore while it handed a connection back left the pool counting it as in
    use, and every later request of the slot would wait in vain.
    """
    from hermesd.settings.masking import mask_url

    key = (base_url, net.timeout, net.connect_timeout, slot)
    stale = _httpx.pop(key, None)
    if stale is not None:
        log.warning("a connection of %s's request slot %d was never handed back; the slot gets a new client",
                    mask_url(base_url), slot)
        _close_later(stale)
    client = _httpx[key] = _slot_client(base_url, net)
    return client


def _slot_client(base_url: str, net: NetworkSettings) -> Any:
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(net.timeout, connect=net.connect_timeout, pool=POOL_WAIT_SECONDS),
        verify=tls_context() if _may_use_tls(base_url) else _no_tls(),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


def _close_later(client: Any) -> None:
    import asyncio

    task = asyncio.get_running_loop().create_task(client.aclose())
    _closing.add(task)  # held until done: the loop keeps only a weak reference
    task.add_done_callback(_closing.discard)


@functools.cache
def tls_context() -> Any:
    """One TLS context for every pooled https client: loading the CA bundle costs ~16-30 ms a time.

    Built as httpx builds its own (``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured).
    """
    import httpx

    return httpx.create_ssl_context()


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")  # what httpx reads, in either case


def _may_use_tls(base_url: str) -> bool:
    """An https endpoint, or a plain-http one reached through an https:// proxy (``HTTP_PROXY`` and the like)."""
    import os

    if base_url[:6].lower() == "https:":
        return True
    return any(name.upper() in _PROXY_VARIABLES and value.strip().lower().startswith("https:")
               for name, value in os.environ.items())


@functools.cache
def _no_tls() -> Any:
    """For a plain-http endpoint's client with no https proxy, which never makes a TLS connection
    (its requests and redirects stay on that origin): verifying, but trusting no CA, so any TLS
    through it fails closed. Free, where loading the CA bundle is not (a local server's first
    chat skips it)."""
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def warm_up() -> None:
    """What a first chat would otherwise wait for, sending nothing (run off the event loop's thread).

    Building one client imports the connection pool; the pool's locks load
    anyio's asyncio backend on first use, so one throwaway event loop loads
    it here. The CA bundle is :func:`tls_context`'s, loaded last by the
    warm-up (hermesd.serve.warm_up).
    """
    import anyio
    import httpx

    httpx.AsyncClient(verify=_no_tls())
    anyio.run(anyio.sleep, 0)


def sdk_headers(headers: dict[str, str], api_key: str | None) -> dict[str, Any]:
    """Headers to pass as ``extra_headers``: ours, minus what the SDK sets itself."""
    from openai import Omit

    extra: dict[str, Any] = {
        k: v for k, v in headers.items() if k.lower() not in ("authorization", "content-type")
    }
    if not api_key:
        extra["Authorization"] = Omit()
    return extra


async def close_all() -> None:
    """Close every pooled client (an embedder's clean shutdown; the daemon's exit closes them with the process)."""
    for client in list(_openai.values()):
        await client.close()
    for client in list(_httpx.values()):
        await client.aclose()
    _openai.clear()
    _httpx.clear()
