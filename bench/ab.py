"""Two checkouts' daemons side by side: CPU per chat under B6's load, rounds alternated, B's ratio to A's.

``python -m bench.ab A B`` (two checkout directories, e.g. a ``git worktree``
of main and one of a change). One bench upstream; one daemon from each
checkout (``--no-shared``, each with its own home); then, per round, each
daemon in turn gets ``--chats`` new sessions that all chat at once, replies of
``--chunks`` chunks at 50/s (B6's short-reply row with the defaults), every
reply checked as B6 checks it. Which daemon goes first alternates. A daemon's
CPU for a round is the sum over its threads of ``/proc/PID/task/*/schedstat``
across the chats.

Why not two runs of ``python -m bench``: on the 2-core machines here the
speed of the whole machine drifts by tens of percent within minutes
(bench/notes.md), more than most changes move CPU per chat. Rounds seconds
apart see the machine alike, so the median of the per-round ratios is steady
to a few percent (two copies of one checkout: 1.007, quartiles 0.97-1.07,
in 16 rounds). The figures issue 38's notes compare commits with come from here.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

from bench.cases import Ctx, _concurrent, _sessions, _started_daemon
from bench.harness import Daemon, Upstream, compile_sources, tempdir
from bench.lsp import threads_cpu_seconds

RATE = 50.0


async def _round(ctx: Ctx, daemon: Daemon, tag: str, chats: int, chunks: int) -> float:
    """CPU seconds per chat of one round: ``chats`` fresh sessions chatting at once."""
    sessions = await _sessions(daemon, tag, chats, chunks, RATE)
    pid = daemon.client.pid()
    before = threads_cpu_seconds(pid)
    await _concurrent(ctx, daemon, tag, chats, chunks, RATE, sessions)
    return (threads_cpu_seconds(pid) - before) / chats


async def compare(a: Path, b: Path, *, rounds: int, chats: int, chunks: int) -> dict[str, list[float]]:
    """Per-round CPU per chat of each checkout's daemon (seconds), rounds alternated."""
    for checkout in (a, b):
        compile_sources(checkout)
    with tempdir() as tmp:
        upstream = await Upstream().start()
        ctx = Ctx(root=Path(tmp), upstream=upstream, quick=False)
        daemons = {"a": await _started_daemon(ctx, "a", checkout=a), "b": await _started_daemon(ctx, "b", checkout=b)}
        per_chat: dict[str, list[float]] = {"a": [], "b": []}
        try:
            for i in range(rounds):
                for name in ("a", "b") if i % 2 == 0 else ("b", "a"):
                    per_chat[name].append(await _round(ctx, daemons[name], f"{name}{i}", chats, chunks))
        finally:
            for daemon in daemons.values():
                await daemon.close()
            await upstream.stop()
    return per_chat


def summary(per_chat: dict[str, list[float]]) -> str:
    """The medians and the per-round ratio B/A: its median and quartiles."""
    ratios = [b / a for a, b in zip(per_chat["a"], per_chat["b"])]
    low, _, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
    return (f"A {statistics.median(per_chat['a']) * 1e3:.2f} ms/chat  B {statistics.median(per_chat['b']) * 1e3:.2f} ms/chat  "
            f"B/A median {statistics.median(ratios):.3f} (quartiles {low:.3f}-{high:.3f}, {len(ratios)} rounds)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="the checkout compared against (e.g. main)")
    parser.add_argument("b", type=Path, help="the checkout measured")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--chats", type=int, default=100, help="sessions chatting at once in a round")
    parser.add_argument("--chunks", type=int, default=5, help="chunks a reply (5: B6's short replies; 50: its long ones)")
    args = parser.parse_args(argv)
    for name in ("rounds", "chats", "chunks"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    for checkout in (args.a, args.b):
        if not (checkout / "hermesd" / "__main__.py").is_file():
            parser.error(f"{checkout} is not a hermesd checkout (no hermesd/__main__.py there)")
    per_chat = asyncio.run(compare(args.a.resolve(), args.b.resolve(), rounds=args.rounds, chats=args.chats,
                                   chunks=args.chunks))
    print(summary(per_chat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
