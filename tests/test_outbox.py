"""The outbox's order and merging guarantees (docs/protocol.md, hermes/chatDelta), over a real pipe."""

from __future__ import annotations

import asyncio
import json
import os

from hermesd.serve.outbox import DeltaStream, PipeOutbox


def _messages(data: bytes) -> list[dict]:
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(head.split(b"\r\n")[0].split(b":")[1])
        out.append(json.loads(rest[:length]))
        data = rest[length:]
    return out


def _read_all(fd: int) -> bytes:
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_pieces_of_one_turn_leave_as_one_delta_in_the_place_of_the_first() -> None:
    read_fd, write_fd = os.pipe()
    outbox = PipeOutbox(write_fd)

    async def main() -> None:
        a, b = DeltaStream("s-a", 1), DeltaStream("s-b", 2)
        outbox.delta(a, "Hel", "")
        outbox.delta(b, "x", "")
        outbox.delta(a, "lo", "why")  # same loop turn: merges into a's queued delta
        outbox.write(b'Content-Length: 2\r\n\r\n{}')  # sent after: stays after
        await asyncio.sleep(0.05)
        outbox.delta(a, " there", "")  # a later turn: the next delta
        await asyncio.sleep(0.05)

    try:
        asyncio.run(main())
        got = _messages(_read_all(read_fd))
    finally:
        outbox.close()
        os.close(read_fd)
        os.close(write_fd)
    assert [(m.get("params") or {}).get("requestId") for m in got] == [1, 2, None, 1]
    assert got[0]["params"] == {"sessionId": "s-a", "requestId": 1, "seq": 0, "text": "Hello", "reasoning": "why"}
    assert got[1]["params"]["seq"] == 0 and got[1]["params"]["text"] == "x"
    assert got[2] == {}
    assert got[3]["params"]["seq"] == 1 and got[3]["params"]["text"] == " there"
