"""What every benchmark needs: private directories, the local upstream, a daemon.

Every daemon runs as an editor starts it (``python -m hermesd --stdio``) with
its own ``HERMES_HOME`` and ``HERMESD_*`` directories, no real keys, and
DeepSeek pointed at the local upstream. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.lsp_client import LspClient

REPO = Path(__file__).resolve().parent.parent
PROVIDER = "deepseek"
KEY = "x-bench-key"
_SECRETISH = re.compile(r"(_API_KEY|_TOKEN|_KEY|_BASE_URL|_URL|_PROXY)$", re.IGNORECASE)


def compile_sources(root: Path = REPO) -> None:
    """Byte-compile the project (the checkout at ``root``), as installing a wheel does.

    Every library the baselines import (pygls, httpx, llm's venv) has its
    ``.pyc``; a checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (or from a
    read-only tree) would otherwise compile hermesd from source in every
    process it starts, and the cold rows would measure the compiler.
    """
    import compileall

    for package in ("hermesd", "providers", "plugins", "bench"):
        compileall.compile_dir(str(root / package), quiet=2, workers=1)


def clean_environ() -> dict[str, str]:
    """This process's environment without keys, base URLs or proxies."""
    env = {k: v for k, v in os.environ.items() if not _SECRETISH.search(k) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.pop("HERMES_INFERENCE_PROVIDER", None)
    env.pop("HERMESD_SHARED", None)  # each daemon's command line says which mode it runs in
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


class Home:
    """A private HERMES_HOME plus cache, data, log and runtime directories."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root / name
        self.home = self.root / "home"
        self.home.mkdir(parents=True, exist_ok=True)

    def env(self, upstream_url: str | None, extra: dict[str, str] | None = None, checkout: Path = REPO) -> dict[str, str]:
        """The daemon's environment: this home, the bench upstream's key and URL, ``checkout``'s code first."""
        env = clean_environ()
        env["HERMES_HOME"] = str(self.home)
        for var, sub in (("HERMESD_CACHE_DIR", "cache"), ("HERMESD_DATA_DIR", "data"),
                         ("HERMESD_LOG_DIR", "logs"), ("HERMESD_RUNTIME_DIR", "run")):
            env[var] = str(self.root / sub)
        if upstream_url:
            env["DEEPSEEK_API_KEY"] = KEY
            env["DEEPSEEK_BASE_URL"] = upstream_url + "/v1"
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(checkout), env.get("PYTHONPATH", "")) if p)
        env.update(extra or {})
        return env


class Upstream:
    """``python -m bench.upstream`` in its own process, so it never shares our GIL."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.port = 0

    async def start(self) -> "Upstream":
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.upstream", "--port", "0",
            stdout=asyncio.subprocess.PIPE, cwd=str(REPO), env=clean_environ(),
        )
        assert self.proc.stdout is not None
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 30)).decode().strip()
        if not line.startswith("READY "):
            raise RuntimeError(f"bench upstream did not start: {line!r}")
        self.url = line.split()[1]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    async def stats(self, tag: str) -> dict[str, Any]:
        """What the upstream recorded for the stream tagged ``tag``."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(f"GET /__stats?tag={tag} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
        body = await reader.readexactly(length)
        writer.close()
        return json.loads(body)

    async def wait_stats(self, tag: str, key: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll until ``stats(tag)[key]`` is set (e.g. ``closed`` after a cancel)."""
        deadline = time.monotonic() + timeout
        while True:
            stat = await self.stats(tag)
            if stat.get(key) or time.monotonic() > deadline:
                return stat
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


def model(tag: str, n: int = 5, rate: float = 0, stamp: int = 0) -> str:
    """The scenario string the bench upstream reads from the request's model."""
    return f"bench:n={n}:rate={rate:g}:stamp={stamp}:tag={tag}"


@dataclass
class Stream:
    """Deltas of one hermes/chat request as the editor received them."""

    sent_at: float = 0.0
    times: list[float] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def gapless(self) -> bool:
        return self.seqs == list(range(len(self.seqs)))


class Daemon:
    """A spawned ``hermesd --stdio`` with deltas sorted by request id."""

    def __init__(self, client: LspClient) -> None:
        self.client = client
        self.streams: dict[Any, Stream] = {}
        client.on_notification = self._on_notification

    @classmethod
    async def spawn(cls, env: dict[str, str], shared: bool = False, checkout: Path = REPO) -> "Daemon":
        """``python -m hermesd --stdio`` as an editor starts it: ``--no-shared`` (the daemon is this
        process, so its CPU and memory can be read) unless ``shared`` (the forwarder to the shared daemon).
        Run in ``checkout`` (``-m`` imports from the working directory first)."""
        argv = [sys.executable, "-m", "hermesd", "--stdio"] + ([] if shared else ["--no-shared"])
        client = await LspClient.spawn(argv, env, cwd=str(checkout))
        return cls(client)

    def _on_notification(self, method: str, params: Any, now: float) -> None:
        if method == "hermes/chatDelta":
            stream = self.streams.setdefault(params["requestId"], Stream())
            stream.times.append(now)
            stream.seqs.append(params["seq"])
            stream.texts.append(params.get("text") or "")

    def chat(self, params: dict[str, Any]) -> tuple[Stream, asyncio.Future]:
        """Start a hermes/chat; its deltas collect in the returned Stream."""
        sent = time.monotonic()
        msg_id, future = self.client.send("hermes/chat", params)
        stream = self.streams.setdefault(msg_id, Stream())
        stream.sent_at = sent
        return stream, future

    async def new_session(self, tag: str = "x", n: int = 5) -> str:
        result = await self.client.request("hermes/newSession", {"provider": PROVIDER, "model": model(tag, n)})
        return result["sessionId"]

    async def close(self) -> None:
        await self.client.close()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def tempdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="hermesd-bench-")
