"""A per-conversation model (issue 33, item 8): switching the model in a chat applies to that
conversation, saved in its session, and becomes the default for new chats only when asked.

A local setup (``custom`` at the recording upstream) with ``model-a`` as the default; the
upstream records the model each request names.
"""

from __future__ import annotations

import json

import pytest
from pygls.exceptions import JsonRpcInvalidParams

from tests.conftest import write_config
from tests.test_cli_polish import run_cli


def _setup(home, upstream):
    upstream.models = ["model-a", "model-b"]
    return write_config(home, {"model": {"provider": "custom", "default": "model-a", "base_url": f"{upstream.url}/v1"}})


def _sent_model(upstream) -> str:
    return upstream.requests[-1].json["model"]


async def test_a_model_chosen_in_a_conversation_stays_with_it_and_leaves_the_default(start_daemon, isolated_home, upstream):
    path = _setup(isolated_home, upstream)
    before = path.read_bytes()
    daemon = await start_daemon()
    session = (await daemon.request("hermes/newSession", {}))["sessionId"]
    await daemon.request("hermes/chat", {"sessionId": session, "message": "first"})
    assert _sent_model(upstream) == "model-a"

    result = await daemon.request("hermes/selectModel", {"provider": "custom", "model": "model-b", "sessionId": session})
    assert result["scope"] == "session" and result["sessionId"] == session
    assert result["current"] == {"provider": "custom", "model": "model-b", "label": "model-b"}
    assert result["message"] == "Using model-b from Custom endpoint in this conversation."
    assert path.read_bytes() == before  # the default is untouched
    assert not daemon.of("hermes/configChanged")

    await daemon.request("hermes/chat", {"sessionId": session, "message": "second"})
    assert _sent_model(upstream) == "model-b"
    saved = await daemon.request("hermes/getSession", {"sessionId": session})
    assert saved["model"] == "model-b" and saved["modelChosen"] is True
    fresh = await daemon.request("hermes/chat", {"message": "a new chat"})
    assert fresh["model"] == "model-a" and _sent_model(upstream) == "model-a"
    other = (await daemon.request("hermes/newSession", {}))["sessionId"]
    assert "modelChosen" not in await daemon.request("hermes/getSession", {"sessionId": other})

    # Saved in the session: the CLI (another process) continues the conversation with model-b.
    cli = run_cli("chat", "--session", session, "third")
    assert cli.returncode == 0, cli.stderr
    assert _sent_model(upstream) == "model-b"


async def test_scope_default_switches_the_conversation_and_new_chats(start_daemon, isolated_home, upstream):
    path = _setup(isolated_home, upstream)
    daemon = await start_daemon()
    session = (await daemon.request("hermes/newSession", {}))["sessionId"]
    result = await daemon.request("hermes/selectModel", {"provider": "custom", "model": "model-b", "sessionId": session,
                                                         "scope": "default"})
    assert result["scope"] == "default" and result["sessionId"] == session
    assert result["message"] == "Using model-b from Custom endpoint."
    assert "default: model-b" in path.read_text()
    await daemon.wait_until("hermes/configChanged", lambda p: p.get("key") == "model.default")
    await daemon.request("hermes/chat", {"sessionId": session, "message": "hi"})
    assert _sent_model(upstream) == "model-b"
    await daemon.request("hermes/chat", {"message": "a new chat"})
    assert _sent_model(upstream) == "model-b"
    assert (await daemon.request("hermes/getSession", {"sessionId": session}))["modelChosen"] is True


async def test_a_conversation_choice_is_refused_like_the_default_one(start_daemon, isolated_home, upstream):
    path = _setup(isolated_home, upstream)
    before = path.read_bytes()
    daemon = await start_daemon()
    session = (await daemon.request("hermes/newSession", {}))["sessionId"]
    with pytest.raises(JsonRpcInvalidParams, match="OpenRouter needs OPENROUTER_API_KEY, and none is set"):
        await daemon.request("hermes/selectModel", {"provider": "openrouter", "model": "openrouter/pareto-code", "sessionId": session})
    with pytest.raises(JsonRpcInvalidParams, match='scope "session" needs sessionId'):
        await daemon.request("hermes/selectModel", {"provider": "custom", "model": "model-b", "scope": "session"})
    with pytest.raises(JsonRpcInvalidParams, match="unknown session"):
        await daemon.request("hermes/selectModel", {"provider": "custom", "model": "model-b", "sessionId": "s-nope"})
    with pytest.raises(JsonRpcInvalidParams, match="did you mean custom"):
        await daemon.request("hermes/selectModel", {"provider": "custmo", "model": "model-b", "sessionId": session})
    assert path.read_bytes() == before
    await daemon.request("hermes/chat", {"sessionId": session, "message": "hi"})
    assert _sent_model(upstream) == "model-a"  # the refused choices changed nothing
    assert "modelChosen" not in await daemon.request("hermes/getSession", {"sessionId": session})


def test_cli_switches_a_conversation_and_chat_continue_honours_it(isolated_home, upstream):
    path = _setup(isolated_home, upstream)
    nothing = run_cli("chat", "--continue", "hi")
    assert nothing.returncode == 2 and "no saved conversation to continue" in nothing.stderr
    first = run_cli("chat", "--json", "first")
    assert first.returncode == 0, first.stderr
    session = json.loads(first.stdout)["sessionId"]
    before = path.read_bytes()

    done = run_cli("model", "custom/model-b", "--session", session)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Using model-b from Custom endpoint in this conversation."
    assert path.read_bytes() == before
    cont = run_cli("chat", "--continue", "second")
    assert cont.returncode == 0, cont.stderr
    assert _sent_model(upstream) == "model-b"
    assert upstream.requests[-1].json["messages"][0]["content"] == "first"  # the same conversation
    assert run_cli("chat", "a new one").returncode == 0
    assert _sent_model(upstream) == "model-a"

    both = run_cli("chat", "--continue", "--session", session, "x")
    assert both.returncode == 2 and "not both" in both.stderr
    lone = run_cli("model", "custom/model-b", "--default")
    assert lone.returncode == 2 and "--default goes with --session" in lone.stderr
    unknown = run_cli("model", "custom/model-b", "--session", "s-nope")
    assert unknown.returncode == 2 and "unknown session" in unknown.stderr
    assert path.read_bytes() == before
