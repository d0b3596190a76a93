"""What each reply cost, through the real daemon and the recording upstream (issue 34).

Reported costs are the upstream's own ``usage.cost``; estimated ones are the
tokens times the prices the fake ``/models`` serves; the totals, the report
and the spending cap come from the session index.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.conftest import CANARY_KEY, write_config

PARETO = "openrouter/pareto-code"
ROUTED = "anthropic/claude-sonnet-4.6"
PRICED = [{"id": ROUTED, "pricing": {"prompt": "0.000003", "completion": "0.000015", "input_cache_read": "0.0000003"},
           "context_length": 200000}]


def _openrouter(up) -> dict[str, str]:
    return {"OPENROUTER_API_KEY": CANARY_KEY, "OPENROUTER_BASE_URL": f"{up.url}/api/v1"}


def _chats(up) -> list:
    return [r for r in up.requests if r.path.endswith("/chat/completions")]


async def test_reported_cost_on_pareto_code_with_the_routed_model(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": PARETO}})
    upstream.routed_model, upstream.usage_cost, upstream.cached_tokens = ROUTED, 0.0042, 3
    daemon = await start_daemon(env=_openrouter(upstream))
    first = await daemon.request("hermes/chat", {"message": "fix my bug"})
    assert first["stopReason"] == "end_turn", first
    assert first["routedModel"] == ROUTED
    assert _chats(upstream)[-1].json["stream_options"] == {"include_usage": True}
    usage = first["usage"]
    assert usage["costUsd"] == 0.0042 and usage["costSource"] == "reported" and "priceSource" not in usage
    assert usage["cacheReadTokens"] == 3
    assert usage["contextTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert usage["summarizeAt"] == 32000
    assert usage["footer"] == (f"pareto-code → {ROUTED} · {usage['inputTokens']:,} in / {usage['outputTokens']:,} out"
                               f" · 3 cached · $0.0042 · context {usage['contextTokens']:,}, summary at 32,000")
    assert [r.path for r in upstream.requests] == ["/api/v1/chat/completions"]  # a reported cost asks no catalog
    upstream.usage_cost = 0.0011
    second = await daemon.request("hermes/chat", {"sessionId": first["sessionId"], "message": "and this"})
    assert second["usage"]["costUsd"] == 0.0011
    total = second["sessionUsage"]
    assert total["replies"] == 2 and total["costUsd"] == pytest.approx(0.0053) and total["unknownReplies"] == 0
    assert total["label"] == (f"2 replies · {total['inputTokens']:,} in / {total['outputTokens']:,} out · $0.0053")
    assert total["costText"] == "$0.0053"
    assert second["usage"]["context"] == f"context {second['usage']['contextTokens']:,}, summary at 32,000"
    # Saved with the turn: reopening shows the same footers and totals; the list row carries them.
    saved = await daemon.request("hermes/getSession", {"sessionId": first["sessionId"]})
    replies = [m for m in saved["messages"] if m["role"] == "assistant"]
    assert [m["usage"]["footer"] for m in replies] == [first["usage"]["footer"], second["usage"]["footer"]]
    assert saved["usage"] == total
    [row] = (await daemon.request("hermes/listSessions"))["sessions"]
    assert row["usage"] == total and row["detail"].endswith(" · 2 messages · $0.0053".replace("2 messages", "4 messages"))
    report = await daemon.request("hermes/usageReport", {"by": "model", "since": "7d"})
    assert [(r["key"], r["totals"]["costUsd"]) for r in report["rows"]] == [(ROUTED, pytest.approx(0.0053))]
    assert report["todayUsd"] == pytest.approx(0.0053) and report["monthUsd"] == pytest.approx(0.0053)
    assert f"{ROUTED}  2 replies" in report["text"]


async def test_estimated_cost_is_tokens_times_the_catalog_price(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": ROUTED}})
    upstream.usage_cost, upstream.cached_tokens, upstream.models = None, 2, PRICED
    daemon = await start_daemon(env=_openrouter(upstream))
    result = await daemon.request("hermes/chat", {"message": "hello there"})
    usage = result["usage"]
    tokens_in, tokens_out = usage["inputTokens"], usage["outputTokens"]
    expected = (tokens_in - 2) * 0.000003 + 2 * 0.0000003 + tokens_out * 0.000015
    assert usage["costSource"] == "estimated" and usage["costUsd"] == pytest.approx(expected, rel=1e-12)
    assert usage["priceSource"].startswith("openrouter /models of 20")
    assert usage["contextLength"] == 200000
    assert expected < 0.0001  # a few tokens: still not "free"
    assert usage["footer"] == (f"{ROUTED} · {tokens_in:,} in / {tokens_out:,} out · 2 cached · ~${expected:.6f} (estimated)"
                               f" · context {tokens_in + tokens_out:,} / 200,000 (0%), summary at 32,000")
    catalog = [r for r in upstream.requests if r.path.endswith("/models")]
    assert [r.path for r in catalog] == ["/api/v1/models"]
    assert "authorization" not in catalog[0].headers  # OpenRouter's catalog is public: the key is not sent
    # The book is kept (on disk and in memory): the next reply asks nobody.
    await daemon.request("hermes/chat", {"sessionId": result["sessionId"], "message": "again"})
    assert len([r for r in upstream.requests if r.path.endswith("/models")]) == 1


async def test_a_local_server_costs_nothing(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "custom", "base_url": f"{upstream.url}/v1", "default": "model-a"}})
    upstream.usage_cost = None
    daemon = await start_daemon()
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["usage"]["costUsd"] == 0 and result["usage"]["priceSource"] == "local server"
    assert "$0.00 (local)" in result["usage"]["footer"]
    assert [r.path for r in upstream.requests] == ["/v1/chat/completions"]


@pytest.mark.parametrize("provider, env, model", [
    ("claude", {"ANTHROPIC_API_KEY": CANARY_KEY, "ANTHROPIC_BASE_URL": "{url}"}, "claude-sonnet-4-6"),
    ("grok", {"XAI_API_KEY": CANARY_KEY, "XAI_BASE_URL": "{url}/v1"}, "grok-4"),
    ("openrouter", {"OPENROUTER_API_KEY": CANARY_KEY, "OPENROUTER_BASE_URL": "{url}/api/v1"}, "openai/gpt-4.1"),
    ("aws", {"BEDROCK_BASE_URL": "{url}", "AWS_ACCESS_KEY_ID": "AKIDCANARY", "AWS_SECRET_ACCESS_KEY": CANARY_KEY,
             "AWS_DEFAULT_REGION": "us-east-1"}, "anthropic.claude-3-haiku"),
], ids=["anthropic_messages", "codex_responses", "chat_completions", "bedrock_converse"])
async def test_every_api_mode_reports_tokens(start_daemon, upstream, isolated_home, provider, env, model):
    if provider == "aws":
        pytest.importorskip("botocore", reason="the bedrock extra is not installed (pip install '.[bedrock]')")
    upstream.reply_text = "one two three"
    daemon = await start_daemon(env={k: v.format(url=upstream.url) for k, v in env.items()})
    result = await daemon.request("hermes/chat", {"provider": provider, "model": model, "message": "count to three"})
    assert result["stopReason"] == "end_turn", result
    usage = result["usage"]
    assert usage["inputTokens"] > 0 and usage["outputTokens"] == 3, usage
    assert f"{usage['inputTokens']:,} in / 3 out" in usage["footer"]
    expected_source = "reported" if provider == "openrouter" else "unknown"  # only OpenRouter says its cost
    assert usage["costSource"] == expected_source


async def test_a_server_rejecting_stream_options_is_asked_again_without_it(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openai/gpt-4.1"}})
    daemon = await start_daemon(env=_openrouter(upstream))
    upstream.fail(status=400, message="Unrecognized request argument supplied: stream_options")
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["stopReason"] == "end_turn", result
    again = await daemon.request("hermes/chat", {"sessionId": result["sessionId"], "message": "more"})
    assert again["stopReason"] == "end_turn"
    assert ["stream_options" in r.json for r in _chats(upstream)] == [True, False, False]  # remembered


async def test_the_spending_cap_refuses_a_chat_and_says_why(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openai/gpt-4.1"},
                                 "usage": {"daily_limit_usd": 0.005}})
    upstream.usage_cost = 0.004
    daemon = await start_daemon(env=_openrouter(upstream))
    first = await daemon.request("hermes/chat", {"message": "one"})
    second = await daemon.request("hermes/chat", {"sessionId": first["sessionId"], "message": "two"})
    assert second["stopReason"] == "end_turn"  # $0.004 spent: under the cap when it started
    refused = await daemon.request("hermes/chat", {"sessionId": first["sessionId"], "message": "three"})
    assert refused["stopReason"] == "error" and refused["error"]["kind"] == "spending_limit", refused
    assert refused["error"]["message"] == ("spending cap reached: $0.0080 spent this day of the $0.0050 "
                                           "usage.daily_limit_usd allows")
    assert "hermesd config set usage.daily_limit_usd" in refused["error"]["hint"]
    assert len(_chats(upstream)) == 2  # nothing was sent
    report = await daemon.request("hermes/usageReport", {})
    assert report["limits"] == [{"period": "day", "limitUsd": 0.005, "spentUsd": pytest.approx(0.008)}]
    assert "(cap $0.0050 a day)" in report["text"]


async def test_sessions_saved_before_usage_was_counted_show_cost_unknown(start_daemon, isolated_home, tmp_path):
    data = tmp_path / "data" / "sessions"
    data.mkdir(parents=True)
    records = [{"type": "meta", "id": "s-old1", "provider": "openrouter", "model": "m", "settings": {}, "at": 1.0e9},
               {"type": "message", "role": "user", "content": "q", "at": 1.0e9},
               {"type": "message", "role": "assistant", "content": "a", "model": "m", "stopReason": "end_turn", "at": 1.0e9}]
    (data / "s-old1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    daemon = await start_daemon()
    saved = await daemon.request("hermes/getSession", {"sessionId": "s-old1"})
    reply = saved["messages"][1]
    assert reply["usage"] == {"costSource": "unknown", "footer": "m · cost unknown"}  # no context: nothing counted
    assert saved["usage"]["unknownReplies"] == 1 and saved["usage"]["label"] == "1 reply · 0 in / 0 out · cost unknown"


def test_the_cli_prints_the_footer_the_report_and_doctor_the_spending(isolated_home, upstream):
    """`hermesd chat` (in process), `hermesd usage` and doctor read one session index."""
    import os
    import subprocess
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, **_openrouter(upstream), "HERMESD_SHARED": "0"}
        return subprocess.run([sys.executable, "-m", "hermesd", *args], env=env, capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openai/gpt-4.1"},
                                 "usage": {"daily_limit_usd": 1}})
    upstream.usage_cost = 0.0042
    for _ in range(2):
        chat = cli("chat", "hi")
        assert chat.returncode == 0, chat.stderr
        assert " · $0.0042 · context " in chat.stderr and chat.stderr.strip().startswith("(openai/gpt-4.1 · ")
    report = cli("usage", "--by", "model", "--since", "7d")
    assert report.returncode == 0, report.stderr
    lines = report.stdout.splitlines()
    assert lines[0].startswith("usage since ") and lines[0].endswith(", by model")
    assert lines[1].startswith("  openai/gpt-4.1  2 replies · ") and lines[1].endswith(" · $0.0084")
    assert lines[-1] == "spent today $0.0084, this month $0.0084 (cap $1.00 a day)"
    doctor = cli("doctor", "--no-probe")
    assert "spent today $0.0084, this month $0.0084 (cap $1.00 a day)" in doctor.stdout
    bad = cli("usage", "--since", "last week")
    assert bad.returncode == 2 and "`since` must be a span such as 7d or 24h" in bad.stderr


async def test_a_summary_counts_in_the_session_and_the_report(start_daemon, upstream, isolated_home):
    """auxiliary.compression's summary request costs too: its usage lands in the session's totals and the
    report's rows under the model that made it."""
    aux = "google/gemini-flash-1.5"
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openai/gpt-4.1"},
                                 "auxiliary": {"compression": {"model": aux}},
                                 "context": {"budget_tokens": 1000, "keep_recent_messages": 2}})
    upstream.reply_text, upstream.usage_cost = "x" * 3000, 0.001
    daemon = await start_daemon(env=_openrouter(upstream))
    session = await daemon.request("hermes/newSession")
    for turn in range(3):
        last = await daemon.request("hermes/chat", {"sessionId": session["sessionId"], "message": f"turn {turn}"})
    summaries = [r for r in _chats(upstream) if r.json["model"] == aux]
    assert len(summaries) >= 1
    replies = 3 + len(summaries)
    assert last["sessionUsage"]["replies"] == replies
    assert last["sessionUsage"]["costUsd"] == pytest.approx(0.001 * replies)
    report = await daemon.request("hermes/usageReport", {"by": "model"})
    assert {r["key"]: r["totals"]["replies"] for r in report["rows"]} == {"openai/gpt-4.1": 3, aux: len(summaries)}


async def test_a_slow_price_catalog_holds_up_no_other_chat(start_daemon, upstream, isolated_home):
    """A reply priced from a catalog fetched now waits for it; the other chats' session writes do not (they share
    one disk thread, and the fetch is made elsewhere)."""
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": ROUTED}})
    upstream.usage_cost, upstream.models = None, PRICED
    upstream.fault("delay_first_byte", path_contains="/models", seconds=6.0)
    daemon = await start_daemon(env=_openrouter(upstream))
    held = asyncio.ensure_future(daemon.request("hermes/chat", {"message": "priced after a slow catalog"}))
    for _ in range(200):
        if any(r.path.endswith("/models") for r in upstream.requests):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the first reply never asked for the catalog")
    other = await daemon.request("hermes/chat", {"message": "meanwhile"})  # a new session, its own catalog request
    assert other["usage"]["costSource"] == "estimated"
    assert not held.done()  # still waiting for its catalog, and nobody waited for it
    first = await held
    assert first["usage"]["costSource"] == "estimated" and first["sessionId"] != other["sessionId"]
