"""Inline completion rows I1-I4 (issue 35): hermesd's overhead, a typing burst, cache hits, tabby-agent beside.

Every row drives ``textDocument/inlineCompletion`` as an editor does (incremental
``didChange`` per keystroke, then a request at the cursor) against the bench
upstream's FIM route, which answers after a fixed delay and records when each
request arrived, was answered, or was closed by the client (``/__fim``).
hermesd runs through the shared daemon, as editors start it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import REPO, Daemon, Home, median, percentile
from bench.report import Row
from tests.daemon import stop_shared_daemons
from tests.lsp_client import LspClient

DELAY = 0.08  # the fake model's own time per completion (the 80 ms)
SUGGESTION = "return a + b"
MINIMAL_FIM = [sys.executable, "-m", "bench.minimal_fim_server"]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def fim_control(ctx: Any, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """``GET /__fim`` (what the fake recorded), or ``POST`` new settings (which also forgets the record)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", ctx.upstream.port)
    body = json.dumps(settings).encode() if settings is not None else b""
    method = "POST" if settings is not None else "GET"
    writer.write(f"{method} /__fim HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                 + body)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    data = json.loads(await reader.readexactly(length))
    writer.close()
    return data


class Editor:
    """One buffer in an editor: keystrokes become incremental changes, completions requests at the cursor."""

    def __init__(self, client: LspClient, uri: str, method: str = "textDocument/inlineCompletion") -> None:
        self.client = client
        self.uri = uri
        self.method = method  # tabby-agent 1.5.0 serves textDocument/completion
        self.version = 1
        self.line, self.column = 1, 4
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": "def add(a, b):\n    \n"}})

    def type(self, text: str) -> None:
        """``text`` typed at the cursor (one change; a newline starts an indented line)."""
        self.version += 1
        here = {"line": self.line, "character": self.column}
        self.client.notify("textDocument/didChange", {
            "textDocument": {"uri": self.uri, "version": self.version},
            "contentChanges": [{"range": {"start": here, "end": here}, "text": text}]})
        if "\n" in text:
            self.line += text.count("\n")
            self.column = len(text.rsplit("\n", 1)[1])
        else:
            self.column += len(text)

    def request(self) -> tuple[float, asyncio.Future]:
        """A completion request at the cursor: when it was written, and its future."""
        params = {"textDocument": {"uri": self.uri}, "position": {"line": self.line, "character": self.column},
                  "context": {"triggerKind": 2 if self.method == "textDocument/inlineCompletion" else 1}}
        sent = time.monotonic()
        _, future = self.client.send(self.method, params)
        return sent, future

    async def complete(self) -> tuple[float, list[dict[str, Any]]]:
        """Seconds from the request written to its reply read, and the items."""
        sent, future = self.request()
        result = await asyncio.wait_for(future, 30)
        return time.monotonic() - sent, (result or {}).get("items", [])


def completion_home(ctx: Any, name: str) -> dict[str, str]:
    """A private home whose config turns completion on, pointed at the bench upstream's FIM route."""
    home = Home(ctx.root, name)
    (home.home / "config.yaml").write_text(
        "completion:\n  provider: custom\n  model: qwen2.5-coder:1.5b-base\n"
        f"  base_url: {ctx.upstream.url}/v1\n", encoding="utf-8")
    return home.env(ctx.upstream.url)


async def _editor(argv_or_env: Any, shared: bool = True, baseline_env: dict[str, str] | None = None) -> LspClient:
    if baseline_env is not None:
        client = await LspClient.spawn(MINIMAL_FIM, baseline_env, cwd=str(REPO))
    else:
        client = (await Daemon.spawn(argv_or_env, shared=shared)).client
    await client.initialize()
    return client


def _text(item: dict[str, Any]) -> str:
    return item.get("insertText") or item.get("textEdit", {}).get("newText", "")


async def _overheads(ctx: Any, client: LspClient, uri: str, reps: int,
                     method: str = "textDocument/inlineCompletion") -> list[float]:
    """Per completion: reply time minus the upstream's own time (request received → answer written)."""
    editor = Editor(client, uri, method)
    for _ in range(3):  # warm: imports, the plan, the pooled connection
        editor.type("x")
        await editor.complete()
    await fim_control(ctx, {"delay": DELAY, "text": SUGGESTION})
    replies = []
    for _ in range(reps):
        editor.type("x")  # off the suggestion: a cache miss, one upstream request
        took, items = await editor.complete()
        assert items and _text(items[0]).endswith(SUGGESTION), items  # tabby's item replaces the typed word too
        replies.append(took)
    recorded = (await fim_control(ctx))["requests"]
    assert len(recorded) == reps, f"{len(recorded)} upstream requests for {reps} completions"
    return [took - (r["done"] - r["received"]) for took, r in zip(replies, recorded)]


async def i1(ctx: Any) -> list[Row]:
    """hermesd's overhead per completion through the shared daemon, beside a minimal pygls + httpx server."""
    reps, rounds = ctx.size(20, 3), ctx.size(3, 1)
    env = completion_home(ctx, "i1")
    base_env = {**Home(ctx.root, "i1-base").env(None), "BENCH_FIM_URL": f"{ctx.upstream.url}/v1"}
    ours: list[float] = []
    floor: list[float] = []
    try:
        daemon = await _editor(env)
        baseline = await _editor(None, baseline_env=base_env)
        try:
            for r in range(rounds):  # interleaved, so both see the machine's load alike
                ours += await _overheads(ctx, daemon, f"file:///bench/i1-{r}.py", reps)
                floor += await _overheads(ctx, baseline, f"file:///bench/i1-base-{r}.py", reps)
        finally:
            await daemon.close()
            await baseline.close()
    finally:
        await asyncio.to_thread(stop_shared_daemons, Path(env["HERMESD_RUNTIME_DIR"]))
    p50, p95 = median(ours), percentile(ours, 95)
    return [Row("I1", f"daemon overhead per completion through the shared daemon (reply − the {DELAY * 1000:.0f} ms "
                      "upstream's own time), p50 / p95",
                f"{_ms(p50)} / {_ms(p95)}",
                f"minimal pygls + httpx server {_ms(median(floor))} / {_ms(percentile(floor, 95))}",
                f"{(p50 - median(floor)) * 1000:+.1f} ms p50", "p50 ≤ 5 ms, p95 ≤ 15 ms",
                p50 <= 0.005 and p95 <= 0.015)]


async def _burst(ctx: Any, editor: Editor, keys: int, gap: float) -> tuple[int, list[float]]:
    """``keys`` keystrokes ``gap`` s apart, each with a completion request, then a pause: how many upstream
    requests, and for each superseded one the seconds from the superseding keystroke to its stream closed."""
    await fim_control(ctx, {"delay": DELAY, "text": SUGGESTION})
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent_at, futures = [], []
    for k in range(keys):
        await asyncio.sleep(max(0.0, start + k * gap - loop.time()))
        editor.type("qz"[k % 2])
        sent, future = editor.request()
        sent_at.append(sent)
        futures.append(future)
    await asyncio.wait_for(asyncio.gather(*futures), 30)
    await asyncio.sleep(0.3)  # the pause: anything still due reaches the upstream
    recorded = (await fim_control(ctx))["requests"]
    closes = []
    for r in recorded:
        if r["closed"] is not None:
            superseding = next(t for t in sent_at if t > r["received"])
            closes.append(r["closed"] - superseding)
    return len(recorded), closes


async def i2(ctx: Any) -> list[Row]:
    """A typing burst: 20 keystrokes 60 ms apart, then a pause."""
    bursts = ctx.size(5, 1)
    env = completion_home(ctx, "i2")
    counts, closes = [], []
    try:
        client = await _editor(env)
        try:
            editor = Editor(client, "file:///bench/i2.py")
            editor.type("x")
            await editor.complete()  # warm
            for _ in range(bursts):
                count, closed = await _burst(ctx, editor, 20, 0.06)
                counts.append(count)
                closes += closed
                editor.type("\n    ")
        finally:
            await client.close()
    finally:
        await asyncio.to_thread(stop_shared_daemons, Path(env["HERMESD_RUNTIME_DIR"]))
    worst = max(closes) if closes else 0.0
    return [Row("I2", f"typing burst (20 keystrokes 60 ms apart, then a pause; {DELAY * 1000:.0f} ms upstream): "
                      f"upstream requests per burst, worst of {bursts}", str(max(counts)),
                f"{len(counts) * 20} keystrokes", f"{sum(counts)} requests in all", "≤ 2", max(counts) <= 2),
            Row("I2", "a superseded upstream stream closed after the superseding keystroke, worst",
                _ms(worst), f"{len(closes)} superseded", f"median {_ms(median(closes))}" if closes else "-",
                "≤ 50 ms", worst <= 0.05)]


async def _cache_hits(ctx: Any, env: dict[str, str], cycles: int, shared: bool) -> tuple[list[float], int]:
    """Reply times of requests answered from the cache, and the upstream requests they caused."""
    hits: list[float] = []
    extra_requests = 0
    try:
        client = await _editor(env, shared=shared)
        try:
            editor = Editor(client, "file:///bench/i3.py")
            await fim_control(ctx, {"delay": DELAY, "text": SUGGESTION})
            for _ in range(cycles):
                editor.type("\n    ")
                _, items = await editor.complete()
                assert items and items[0]["insertText"] == SUGGESTION, items
                before = len((await fim_control(ctx))["requests"])
                for i, char in enumerate(SUGGESTION[:4]):
                    editor.type(char)
                    took, items = await editor.complete()
                    assert items and items[0]["insertText"] == SUGGESTION[i + 1:], items
                    hits.append(took)
                extra_requests += len((await fim_control(ctx))["requests"]) - before
        finally:
            await client.close()
    finally:
        await asyncio.to_thread(stop_shared_daemons, Path(env["HERMESD_RUNTIME_DIR"]))
    return hits, extra_requests


async def i3(ctx: Any) -> list[Row]:
    """Typing the first characters of the current suggestion: answered from the cache."""
    cycles = ctx.size(20, 2)
    hits, extra = await _cache_hits(ctx, completion_home(ctx, "i3"), cycles, shared=True)
    alone, _ = await _cache_hits(ctx, completion_home(ctx, "i3-alone"), cycles, shared=False)
    p95 = percentile(hits, 95)
    return [Row("I3", f"cache hit (typing the suggestion's first characters) through the shared daemon, p95 of "
                      f"{len(hits)}; upstream requests",
                f"{_ms(p95)}; {extra} requests", f"p50 {_ms(median(hits))}",
                f"`--no-shared` (no forwarder hop): p50 {_ms(median(alone))}, p95 {_ms(percentile(alone, 95))}",
                "p95 ≤ 5 ms, 0 requests", p95 <= 0.005 and extra == 0)]


TABBY_VERSION = "1.5.0"


def tabby_cli() -> Path:
    from bench.oneshot import cache_dir

    return cache_dir() / "tabby-agent" / "node_modules" / "tabby-agent" / "dist" / "cli.js"


def install_tabby() -> Path | None:
    """tabby-agent from npm into the bench cache (a baseline only, never the project's); None when that fails."""
    import shutil
    import subprocess

    cli = tabby_cli()
    if cli.is_file():
        return cli
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None
    folder = cli.parents[3]
    folder.mkdir(parents=True, exist_ok=True)
    print(f"installing tabby-agent {TABBY_VERSION} into {folder} (bench baseline only) ...", file=sys.stderr, flush=True)
    try:
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder), f"tabby-agent@{TABBY_VERSION}"],
                       check=True, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"could not install tabby-agent ({exc}); I4 is skipped", file=sys.stderr)
        return None
    return cli if cli.is_file() else None


async def _tabby(ctx: Any, cli: Path, name: str) -> LspClient:
    """tabby-agent over stdio, its adaptive debounce set to 0 (``fixed``, 0 ms), pointed at the bench upstream."""
    home = ctx.root / name
    config = home / ".tabby-client" / "agent"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        f'[server]\nendpoint = "{ctx.upstream.url}"\ntoken = "bench"\n\n'
        '[completion.debounce]\nmode = "fixed"\ninterval = 0\n\n[anonymousUsageTracking]\ndisable = true\n',
        encoding="utf-8")
    import os

    client = await LspClient.spawn(["node", str(cli), "--lsp", "--stdio"], {"HOME": str(home), "PATH": os.environ["PATH"]})
    await client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {},
                                        "clientInfo": {"name": "bench"}})
    client.notify("initialized", {})
    return client


async def i4(ctx: Any) -> list[Row]:
    """hermesd beside tabby-agent 1.5.0 (debounce 0) on the same scripts: overhead per completion, a burst."""
    cli = tabby_cli() if ctx.quick else install_tabby()
    if cli is None or not cli.is_file():
        return [Row("I4", "beside tabby-agent 1.5.0", "-", "tabby-agent not installed (`--quick` never installs)",
                    "-", "-", None)]
    reps, rounds, bursts = ctx.size(20, 3), ctx.size(3, 1), ctx.size(3, 1)
    env = completion_home(ctx, "i4")
    ours: list[float] = []
    theirs: list[float] = []
    our_counts: list[int] = []
    their_counts: list[int] = []
    try:
        daemon = await _editor(env)
        tabby = await _tabby(ctx, cli, "i4-tabby")
        try:
            for r in range(rounds):
                ours += await _overheads(ctx, daemon, f"file:///bench/i4-{r}.py", reps)
                theirs += await _overheads(ctx, tabby, f"file:///bench/i4-tabby-{r}.py", reps, "textDocument/completion")
            for b in range(bursts):
                editor = Editor(daemon, f"file:///bench/i4-burst-{b}.py")
                our_counts.append((await _burst(ctx, editor, 20, 0.06))[0])
                editor = Editor(tabby, f"file:///bench/i4-tabby-burst-{b}.py", "textDocument/completion")
                their_counts.append((await _burst(ctx, editor, 20, 0.06))[0])
        finally:
            await daemon.close()
            await tabby.close()
    finally:
        await asyncio.to_thread(stop_shared_daemons, Path(env["HERMESD_RUNTIME_DIR"]))
    p50, p95, t50, t95 = median(ours), percentile(ours, 95), median(theirs), percentile(theirs, 95)
    return [Row("I4", "overhead per completion beside tabby-agent 1.5.0 (debounce 0, `textDocument/completion`), "
                      "same script and upstream, p50 / p95",
                f"{_ms(p50)} / {_ms(p95)}", f"tabby-agent {_ms(t50)} / {_ms(t95)}", f"{p50 / t50:.2f}× p50",
                "no worse than tabby-agent", p50 <= t50 and p95 <= t95),
            Row("I4", "upstream requests per 20-keystroke burst (60 ms apart), worst", str(max(our_counts)),
                f"tabby-agent {max(their_counts)}", "-", "no more than tabby-agent",
                max(our_counts) <= max(their_counts))]


CASES = {"I1": i1, "I2": i2, "I3": i3, "I4": i4}
