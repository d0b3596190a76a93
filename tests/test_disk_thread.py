"""The chats' disk thread (hermesd/engine/disk_thread.py): what a caller awaits is what ``asyncio.to_thread`` gives."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from hermesd.engine import disk_thread
from hermesd.engine.disk_thread import DiskThread

WHO = contextvars.ContextVar("who", default="nobody")


async def test_jobs_run_on_one_thread_in_order_with_results_and_exceptions():
    disk, ran = DiskThread(), []

    def job(n: int) -> tuple[int, str]:
        ran.append(n)
        if n == 3:
            raise ValueError("three")
        return n * 10, threading.current_thread().name

    outcomes = await asyncio.gather(*(disk.run(job, n) for n in range(6)), return_exceptions=True)
    assert ran == list(range(6))  # arrival order
    assert [o[0] if isinstance(o, tuple) else repr(o) for o in outcomes] == [0, 10, 20, "ValueError('three')", 40, 50]
    assert {o[1] for o in outcomes if isinstance(o, tuple)} == {"hermesd-disk"}
    assert threading.current_thread().name != "hermesd-disk"


async def test_the_callers_context_goes_with_the_job():
    WHO.set("chat 7")
    assert await disk_thread.run(WHO.get) == "chat 7"


async def test_a_cancelled_caller_leaves_its_job_running_and_the_thread_serving():
    disk, started, release, finished = DiskThread(), threading.Event(), threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        finished.set()
        return "late"

    waiting = asyncio.ensure_future(disk.run(slow))
    await asyncio.to_thread(started.wait, 10)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    release.set()
    assert await disk.run(lambda: "next") == "next"  # the thread outlived the cancelled result
    assert finished.is_set()


def test_each_event_loop_gets_its_own_results():
    disk, got = DiskThread(), {}

    def loop_in_thread(name: str) -> None:
        async def main() -> list[str]:
            return await asyncio.gather(*(disk.run(lambda i=i: f"{name}:{i}") for i in range(20)))
        got[name] = asyncio.run(main())

    threads = [threading.Thread(target=loop_in_thread, args=(name,)) for name in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert got == {name: [f"{name}:{i}" for i in range(20)] for name in ("a", "b", "c")}
