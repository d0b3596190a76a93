"""Newline-delimited JSON framing (``hermesd acp``'s relay): whole lines only, however the bytes arrive."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from hermesd.framing import line, whole_lines

MESSAGES = st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=20) | st.integers(), max_size=3), max_size=6)


@given(MESSAGES, st.lists(st.integers(min_value=1, max_value=40), max_size=10))
def test_lines_come_out_whole_whatever_the_reads(messages, cuts):
    data = b"".join(line(m) for m in messages)
    buf, seen, pos = bytearray(), [], 0
    for size in [*cuts, len(data)]:
        buf += data[pos:pos + size]
        pos += size
        spans, used = whole_lines(buf)
        seen += [json.loads(bytes(buf[start:end])) for start, end in spans]
        assert all(buf[end - 1:end] == b"\n" for _, end in spans)
        del buf[:used]
    assert seen == messages and not buf


def test_blank_lines_are_skipped_and_an_endless_line_is_cut_at_the_limit():
    assert whole_lines(b'\n\r\n{"a":1}\n{"b"') == ([(3, 11)], 11)
    spans, used = whole_lines(b"x" * 10, limit=4)
    assert spans == [(0, 4), (4, 8)] and used == 8  # the rest waits for more bytes or its newline
