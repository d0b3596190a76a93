"""Ghost-text completion in Neovim 0.11 (editors/neovim/lua/hermes/completion.lua), end to end.

The ``completion`` scenario of ``editors/neovim/tests/e2e.lua`` types in a
Python file in a headless Neovim with the real hermesd behind it, configured
to complete with a FIM model whose endpoint is the recording upstream
(``tests/upstream.py``, an OpenAI-compatible ``/v1/completions`` on
127.0.0.1). It checks the ghost text in the extmarks, <Tab> putting it in the
buffer, a word taken with <M-Right>, <C-]> dismissing, and here: the request
the second keystroke superseded was closed at the upstream. The window is
written as HTML (|TOhtml| draws the inline ghost text) and, with Chromium
present, as a PNG under ``tests/artifacts/neovim/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE), str(_HERE.parents[1])):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import nvim_helpers as nh  # noqa: E402
from test_neovim import nvim, up  # noqa: E402,F401  (fixtures)

ARTIFACTS = nh.REPO / "tests" / "artifacts" / "neovim"
SUGGESTION = "turn fib(n - 1) + fib(n - 2)"
CONFIG = """model:
  provider: openrouter
  default: openrouter/pareto-code
completion:
  provider: openrouter
  model: qwen/qwen2.5-coder-7b
"""


def run_in_main_loop(nvim: str, name: str, env: dict[str, str], tmp: Path, timeout: float = 60.0) -> dict:
    """Like ``nvim_helpers.run_scenario``, but the scenario runs from ``-c`` rather than ``-l``: under
    ``-l`` Neovim leaves as soon as Insert mode waits for a key, and this one types in Insert mode."""
    out = tmp / f"{name}.json"
    out.unlink(missing_ok=True)
    cmd = [nvim, "--headless", "--clean", "-n", "-i", "NONE", "-u", str(nh.MINIMAL_INIT),
           "-c", f"lua arg = {{ {json.dumps(name)}, {json.dumps(str(out))} }}", "-c", f"luafile {nh.E2E}"]
    try:
        proc = subprocess.run(cmd, env=env, cwd=str(tmp), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise nh.ScenarioFailed(f"scenario {name!r} hung for {timeout} s\nstderr: {exc.stderr}") from exc
    if not out.exists():
        raise nh.ScenarioFailed(f"scenario {name!r} wrote no report (exit {proc.returncode})\nstderr: {proc.stderr}")
    report = json.loads(out.read_text())
    if not report.get("ok"):
        raise nh.ScenarioFailed(f"scenario {name!r} failed: {report.get('error')}\n"
                                f"report: {json.dumps(report, indent=1)[:4000]}\nstderr: {proc.stderr[-3000:]}")
    return report


def completion_requests(up) -> list:
    return [r for r in up.requests if r.path.endswith("/completions") and not r.path.endswith("/chat/completions")]


def screenshot(html: Path) -> Path | None:
    """The HTML snapshot as a PNG, when Chromium is installed (the VS Code tests install it)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    png = html.with_suffix(".png")
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={png}", "--window-size=720,160",
         html.as_uri()],
        capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    return png if png.is_file() else None


@pytest.mark.parametrize("mode", ["shared", "no-shared"])
def test_ghost_text_accept_word_dismiss_and_the_superseded_request_closed(nvim, up, tmp_path, mode):  # noqa: F811
    env = nh.hermes_env(tmp_path, up.url)
    env["HERMES_TEST_SHARED"] = "0" if mode == "no-shared" else "1"
    (Path(env["HERMES_HOME"]) / "config.yaml").write_text(CONFIG)
    env["HERMES_TEST_ARTIFACTS"] = str(ARTIFACTS / mode)
    env["HERMES_TEST_UPSTREAM"] = up.url  # the scenario types "e" once the request for "r" has arrived
    # A slow model for the first request: still streaming when the second keystroke supersedes it
    # (the scenario makes the model fast once that request has arrived).
    up.configure(reply_text=SUGGESTION, chunk_count=6, chunk_delay=0.4)

    report = run_in_main_loop(nvim, "completion", env, tmp_path)

    assert report["status_on"] == ["on", "completion on"]
    # The ghost text: in an extmark at the cursor, not in the buffer.
    assert report["ghost"] == SUGGESTION
    assert report["line_with_ghost"] == "    re"
    [mark] = report["extmarks"]
    assert (mark["row"], mark["col"], mark["text"]) == (1, 6, SUGGESTION)
    # <Tab> put it in the buffer, the cursor after it, and the extmark is gone.
    assert report["accepted_lines"][:2] == ["def fib(n):", "    re" + SUGGESTION]
    assert all(m["col"] > 6 for m in report["extmarks_after_accept"]), report["extmarks_after_accept"]
    assert report["cursor_after_accept"] == [2, len("    re" + SUGGESTION)]
    # On the next line: <M-Right> took one word; <C-]> hid the rest.
    assert report["second_ghost"]
    first_word = report["second_ghost"].split()[0]
    assert report["line_after_word"] == report["line_before_word"] + first_word
    assert report["ghost_after_word"] == report["second_ghost"][len(first_word):]
    assert report["visible_after_dismiss"] is False and report["extmarks_after_dismiss"] == 0
    assert report["mode_after"] == "n"
    # What the daemon counted: drawn suggestions, the accept (the item's command), the dismissal.
    stats = report["stats"]
    assert stats["shown"] >= 2 and stats["accepted"] == 1 and stats["rejected"] >= 1, stats
    assert report["status_off"] == ["off", "completion off (:HermesCompletion on)"]
    assert report["status_back_on"][0] == "on"

    # At the upstream (Qwen's FIM template): the request for "r", then the one for "re" that superseded it.
    requests = completion_requests(up)
    prompts = [r.json["prompt"] for r in requests]
    assert "def fib(n):\n    r<|fim_suffix|>" in prompts[0], prompts[0]
    assert "def fib(n):\n    re<|fim_suffix|>" in prompts[1], prompts[1]
    for r in up.requests:
        assert r.header("host", "").startswith("127.0.0.1"), r.path

    html = ARTIFACTS / mode / "completion-ghost.html"
    assert html.is_file() and SUGGESTION in html.read_text()
    screenshot(html)
    screenshot(ARTIFACTS / mode / "completion-accepted.html")

    # The superseded stream closed mid-way: the upstream saw the daemon hang up on it before its
    # 6 chunks, 0.4 s apart, were written (the scenario lets every other request finish).
    closed = up.wait_for_disconnects(1, timeout=5)
    assert closed[0][0] == requests[0].path and closed[0][1] < 2.4, closed
