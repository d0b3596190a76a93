"""The benchmarks B1..B8 of issue 7 and C2 of issue 19, each beside its baseline in the same run.

Each case is ``async def bN(ctx) -> list[Row]``. Counts come from ``ctx.size``
so ``--quick`` runs every code path with tiny numbers. Loops are bounded and
every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from bench import acp, completion, shared
from bench.harness import KEY, PROVIDER, REPO, Daemon, Home, Upstream, clean_environ, median, model, percentile
from bench.lsp import cpu_seconds, rss_mb, threads_cpu_seconds
from bench.oneshot import BARE_CLIENT, LLM_MODEL_ID, LLM_VERSION, child_cpu, find_llm, import_breakdown, install_llm, llm_home
from bench.report import Row
from bench.upstream import chunk_text
from tests.lsp_client import LspClient

WARM_ENV = "HERMESD_WARMUP"  # "early": warm imports before reading stdin (see hermesd/serve/server.py)


@dataclass
class Ctx:
    """Shared state of one run."""

    root: Path
    upstream: Upstream
    quick: bool
    sections: dict[str, str] = field(default_factory=dict)  # case id -> Markdown for the report

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _sign_ms(seconds: float) -> str:
    return f"{seconds * 1000:+.1f} ms"


async def _started_daemon(ctx: Ctx, name: str, extra: dict[str, str] | None = None, checkout: Path = REPO) -> Daemon:
    """A daemon (``checkout``'s code) past initialize whose first chat is done (imports and plugins warm)."""
    daemon = await Daemon.spawn(Home(ctx.root, name).env(ctx.upstream.url, extra, checkout), checkout=checkout)
    await daemon.client.initialize()
    session = await daemon.new_session("warm")
    _, done = daemon.chat({"sessionId": session, "message": "warm up"})
    await asyncio.wait_for(done, 60)
    return daemon


async def _sdk_ttft(client: Any, scenario: str) -> float:
    """Direct openai SDK streaming: create() to first content chunk; drains the rest."""
    started = time.monotonic()
    first = None
    stream = await client.chat.completions.create(
        model=scenario, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.monotonic()
    assert first is not None, "the SDK saw no content"
    return first - started


def _sdk_client(ctx: Ctx) -> Any:
    import openai

    return openai.AsyncOpenAI(base_url=ctx.upstream.url + "/v1", api_key=KEY, max_retries=0)


# -- B1 ------------------------------------------------------------------------


async def _spawn_to_initialize(ctx: Ctx, argv: list[str], name: str, extra: dict[str, str] | None = None) -> float:
    client = await LspClient.spawn(argv, Home(ctx.root, name).env(None, extra), cwd=str(REPO))
    try:
        await client.request(
            "initialize", {"processId": None, "rootUri": None, "capabilities": {}}, timeout=60
        )
        took = time.monotonic() - client.spawned_at
        client.notify("initialized", {})
    finally:
        await client.close()
    return took


async def b1(ctx: Ctx) -> list[Row]:
    """Spawn to ``initialize`` reply, beside a minimal pygls server."""
    reps = ctx.size(9, 1)
    hermesd = [sys.executable, "-m", "hermesd", "--stdio", "--no-shared"]  # the shared daemon's cold start: C1
    minimal = [sys.executable, "-m", "bench.minimal_server"]
    times: dict[str, list[float]] = {"hermesd": [], "early": [], "minimal": []}
    for i in range(reps):
        order = [("minimal", minimal, None), ("hermesd", hermesd, None), ("early", hermesd, {WARM_ENV: "early"})]
        for kind, argv, extra in order[i % 3:] + order[:i % 3]:  # rotate, so drift hits all alike
            times[kind].append(await _spawn_to_initialize(ctx, argv, f"b1-{kind}-{i}", extra))
    base = median(times["minimal"])
    rows = []
    for kind, label in (("hermesd", "spawn → initialize reply"), ("early", "same, warm-up started before stdin (HERMESD_WARMUP=early)")):
        ratio = median(times[kind]) / base
        rows.append(Row("B1", label, _ms(median(times[kind])), f"minimal pygls server {_ms(base)}",
                        f"{ratio:.2f}×", "≤ 1.15×", ratio <= 1.15 if kind == "hermesd" else None))
    return rows


# -- B2 ------------------------------------------------------------------------


async def _first_chat_ttft(ctx: Ctx, name: str, extra: dict[str, str] | None, idle: float = 0.0) -> float:
    daemon = await Daemon.spawn(Home(ctx.root, name).env(ctx.upstream.url, extra))
    try:
        await daemon.client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, timeout=60)
        daemon.client.notify("initialized", {})
        await asyncio.sleep(idle)
        stream, done = daemon.chat({"provider": PROVIDER, "model": model(name), "message": "hi"})
        result = await asyncio.wait_for(done, 60)
        assert result["stopReason"] == "end_turn", result
        return stream.times[0] - stream.sent_at
    finally:
        await daemon.close()


async def b2(ctx: Ctx) -> list[Row]:
    """First chat right after ``initialized``, beside the SDK already imported."""
    reps, idle = ctx.size(5, 1), ctx.size(3.0, 0.5)
    times: dict[str, list[float]] = {"hermesd": [], "early": [], "idle": [], "sdk": []}
    for i in range(reps):
        times["hermesd"].append(await _first_chat_ttft(ctx, f"b2-h-{i}", None))
        times["early"].append(await _first_chat_ttft(ctx, f"b2-e-{i}", {WARM_ENV: "early"}))
        times["idle"].append(await _first_chat_ttft(ctx, f"b2-i-{i}", None, idle=idle))
        client = _sdk_client(ctx)  # a fresh client: a new connection, like the daemon's first chat
        times["sdk"].append(await _sdk_ttft(client, model(f"b2-s-{i}")))
        await client.close()
    imports = [await _import_cost(ctx, "httpx, httpx_sse") for _ in range(reps)]
    base = median(times["sdk"])
    rows = []
    for kind, label in (("hermesd", "first chat TTFT right after initialized"), ("early", "same, HERMESD_WARMUP=early"),
                        ("idle", f"first chat TTFT {idle:g} s after initialized (warm-up done)")):
        diff = median(times[kind]) - base
        rows.append(Row("B2", label, _ms(median(times[kind])), f"openai SDK, imported, new client {_ms(base)}",
                        _sign_ms(diff), "≤ +50 ms", diff <= 0.050 if kind == "hermesd" else None))
    rows.append(Row("B2", "cause: `import httpx, httpx_sse` in a fresh process (what the chat transport needs)",
                    _ms(median(imports)), "-", "-", "-", None))
    return rows


async def _import_cost(ctx: Ctx, module: str) -> float:
    """Seconds to import ``module`` in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE,
                                                cwd=str(REPO), env=Home(ctx.root, "imports").env(None))
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return float(out)


# -- B3 ------------------------------------------------------------------------


_CONFIG = "model:\n  provider: deepseek\n  default: deepseek-chat\nopenrouter:\n  min_coding_score: 0.7\n"


async def _b3_run(ctx: Ctx, name: str, reps: int, config: bool) -> tuple[list[float], list[float]]:
    if config:
        (Home(ctx.root, name).home / "config.yaml").write_text(_CONFIG, encoding="utf-8")
    daemon = await _started_daemon(ctx, name)
    client = _sdk_client(ctx)
    await _sdk_ttft(client, model(f"{name}-warm"))
    ours, sdk = [], []
    try:
        for i in range(reps):
            session = await daemon.new_session(f"{name}-{i}")
            stream, done = daemon.chat({"sessionId": session, "message": "hi"})
            await asyncio.wait_for(done, 30)
            ours.append(stream.times[0] - stream.sent_at)
            sdk.append(await _sdk_ttft(client, model(f"{name}-s-{i}")))
    finally:
        await client.close()
        await daemon.close()
    return ours, sdk


async def b3(ctx: Ctx) -> list[Row]:
    """Steady-state time to first token, interleaved with the SDK's own."""
    reps = ctx.size(40, 3)
    rows = []
    for name, config, label in (("b3", False, "steady-state TTFT (median)"),
                                ("b3-config", True, "same, with a 5-line config.yaml (parsed at every chat)")):
        ours, sdk = await _b3_run(ctx, name, reps, config)
        diff = median(ours) - median(sdk)
        rows.append(Row("B3", label, _ms(median(ours)), f"openai SDK, warm client {_ms(median(sdk))}",
                        _sign_ms(diff), "≤ +3 ms", diff <= 0.003 if not config else None))
    return rows


# -- B4 ------------------------------------------------------------------------


def _expected(n: int) -> str:
    return "".join(chunk_text(i) for i in range(n))


async def _paced_chat(ctx: Ctx, daemon: Daemon, tag: str, n: int, rate: float, pause: float = 0.0) -> dict[str, Any]:
    """One hermes/chat of ``n`` chunks sent at ``rate``/s; optionally the editor stops reading for ``pause`` s."""
    session = (await daemon.client.request(
        "hermes/newSession", {"provider": PROVIDER, "model": model(tag, n, rate)}))["sessionId"]
    cpu_before = cpu_seconds(daemon.client.pid())
    stream, done = daemon.chat({"sessionId": session, "message": "hi"})
    resumed = 0.0
    if pause:
        deadline = time.monotonic() + 30
        while not stream.times and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        daemon.client.pause_reading()
        await asyncio.sleep(pause)
        resumed = time.monotonic()
        daemon.client.resume_reading()
    result = await asyncio.wait_for(done, 300)
    finished = time.monotonic()
    cpu = cpu_seconds(daemon.client.pid()) - cpu_before
    stat = await ctx.upstream.stats(tag)
    chunks = stream.text.count(";")
    return {
        "ok": stream.gapless() and stream.text == _expected(n) == result["text"] and chunks == n,
        "editor_rate": (n - 1) / max(stream.times[-1] - stream.times[0], 1e-9),
        "upstream_rate": (n - 1) / max(stat["last"] - stat["first"], 1e-9),
        "messages": len(stream.seqs),
        "after_resume": finished - resumed,
        "upstream_done_before_resume": stat["last"] < resumed,
        "cpu_per_chunk": cpu / n,
    }


async def _sdk_rate(ctx: Ctx, tag: str, n: int, rate: float) -> float:
    client = _sdk_client(ctx)
    times = []
    try:
        stream = await client.chat.completions.create(
            model=model(tag, n, rate), messages=[{"role": "user", "content": "hi"}], stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                times.append(time.monotonic())
    finally:
        await client.close()
    return (len(times) - 1) / max(times[-1] - times[0], 1e-9)


async def b4(ctx: Ctx) -> list[Row]:
    """Chunks/s upstream → editor at a paced 25,000/s; lossless and in order; then a lagging editor."""
    n, rate, reps = ctx.size(20_000, 400), 25_000.0, ctx.size(2, 1)
    daemon = await _started_daemon(ctx, "b4")
    runs, sdk = [], []
    try:
        for i in range(reps):
            runs.append(await _paced_chat(ctx, daemon, f"b4-{i}", n, rate))
        sdk.append(await _sdk_rate(ctx, "b4-sdk", n, rate))
        # A lagging editor: it stops reading for longer than the upstream takes to send
        # everything. A daemon that kept reading has the whole reply when the editor resumes.
        slow_n, slow_rate, pause = ctx.size(2_000, 200), ctx.size(2_000, 1_000), ctx.size(1.5, 0.3)
        slow = await _paced_chat(ctx, daemon, "b4-slow", slow_n, slow_rate, pause=pause)
    finally:
        await daemon.close()
    editor, upstream = median([r["editor_rate"] for r in runs]), median([r["upstream_rate"] for r in runs])
    ok = all(r["ok"] for r in runs)
    return [
        Row("B4", f"chunks/s upstream → editor ({n:,} chunks, no loss, in order: {'yes' if ok else 'NO'}; "
            f"daemon CPU {median([r['cpu_per_chunk'] for r in runs]) * 1e6:.0f} µs/chunk)",
            f"{editor:,.0f}/s", f"upstream send rate {upstream:,.0f}/s", f"{editor / upstream:.2f}×",
            "≥ 20,000/s, no loss, in order", ok and editor >= 20_000),
        Row("B4", "reference: the openai SDK alone reading the same stream", f"{median(sdk):,.0f}/s",
            f"upstream send rate {upstream:,.0f}/s", f"{median(sdk) / upstream:.2f}×", "-", None),
        Row("B4", f"lagging editor: stops reading {pause:g} s while {slow_n:,} chunks stream at {slow_rate:,}/s",
            f"reply complete {_ms(slow['after_resume'])} after the editor resumed; "
            f"{slow_n:,} chunks in {slow['messages']:,} deltas; lossless: {'yes' if slow['ok'] else 'NO'}",
            "-", "-", "upstream never stalled; no loss", slow["ok"] and slow["after_resume"] < 0.25),
    ]


# -- B5 ------------------------------------------------------------------------


_PLUGIN = '''"""Generated benchmark plugin {i}."""
from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="bench-{i:03d}",
        aliases=("bench-alias-{i:03d}",),
        display_name="Bench {i}",
        env_vars=("BENCH_{i:03d}_API_KEY",),
        base_url="https://bench-{i:03d}.invalid/v1",
        auth_type="api_key",
        fallback_models=("bench-model-a", "bench-model-b"),
    )
)
'''

_MANIFEST = "name: bench-{i:03d}\nkind: model-provider\nversion: 1.0.0\ndescription: generated for the benchmark\n"

_DISCOVERY_SCRIPT = textwrap.dedent('''
    import json, sys, time
    import hermesd.serve.server, hermesd.engine.listing, httpx  # what the daemon has loaded when it discovers
    import providers
    t = time.perf_counter(); providers.list_providers(); cold = time.perf_counter() - t
    checks = []
    for _ in range({checks}):
        t = time.perf_counter(); changed = providers.plugins_changed(); checks.append(time.perf_counter() - t)
        assert not changed
    t = time.perf_counter(); hermesd.engine.listing.providers_result(); listing = time.perf_counter() - t
    print(json.dumps({{"cold": cold, "checks": checks, "listing": listing, "count": len(providers.list_providers())}}))
''')


def _generate_plugins(home: Path, count: int) -> None:
    """``count`` user plugins, dated an hour ago like plugins installed before today's session."""
    root = home / "plugins" / "model-providers"
    paths = []
    for i in range(count):
        d = root / f"bench-{i:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "__init__.py").write_text(_PLUGIN.format(i=i), encoding="utf-8")
        (d / "plugin.yaml").write_text(_MANIFEST.format(i=i), encoding="utf-8")
        paths += [d / "__init__.py", d / "plugin.yaml", d]
    then = time.time() - 3600
    for path in paths + [root, root.parent]:
        os.utime(path, (then, then))


async def _discovery_once(env: dict[str, str], checks: int) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _DISCOVERY_SCRIPT.format(checks=checks), env=env, cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    if proc.returncode != 0:
        raise RuntimeError("discovery script failed")
    return json.loads(out)


async def b5(ctx: Ctx) -> list[Row]:
    """Discovery of 33 bundled + 500 user plugins: cold, warm listProviders, change check."""
    count, reps, warm_reps = ctx.size(500, 20), ctx.size(3, 1), ctx.size(30, 3)
    home = Home(ctx.root, "b5")
    _generate_plugins(home.home, count)
    bare = Home(ctx.root, "b5-bare")
    cold, bundled_only, checks = [], [], []
    for _ in range(reps):
        run = await _discovery_once(home.env(ctx.upstream.url), 20)
        assert run["count"] >= count + 33, run["count"]
        cold.append(run["cold"])
        checks.extend(run["checks"])
        bundled_only.append((await _discovery_once(bare.env(ctx.upstream.url), 1))["cold"])
    daemon = await _started_daemon(ctx, "b5")  # same home: the 500 plugins are there
    warm, session_rtts = [], []
    try:
        first = await daemon.client.request("hermes/listProviders")
        assert len(first["providers"]) >= count + 33
        for _ in range(warm_reps):
            t = time.monotonic()
            await daemon.client.request("hermes/listProviders")
            warm.append(time.monotonic() - t)
        for _ in range(warm_reps // 3 + 1):
            t = time.monotonic()
            await daemon.client.request("hermes/newSession", {"provider": PROVIDER, "model": "m"})
            session_rtts.append(time.monotonic() - t)
    finally:
        await daemon.close()
    session_rtt = median(session_rtts)
    total = count + 33
    return [
        Row("B5", f"cold discovery, {total} plugins (first list_providers in a fresh process)", _ms(median(cold)),
            f"33 bundled only {_ms(median(bundled_only))}", _sign_ms(median(cold) - median(bundled_only)),
            "≤ 300 ms", median(cold) <= 0.300),
        Row("B5", f"warm hermes/listProviders round trip, {total} providers", _ms(median(warm)), "-", "-",
            "≤ 5 ms", median(warm) <= 0.005),
        Row("B5", f"change check at session start (plugins_changed), {total} plugins",
            _ms(median(checks)), f"hermes/newSession round trip {_ms(session_rtt)}", "-", "≤ 10 ms",
            median(checks) <= 0.010),
    ]


# -- B6 ------------------------------------------------------------------------


def _latencies(stream: Any) -> list[float]:
    """Per chunk: editor receive time minus upstream send time (stamped in the text)."""
    out = []
    for when, text in zip(stream.times, stream.texts):
        for piece in text.split(";"):
            if "@" in piece:
                out.append(when - float(piece.split("@", 1)[1]))
    return out


async def _sessions(daemon: Daemon, tag: str, streams: int, n: int, rate: float) -> list[str]:
    """One session per stream, each pinned to a stamped, paced scenario."""
    sessions = await asyncio.gather(*(
        daemon.client.request("hermes/newSession", {"provider": PROVIDER, "model": model(f"{tag}-{k}", n, rate, stamp=1)})
        for k in range(streams)))
    return [s["sessionId"] for s in sessions]


async def _concurrent(ctx: Ctx, daemon: Daemon, tag: str, streams: int, n: int, rate: float,
                      sessions: list[str] | None = None) -> list[list[float]]:
    """All streams at once on one connection; per stream, each chunk's delay upstream → editor."""
    sessions = sessions or await _sessions(daemon, tag, streams, n, rate)
    started = [daemon.chat({"sessionId": s, "message": "hi"}) for s in sessions]
    results = await asyncio.wait_for(asyncio.gather(*(done for _, done in started)), 120)
    assert all(r["stopReason"] == "end_turn" for r in results), [r.get("error") for r in results]
    out = []
    for stream, _ in started:
        lat = _latencies(stream)
        assert len(lat) == n and stream.gapless(), (len(lat), n)
        out.append(lat)
    return out


B6_STREAMS, B6_CHUNKS, B6_RATE, B6_ROUNDS = (100, 5), (50, 5), 50.0, (3, 1)  # (full, quick)
B6_SHORT = 5  # chunks a reply in B6's short-reply row


async def _b6_run(ctx: Ctx, name: str, extra: dict[str, str] | None,
                  between: Callable[[], Awaitable[None]] | None = None, n: int | None = None) -> dict[str, Any]:
    """``between``, when given, runs after each round (B6 interleaves its httpx baseline's rounds);
    ``n``: chunks a stream (B6's 50 unless given)."""
    streams, rate, reps = ctx.size(*B6_STREAMS), B6_RATE, ctx.size(*B6_ROUNDS)
    n = n or ctx.size(*B6_CHUNKS)
    daemon = await _started_daemon(ctx, name, extra)
    alone: list[float] = []
    together: list[list[float]] = []
    cpu, wall = 0.0, 0.0
    try:
        for i in range(reps):
            alone.extend((await _concurrent(ctx, daemon, f"{name}-a{i}", 1, n, rate))[0])
            sessions = await _sessions(daemon, f"{name}-c{i}", streams, n, rate)
            before, started = cpu_seconds(daemon.client.pid()), time.monotonic()
            together.extend(await _concurrent(ctx, daemon, f"{name}-c{i}", streams, n, rate, sessions))
            cpu += cpu_seconds(daemon.client.pid()) - before
            wall += time.monotonic() - started
            if between is not None:
                await between()
    finally:
        await daemon.close()
    every = [x for lat in together for x in lat]
    return {
        "streams": streams, "n": n, "rate": rate,
        "alone": percentile(alone, 99), "all": percentile(every, 99),
        "worst": max(percentile(lat, 99) for lat in together),
        "starving": sum(1 for lat in together if len(lat) < n or max(lat) > 1.0),
        "cpu_per_chunk": cpu / max(1, len(every)), "cpu_per_chat": cpu / max(1, reps * streams),
        "busy": cpu / max(wall, 1e-9),
        "aggregate": len(every) / max(wall, 1e-9),
    }


async def _sdk_stream_latencies(client: Any, scenario: str) -> list[float]:
    out = []
    stream = await client.chat.completions.create(model=scenario, messages=[{"role": "user", "content": "hi"}], stream=True)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            now = time.monotonic()
            out.extend(now - float(p.split("@", 1)[1]) for p in chunk.choices[0].delta.content.split(";") if "@" in p)
    return out


async def _b6_sdk(ctx: Ctx) -> dict[str, Any]:
    """The same load read directly by the openai SDK in this process: what the machine allows without hermesd."""
    streams, n, rate = ctx.size(100, 5), ctx.size(50, 5), 50.0
    import httpx
    import openai

    client = openai.AsyncOpenAI(base_url=ctx.upstream.url + "/v1", api_key=KEY, max_retries=0,
                                http_client=openai.DefaultAsyncHttpxClient(limits=httpx.Limits(max_connections=streams * 2)))
    try:
        lat = await asyncio.gather(*(_sdk_stream_latencies(client, model(f"b6-sdk-{k}", n, rate, stamp=1))
                                     for k in range(streams)))
    finally:
        await client.close()
    return {"all": percentile([x for one in lat for x in one], 99)}


async def b6(ctx: Ctx) -> list[Row]:
    """100 concurrent streams on one connection vs one stream alone."""
    baseline = await shared.HttpxBaseline.start(ctx, ctx.size(*B6_STREAMS), ctx.size(*B6_CHUNKS), B6_RATE,
                                                ctx.size(*B6_ROUNDS))
    try:
        r = await _b6_run(ctx, "b6", None, between=baseline.round)  # a baseline round after each of ours
        plain = await baseline.result()
    finally:
        baseline.close()
    # Short replies: what a chat costs beyond its chunks (per-chat work), beside the plain reader's.
    short_baseline = await shared.HttpxBaseline.start(ctx, ctx.size(*B6_STREAMS), B6_SHORT, B6_RATE,
                                                      ctx.size(*B6_ROUNDS))
    try:
        short = await _b6_run(ctx, "b6s", None, between=short_baseline.round, n=B6_SHORT)
        short_plain = await short_baseline.result()
    finally:
        short_baseline.close()
    sdk = await _b6_sdk(ctx)
    added = r["all"] - r["alone"]
    return [
        Row("B6", f"{r['streams']} concurrent streams × {r['n']} chunks at {r['rate']:g}/s: p99 delay "
            f"upstream → editor (worst stream p99 {_ms(r['worst'])}; streams starved: {r['starving']}; "
            f"{r['aggregate']:,.0f} chunks/s in all; daemon CPU {r['cpu_per_chunk'] * 1e6:.0f} µs/chunk, "
            f"{r['busy']:.0%} of a core)",
            _ms(r["all"]), f"one stream alone {_ms(r['alone'])}", _sign_ms(added), "≤ +20 ms p99; none starves",
            added <= 0.020 and r["starving"] == 0),
        Row("B6", f"reference: the same {r['streams']} streams read directly by the openai SDK in the "
            "benchmark process (no hermesd)", _ms(sdk["all"]), f"one stream alone via hermesd {_ms(r['alone'])}",
            _sign_ms(sdk["all"] - r["alone"]), "-", None),
        *shared.b6_rows(r, plain),
        shared.b6_short_row(short, short_plain),
    ]


# -- B7 ------------------------------------------------------------------------


async def b7(ctx: Ctx) -> list[Row]:
    """Resident memory after initialize, and its growth over 1,000 chats."""
    chats, parallel = ctx.size(1000, 20), 4
    daemon = await Daemon.spawn(Home(ctx.root, "b7").env(ctx.upstream.url))
    try:
        await daemon.client.initialize()
        after_init = rss_mb(daemon.client.pid())
        _, done = daemon.chat({"provider": PROVIDER, "model": model("b7-0"), "message": "hi"})
        await asyncio.wait_for(done, 60)
        await asyncio.sleep(0.2)
        warm = rss_mb(daemon.client.pid())
        gate = asyncio.Semaphore(parallel)

        async def one(i: int) -> None:
            async with gate:
                _, fut = daemon.chat({"provider": PROVIDER, "model": model(f"b7-{i}"), "message": f"chat {i}"})
                result = await asyncio.wait_for(fut, 60)
                assert result["stopReason"] == "end_turn", result

        await asyncio.gather(*(one(i) for i in range(1, chats + 1)))
        daemon.streams.clear()
        after = rss_mb(daemon.client.pid())
    finally:
        await daemon.close()
    growth = after - warm
    return [
        Row("B7", "resident memory right after initialize", f"{after_init:.1f} MB", "-", "-", "≤ 90 MB", after_init <= 90),
        Row("B7", "resident memory once warm (HTTP stack imported, plugins loaded, one chat done)",
            f"{warm:.1f} MB", "-", "-", "≤ 90 MB", warm <= 90),
        Row("B7", f"growth over {chats:,} chats (new session each)", f"{growth:+.1f} MB",
            f"warm {warm:.1f} MB", f"{after:.1f} MB after", "≤ +20 MB", growth <= 20),
        *await shared.b7_shared(ctx),
    ]


# -- B8 ------------------------------------------------------------------------


async def b8(ctx: Ctx) -> list[Row]:
    """hermes/cancel to the upstream seeing its connection closed."""
    reps = ctx.size(10, 2)
    daemon = await _started_daemon(ctx, "b8")
    closes, replies = [], []
    try:
        for i in range(reps):
            tag = f"b8-{i}"
            session = (await daemon.client.request(
                "hermes/newSession", {"provider": PROVIDER, "model": model(tag, 100_000, 200)}))["sessionId"]
            stream, done = daemon.chat({"sessionId": session, "message": "hi"})
            deadline = time.monotonic() + 30
            while len(stream.times) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            t0 = time.monotonic()
            await daemon.client.request("hermes/cancel", {"sessionId": session})
            result = await asyncio.wait_for(done, 30)
            replies.append(time.monotonic() - t0)
            assert result["stopReason"] == "cancelled", result
            stat = await ctx.upstream.wait_stats(tag, "closed")
            assert stat.get("closed"), stat
            closes.append(stat["closed"] - t0)
    finally:
        await daemon.close()
    return [Row("B8", "hermes/cancel → upstream sees its connection closed",
                _ms(median(closes)), f"chat result back {_ms(median(replies))}", "-", "≤ 50 ms",
                median(closes) <= 0.050)]


# -- B9 ------------------------------------------------------------------------


def _write_sessions(sessions_dir: Path, count: int, *, usage: bool = False) -> None:
    """``count`` saved conversations as the daemon writes them: a meta record and six messages each
    (``usage``: each reply with its tokens and cost, as replies since issue 34 are saved)."""
    sessions_dir.mkdir(parents=True, exist_ok=True)
    base = time.time() - count
    for i in range(count):
        sid, at = f"s-bench{i:08x}", base + i
        records = [{"type": "meta", "id": sid, "provider": PROVIDER, "model": "deepseek-chat", "system": "",
                    "parent_id": None, "settings": {}, "created_at": at, "at": at}]
        for turn in range(3):
            records.append({"type": "message", "role": "user", "content": f"question {turn} of conversation {i}: "
                            + "how do I make this function faster? " * 4, "at": at})
            records.append({"type": "message", "role": "assistant", "content": "Use a cache. " * 30,
                            "model": "deepseek-chat", "stopReason": "end_turn", "at": at})
            if usage:
                records[-1]["usage"] = {"inputTokens": 120 + turn, "outputTokens": 90, "costUsd": 0.0004,
                                        "costSource": "estimated", "priceSource": "deepseek /models of 2026-12-06"}
        (sessions_dir / f"{sid}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


async def _first_page(ctx: Ctx, name: str, count: int, reps: int) -> tuple[float, float, float]:
    """Median time of a fresh daemon's first listSessions page, its RSS after it, and the index build time."""
    home = Home(ctx.root, name)
    env = home.env(ctx.upstream.url)
    _write_sessions(Path(env["HERMESD_DATA_DIR"]) / "sessions", count)
    build = 0.0
    times, rss = [], []
    for rep in range(reps + 1):
        daemon = await Daemon.spawn(env)
        try:
            await daemon.client.initialize()
            t0 = time.monotonic()
            page = await daemon.client.request("hermes/listSessions", {"limit": 50})
            took = time.monotonic() - t0
            assert len(page["sessions"]) == min(50, count), len(page["sessions"])
            if rep == 0:
                build = took  # this daemon found transcripts but no index (an upgrade): it built one
            else:
                times.append(took)
                rss.append(rss_mb(daemon.client.pid()))
        finally:
            await daemon.close()
    return median(times), median(rss), build


async def b9(ctx: Ctx) -> list[Row]:
    """Session history: a fresh daemon's first listSessions page, and its memory, at 100 and 10,000 sessions."""
    big, small, reps = ctx.size(10_000, 300), 100, ctx.size(5, 1)
    t_small, rss_small, _ = await _first_page(ctx, "b9-small", small, reps)
    t_big, rss_big, build = await _first_page(ctx, "b9-big", big, reps)
    t_none, rss_none, _ = await _first_page(ctx, "b9-none", 0, reps)
    time_ratio, rss_ratio = t_big / t_small, rss_big / rss_none
    return [
        Row("B9", f"fresh daemon's first listSessions page (50 rows), {big:,} saved sessions",
            _ms(t_big), f"{small} sessions {_ms(t_small)}", f"{time_ratio:.2f}×", "≤ 1.5×", time_ratio <= 1.5),
        Row("B9", f"resident memory after that listing, {big:,} saved sessions", f"{rss_big:.1f} MB",
            f"no history {rss_none:.1f} MB", f"{rss_ratio:.3f}×", "≤ 1.1×", rss_ratio <= 1.1),
        Row("B9", f"first listing after an upgrade: index built from {big:,} transcripts (once)", _ms(build),
            "-", "-", "-", None),
    ]


# -- B11 -----------------------------------------------------------------------


async def _usage_report(ctx: Ctx, name: str, count: int, reps: int) -> float:
    """Median time of ``hermes/usageReport {by: model, since: 30d}`` on a fresh daemon whose index is built."""
    home = Home(ctx.root, name)
    env = home.env(ctx.upstream.url)
    _write_sessions(Path(env["HERMESD_DATA_DIR"]) / "sessions", count, usage=True)
    times = []
    for rep in range(reps + 1):
        daemon = await Daemon.spawn(env)
        try:
            await daemon.client.initialize()
            t0 = time.monotonic()
            report = await daemon.client.request("hermes/usageReport", {"by": "model", "since": "30d"})
            took = time.monotonic() - t0
            assert report["total"]["replies"] == 3 * count, report["total"]
            if rep:  # the first daemon built the index from the transcripts (an upgrade): B9 reports that
                times.append(took)
        finally:
            await daemon.close()
    return median(times)


async def b11(ctx: Ctx) -> list[Row]:
    """Spending over every saved session: hermes/usageReport at 10,000 sessions beside 100."""
    big, small, reps = ctx.size(10_000, 300), 100, ctx.size(5, 1)
    t_small = await _usage_report(ctx, "b11-small", small, reps)
    t_big = await _usage_report(ctx, "b11-big", big, reps)
    ratio = t_big / t_small
    return [Row("B11", f"fresh daemon's hermes/usageReport by model, {big:,} saved sessions ({3 * big:,} replies)",
                _ms(t_big), f"{small} sessions {_ms(t_small)}", f"{ratio:.2f}×", "≤ 1.5×", ratio <= 1.5)]


# -- B10 -----------------------------------------------------------------------


async def _at_once(daemon: Daemon, tag: str, count: int) -> float:
    """``count`` hermes/chat requests written at once, each in a new session with a 5-chunk reply: seconds a chat."""
    started = time.monotonic()
    chats = [daemon.chat({"provider": PROVIDER, "model": model(tag), "message": "hi"}) for _ in range(count)]
    results = await asyncio.wait_for(asyncio.gather(*(done for _, done in chats)), 600)
    took = time.monotonic() - started
    failed = [(r["stopReason"], r.get("error")) for r in results if r["stopReason"] != "end_turn"]
    assert not failed, (len(failed), failed[:3])
    assert all(stream.text == _expected(5) and stream.gapless() for stream, _ in chats)
    return took / count


async def b10(ctx: Ctx) -> list[Row]:
    """Chats queued at one endpoint: 10,000 sent at once cost per chat what 100 at once do."""
    many, few = ctx.size(10_000, 40), ctx.size(100, 8)
    daemon = await _started_daemon(ctx, "b10")
    try:
        before = await _at_once(daemon, "b10-few", few)
        queued = await _at_once(daemon, "b10-many", many)
        after = await _at_once(daemon, "b10-few", few)
    finally:
        await daemon.close()
    base = (before + after) / 2  # the 100-chat figure on both sides of the long run, for drift
    ratio = queued / base
    return [Row("B10", f"{many:,} chats written at once on one connection (each a new session, 5-chunk reply; "
                f"at most network.max_concurrent_requests upstream at a time): wall time per chat",
                _ms(queued), f"{few} at once {_ms(base)} (before {_ms(before)}, after {_ms(after)})",
                f"{ratio:.2f}×", "≤ 1.5×", ratio <= 1.5)]


# -- C2 ------------------------------------------------------------------------


async def c2(ctx: Ctx) -> list[Row]:
    """One-shot ``hermesd chat`` CPU (user + sys of the child), beside llm and a bare httpx script."""
    reps = ctx.size(9, 1)
    llm = find_llm() or (None if ctx.quick else install_llm())
    env = Home(ctx.root, "c2").env(ctx.upstream.url)
    url = ctx.upstream.url + "/v1"
    scenario = model("c2")
    chat = ["-m", "hermesd", "chat", "-p", PROVIDER, "-m", scenario, "hi"]
    runs: dict[str, tuple[list[str], dict[str, str]]] = {
        "hermesd": ([sys.executable, *chat], env),
        "bare": ([sys.executable, "-c", BARE_CLIENT, url + "/chat/completions", scenario, KEY], env),
    }
    if llm:
        llm_env = {**clean_environ(), **llm_home(ctx.root / "c2-llm", url, scenario, KEY)}
        runs["llm"] = ([llm, "-m", LLM_MODEL_ID, "hi"], llm_env)
    # The same command with a shared daemon running (an editor open): it chats through the daemon.
    shared_env = Home(ctx.root, "c2-shared").env(ctx.upstream.url)
    runs["shared"] = ([sys.executable, *chat], shared_env)
    cpu: dict[str, list[float]] = {kind: [] for kind in runs}
    daemon_cpu: list[float] = []
    kinds = list(runs)
    editor, daemon_pid = await shared.running_daemon(shared_env)
    try:
        for i in range(reps + 1):  # the first round only warms caches (.pyc, llm's logs.db)
            for kind in kinds[i % len(kinds):] + kinds[:i % len(kinds)]:
                argv, kind_env = runs[kind]
                before = threads_cpu_seconds(daemon_pid)
                seconds, out, _ = await asyncio.to_thread(child_cpu, argv, kind_env, str(REPO))
                served = threads_cpu_seconds(daemon_pid) - before
                assert out.strip() == _expected(5), (kind, out[:200])
                if i and kind == "shared":
                    daemon_cpu.append(served)
                    seconds += served  # the daemon's CPU for this request counts too
                if i:
                    cpu[kind].append(seconds)
    finally:
        await shared.stop_daemon(editor, shared_env)
    traces = [(await asyncio.to_thread(child_cpu, [sys.executable, "-X", "importtime", *chat], env, str(REPO)))[2]
              for _ in range(ctx.size(5, 1))]
    total, ranked = import_breakdown(traces)
    ctx.sections["C2"] = _c2_section(total, ranked, len(traces))
    ours, bare = median(cpu["hermesd"]), median(cpu["bare"])
    rows = []
    if llm:
        base = median(cpu["llm"])
        rows.append(Row("C2", "one-shot `hermesd chat` CPU (user + sys), in-process", _ms(ours),
                        f"llm {LLM_VERSION} {_ms(base)}", f"{ours / base:.2f}×", "≤ 0.6×", ours / base <= 0.6))
        via = median(cpu["shared"])
        rows.append(Row("C2", f"same, through a running shared daemon: the CLI plus the daemon's CPU for that "
                        f"request ({_ms(median(daemon_cpu))} of it)", _ms(via), f"llm {LLM_VERSION} {_ms(base)}",
                        f"{via / base:.2f}×", "≤ 0.2×", via / base <= 0.2))
        rows.append(Row("C2", "floor: a bare httpx + httpx-sse script streaming the same reply", _ms(bare),
                        f"llm {LLM_VERSION} {_ms(base)}", f"{bare / base:.2f}×", "-", None))
    else:
        rows.append(Row("C2", "one-shot `hermesd chat` CPU (user + sys), in-process; llm not installed "
                        "(`python -m bench.oneshot` installs it)", _ms(ours),
                        f"bare httpx + httpx-sse script {_ms(bare)}", f"{ours / bare:.2f}×", "≤ 0.6× llm", None))
        via = median(cpu["shared"])
        rows.append(Row("C2", f"same, through a running shared daemon (the daemon's CPU for that request, "
                        f"{_ms(median(daemon_cpu))}, included)", _ms(via), f"bare httpx + httpx-sse script {_ms(bare)}",
                        f"{via / bare:.2f}×", "≤ 0.2× llm", None))
    rows.append(Row("C2", "imports of a cold `hermesd chat` (`-X importtime`, all modules; breakdown below)",
                    _ms(total), "-", "-", "-", None))
    return rows


def _c2_section(total: float, ranked: list[tuple[str, float]], runs: int) -> str:
    lines = [
        "### C2: what a cold `hermesd chat` imports",
        "",
        f"`python -X importtime -m hermesd chat -p deepseek -m … hi`, self time summed per top-level package, "
        f"median of {runs} runs in the run above (total {_ms(total)}):",
        "",
        "| package | import time |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {_ms(seconds)} |" for name, seconds in ranked]
    return "\n".join(lines)


CASES = {"B1": b1, "B2": b2, "B3": b3, "B4": b4, "B5": b5, "B6": b6, "B7": b7, "B8": b8, "B9": b9, "B10": b10, "B11": b11,
         "C1": shared.c1, "C1s": shared.c1s, "C2": c2, "A1": acp.a1, **completion.CASES}
