"""Benchmarks of the shared per-user daemon (issue 19): C1, C1s and B7's shared row; B6's httpx baseline.

C1 and C1s time what an editor waits for from spawning ``hermesd --stdio``
(the forwarder) to the first ``hermes/chatDelta`` of a chat sent right
after ``initialize``: with no daemon running (C1, every run in a fresh
runtime dir, checked to hold no socket) and with one already running (C1s).
Both are set against a bare pygls server's spawn → ``initialize`` reply.
Every shared daemon a case starts is stopped before the case returns.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import KEY, PROVIDER, REPO, Daemon, Home, median, model, percentile
from bench.lsp import rss_mb
from bench.report import Row
from tests.daemon import stop_shared_daemons
from tests.lsp_client import LspClient

FORWARDER = [sys.executable, "-m", "hermesd", "--stdio"]
MINIMAL = [sys.executable, "-m", "bench.minimal_server"]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def _bare_initialize(home: Home) -> float:
    """A bare pygls server: spawn → ``initialize`` reply."""
    client = await LspClient.spawn(MINIMAL, home.env(None), cwd=str(REPO))
    try:
        await client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, timeout=60)
        return time.monotonic() - client.spawned_at
    finally:
        await client.close()


async def _spawn_to_first_delta(env: dict[str, str], tag: str) -> float:
    """``hermesd --stdio`` spawned, ``initialize``, a chat sent right after: seconds to its first delta."""
    daemon = await Daemon.spawn(env, shared=True)
    try:
        await daemon.client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, timeout=60)
        daemon.client.notify("initialized", {})
        stream, done = daemon.chat({"provider": PROVIDER, "model": model(tag), "message": "hi"})
        result = await asyncio.wait_for(done, 60)
        assert result["stopReason"] == "end_turn", result
        return stream.times[0] - daemon.client.spawned_at
    finally:
        await daemon.close()


def _run_dir(env: dict[str, str]) -> Path:
    return Path(env["HERMESD_RUNTIME_DIR"])


async def c1(ctx: Any) -> list[Row]:
    """No daemon running: spawn → first chat delta, beside a bare pygls server's spawn → initialize."""
    reps = ctx.size(7, 1)
    cold, bare = [], []
    for i in range(reps):
        home = Home(ctx.root, f"c1-{i}")
        env = home.env(ctx.upstream.url)
        run = _run_dir(env)
        assert not list(run.glob("*.sock")) if run.exists() else True, "a daemon socket exists before a C1 run"
        try:
            if i % 2:
                bare.append(await _bare_initialize(home))
                cold.append(await _spawn_to_first_delta(env, f"c1-{i}"))
            else:
                cold.append(await _spawn_to_first_delta(env, f"c1-{i}"))
                bare.append(await _bare_initialize(home))
        finally:
            await asyncio.to_thread(stop_shared_daemons, run)
    ratio = median(cold) / median(bare)
    return [Row("C1", "no daemon running: spawn `hermesd --stdio` → first chat delta (chat sent right after "
                "initialize; the forwarder starts the shared daemon)", _ms(median(cold)),
                f"bare pygls server spawn → initialize reply {_ms(median(bare))}", f"{ratio:.2f}×", "≤ 1.4×",
                ratio <= 1.4)]


async def c1s(ctx: Any) -> list[Row]:
    """A daemon already running: a new ``hermesd --stdio`` → first chat delta."""
    reps = ctx.size(9, 1)
    home = Home(ctx.root, "c1s")
    env = home.env(ctx.upstream.url)
    warm, bare = [], []
    try:
        await _spawn_to_first_delta(env, "c1s-warm")  # starts the shared daemon and warms it
        for i in range(reps):
            bare.append(await _bare_initialize(Home(ctx.root, f"c1s-bare-{i}")))
            warm.append(await _spawn_to_first_delta(env, f"c1s-{i}"))
        imports = [await _forwarder_imports(env) for _ in range(ctx.size(5, 1))]
    finally:
        await asyncio.to_thread(stop_shared_daemons, _run_dir(env))
    ratio = median(warm) / median(bare)
    total = median([sum(t.values()) for t in imports])
    ours = median([sum(v for k, v in t.items() if k.split(".")[0] == "hermesd") for t in imports])
    return [Row("C1s", "daemon already running: a new `hermesd --stdio` → first chat delta", _ms(median(warm)),
                f"bare pygls server spawn → initialize reply {_ms(median(bare))}", f"{ratio:.2f}×", "≤ 0.3×",
                ratio <= 0.3),
            Row("C1s", f"the forwarder's imports (`-X importtime`, all modules, standard library only; "
                f"hermesd's own {_ms(ours)})", _ms(total), "-", "-", "-", None)]


async def _forwarder_imports(env: dict[str, str]) -> dict[str, float]:
    """Self import time per module of one forwarder that connects and leaves (seconds)."""
    client = await LspClient.spawn([sys.executable, "-X", "importtime", "-m", "hermesd", "--stdio"], env,
                                   cwd=str(REPO), stderr=asyncio.subprocess.PIPE)
    await client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, timeout=60)
    client.notify("exit")
    await client.close()
    assert client.proc is not None and client.proc.stderr is not None
    trace = (await client.proc.stderr.read()).decode()
    out: dict[str, float] = {}
    for line in trace.splitlines():
        if line.startswith("import time:") and "|" in line and "self" not in line:
            self_us, _, name = line[len("import time:"):].split("|")
            out[name.strip()] = int(self_us) / 1e6
    return out


# -- C2 through the shared daemon ------------------------------------------------


async def running_daemon(env: dict[str, str]) -> tuple[Daemon, int]:
    """A shared daemon for ``env``, started by an editor (a forwarder) that chatted once and stays
    connected; the editor and the daemon's pid."""
    try:
        editor = await _chatted(env, "c2-editor", shared=True)
        [(_, pid)] = _shared_pids(_run_dir(env)).items()
    except BaseException:
        await asyncio.to_thread(stop_shared_daemons, _run_dir(env))
        raise
    return editor, pid


async def stop_daemon(editor: Daemon, env: dict[str, str]) -> None:
    await editor.close()
    await asyncio.to_thread(stop_shared_daemons, _run_dir(env))


# -- B6: plain httpx + httpx-sse reading the same streams --------------------

# The daemon's procedure, step for step, in a process of its own: one long-lived client (as the
# daemon keeps one per endpoint, with httpx's default keep-alive pool), a warm-up stream, then per
# round (one line on stdin starts it) one stream alone and the concurrent streams, CPU counted
# over the concurrent phase only; each round's latencies and CPU come back as one JSON line.
HTTPX_STREAMS = r'''
import asyncio, json, sys, time
import httpx, httpx_sse

async def one(client, url, key, scenario, out):
    body = {"model": scenario, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    async with httpx_sse.aconnect_sse(client, "POST", url, json=body, headers={"Authorization": "Bearer " + key}) as source:
        async for event in source.aiter_sse():
            if event.data == "[DONE]":
                break
            for choice in json.loads(event.data).get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    now = time.monotonic()
                    out.extend(now - float(p.split("@", 1)[1]) for p in text.split(";") if "@" in p)

async def main(url, key, plan):
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=2 * max(map(len, plan["rounds"]))), timeout=120) as client:
        await one(client, url, key, plan["warm"], [])
        print("ready", flush=True)
        for alone, *together in plan["rounds"]:
            sys.stdin.readline()  # between rounds nothing streams: blocking the loop here costs nothing
            await one(client, url, key, alone, [])
            lat = []
            started = time.process_time()
            await asyncio.gather(*(one(client, url, key, s, lat) for s in together))
            print(json.dumps({"latencies": lat, "cpu": time.process_time() - started}), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
'''


class HttpxBaseline:
    """The same streams read by plain httpx + httpx-sse in a process of their own, a round at a
    time, so its rounds interleave with the daemon's and both see the machine's load alike."""

    def __init__(self, proc: asyncio.subprocess.Process, expected: int) -> None:
        self.proc = proc
        self.expected = expected
        self.latencies: list[float] = []
        self.cpu = 0.0

    @classmethod
    async def start(cls, ctx: Any, streams: int, n: int, rate: float, rounds: int) -> "HttpxBaseline":
        plan = {"warm": model("b6-httpx-warm"),
                "rounds": [[model(f"b6-httpx-a{i}", n, rate, stamp=1)]
                           + [model(f"b6-httpx-c{i}-{k}", n, rate, stamp=1) for k in range(streams)]
                           for i in range(rounds)]}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HTTPX_STREAMS, ctx.upstream.url + "/v1/chat/completions", KEY, json.dumps(plan),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=str(REPO),
            env=Home(ctx.root, "b6-httpx").env(None), limit=64 * 1024 * 1024)  # a round's latencies: one line
        baseline = cls(proc, rounds * streams * n)
        assert await baseline._line() == b"ready\n"
        return baseline

    async def _line(self) -> bytes:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 120)
        assert line, "the httpx baseline process ended early"
        return line

    async def round(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        await self.proc.stdin.drain()
        data = json.loads(await self._line())
        self.latencies += data["latencies"]
        self.cpu += data["cpu"]

    async def result(self) -> dict[str, Any]:
        """CPU per chunk and p99 over every round."""
        assert len(self.latencies) == self.expected, (len(self.latencies), self.expected)
        await asyncio.wait_for(self.proc.wait(), 60)
        return {"p99": percentile(self.latencies, 99), "cpu_per_chunk": self.cpu / len(self.latencies)}

    def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


def b6_rows(r: dict[str, Any], base: dict[str, Any]) -> list[Row]:
    ratio = r["cpu_per_chunk"] / base["cpu_per_chunk"]
    added = r["all"] - base["p99"]
    return [
        Row("B6", f"daemon CPU per chunk, {r['streams']} concurrent streams (upstream read, parsed, sent on as deltas)",
            f"{r['cpu_per_chunk'] * 1e6:.0f} µs", f"plain httpx + httpx-sse reading the same streams "
            f"{base['cpu_per_chunk'] * 1e6:.0f} µs", f"{ratio:.2f}×", "≤ 1.2×", ratio <= 1.2),  # issue 38
        Row("B6", f"p99 delay upstream → editor, {r['streams']} concurrent streams", _ms(r["all"]),
            f"plain httpx + httpx-sse p99 {_ms(base['p99'])}", f"{added * 1000:+.1f} ms", "≤ +20 ms", added <= 0.020),
    ]


def b6_short_row(r: dict[str, Any], base: dict[str, Any]) -> Row:
    """CPU per chat of short replies: mostly per-chat work (request, session, result), little per chunk."""
    per_chat = base["cpu_per_chunk"] * r["n"]
    ratio = r["cpu_per_chat"] / per_chat
    return Row("B6", f"daemon CPU per chat, {r['streams']} concurrent chats with short replies ({r['n']} chunks; "
               "hermes/chat written → result, sessions made beforehand)", _ms(r["cpu_per_chat"]),
               f"plain httpx + httpx-sse reading the same streams {_ms(per_chat)}", f"{ratio:.2f}×", "≤ 1.5×",
               ratio <= 1.5)


# -- B7: one shared daemon for three clients vs three daemons -----------------


# ``hermesd chat`` run in-process, then its peak resident memory (VmHWM) on stderr. Not wait4's
# ru_maxrss: that counts the pages of the (large) benchmark process the child was forked from.
PEAK_CLI = (
    "import sys\n"
    "from hermesd.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
    "print('PEAK', int(peak.split()[1]), file=sys.stderr)\n"
    "sys.exit(status)\n"
)


def _peak_rss_mb(cli_args: list[str], env: dict[str, str]) -> float:
    """Run ``hermesd <cli_args>`` to its end: its peak resident memory in MiB."""
    proc = subprocess.run([sys.executable, "-c", PEAK_CLI, *cli_args], env=env, cwd=str(REPO),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, (cli_args, proc.stderr[-500:])
    [peak] = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("PEAK ")]
    return int(peak) / 1024


async def _chatted(env: dict[str, str], tag: str, shared: bool) -> Daemon:
    daemon = await Daemon.spawn(env, shared=shared)
    await daemon.client.initialize()
    _, done = daemon.chat({"provider": PROVIDER, "model": model(tag), "message": "hi"})
    await asyncio.wait_for(done, 60)
    return daemon


async def b7_shared(ctx: Any) -> list[Row]:
    """Two editors and a CLI chat on one shared daemon, against two ``--no-shared`` daemons and an in-process CLI."""
    cli = ["chat", "-p", PROVIDER, "-m", model("b7s-cli"), "hi"]
    env = Home(ctx.root, "b7-shared").env(ctx.upstream.url)
    editors: list[Daemon] = []
    try:
        editors = [await _chatted(env, f"b7s-{k}", shared=True) for k in range(2)]
        shared_cli = await asyncio.to_thread(_peak_rss_mb, cli, env)
        [(_, pid)] = _shared_pids(_run_dir(env)).items()
        await asyncio.sleep(0.2)
        daemon_rss = rss_mb(pid)
        forwarders = sum(rss_mb(d.client.pid()) for d in editors)
    finally:
        for d in editors:
            await d.close()
        await asyncio.to_thread(stop_shared_daemons, _run_dir(env))
    apart: list[Daemon] = []
    try:
        apart = [await _chatted(Home(ctx.root, f"b7-apart-{k}").env(ctx.upstream.url), f"b7a-{k}", shared=False)
                 for k in range(2)]
        await asyncio.sleep(0.2)
        apart_rss = sum(rss_mb(d.client.pid()) for d in apart)
        own_cli = await asyncio.to_thread(_peak_rss_mb, cli, Home(ctx.root, "b7-apart-cli").env(ctx.upstream.url))
    finally:
        for d in apart:
            await d.close()
    shared_total = daemon_rss + forwarders + shared_cli
    apart_total = apart_rss + own_cli
    return [Row("B7", f"resident memory, two editors + one CLI chat: one shared daemon ({daemon_rss:.1f} MB) + two "
                f"forwarders ({forwarders:.1f} MB) + CLI through it (peak {shared_cli:.1f} MB)",
                f"{shared_total:.1f} MB", f"two --no-shared daemons ({apart_rss:.1f} MB) + in-process CLI "
                f"(peak {own_cli:.1f} MB) = {apart_total:.1f} MB", f"{shared_total / apart_total:.2f}×", "-", None)]


def _shared_pids(run: Path) -> dict[Path, int]:
    from tests.daemon import shared_daemon_pids

    return shared_daemon_pids(run)
