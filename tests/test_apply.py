"""hermes/planApply's rules: a range, a unified diff, a whole file, or ask for a range."""

from __future__ import annotations

import pytest

from hermesd.engine import apply
from hermesd.engine.apply import ApplyError
from hermesd.protocol import PlanApplyParams, ParamsError, parse, to_wire


def plan(params: dict) -> dict:
    """The handler's path: the params as the protocol parses them, the result as sent."""
    return to_wire(apply.plan(parse(PlanApplyParams, params)))

FILE = "import os\n\n\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\n\nprint(fib(10))\n"
FAST = "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"


def test_a_range_the_conversation_carried_is_replaced() -> None:
    span = {"start": {"line": 3, "character": 0}, "end": {"line": 5, "character": 0}}
    result = plan({"code": FAST, "path": "/w/fib.py", "text": FILE, "range": span})
    assert result == {"mode": "range", "path": "/w/fib.py", "text": "import os\n\n\n" + FAST + "\n\nprint(fib(10))\n"}
    # A range ending at a line's end keeps that line's newline.
    span = {"start": {"line": 7, "character": 0}, "end": {"line": 7, "character": 14}}
    assert plan({"code": "print(fib(20))\n", "path": "f", "text": FILE, "range": span})["text"].endswith(
        "\n\nprint(fib(20))\n")


def test_a_unified_diff_applies_to_its_file() -> None:
    diff = ("--- a/fib.py\n+++ b/fib.py\n@@ -7,2 +7,2 @@\n \n-print(fib(10))\n+print(fib(30))\n")
    result = plan({"code": diff, "path": "/w/fib.py", "text": FILE, "language": "diff"})
    assert result["mode"] == "diff" and result["text"] == FILE.replace("fib(10)", "fib(30)")
    with pytest.raises(ApplyError, match="this diff is for other.py, not fib.py"):
        plan({"code": diff.replace("fib.py", "other.py"), "path": "/w/fib.py", "text": FILE})
    with pytest.raises(ApplyError, match="does not match fib.py as it is now"):
        plan({"code": diff.replace("fib(10)", "fib(11)"), "path": "/w/fib.py", "text": FILE})


def test_a_whole_file_is_rewritten_but_a_fragment_needs_a_range() -> None:
    whole = FILE.replace("fib(10)", "fib(12)")
    assert plan({"code": whole, "path": "f", "text": FILE}) == {"mode": "file", "path": "f", "text": whole}
    fragment = plan({"code": FAST, "path": "f", "text": FILE})
    assert fragment["mode"] == "needsRange" and "text" not in fragment
    assert "select the lines it should replace" in fragment["reason"]
    assert plan({"code": FAST, "path": "new.py", "text": ""})["mode"] == "file"


def test_utf16_characters_and_bad_params() -> None:
    span = {"start": {"line": 0, "character": 3}, "end": {"line": 0, "character": 4}}
    assert plan({"code": "!", "path": "f", "text": "a😀bc\n", "range": span})["text"] == "a😀!c\n"
    with pytest.raises(ParamsError, match="`text` is required"):
        plan({"code": "x", "path": "f"})
    with pytest.raises(ParamsError, match="`range.start` must be an object"):
        plan({"code": "x", "path": "f", "text": "y", "range": {"start": 1}})
    with pytest.raises(ApplyError, match="`range` must be"):
        plan({"code": "x", "path": "f", "text": "y", "range": {"start": {"line": -1, "character": 0},
                                                             "end": {"line": 0, "character": 0}}})
