"""``hermesd acp`` end to end: the official ACP SDK's client against the real relay, shared daemon and the
recording upstream (docs/acp.md).

Each test spawns ``python -m hermesd acp`` as Zed or codecompanion would (the SDK's
``spawn_agent_process``) and checks what the client receives and the bytes the provider receives.

The public conformance kit (agentclientprotocol/acp-tck) is not reachable from here or from CI; these
are its scenarios as the issue names them, reproduced with the SDK client:

* initialize: protocolVersion 1, ``authMethods: []``, honest capabilities (loadSession, embedded context,
  no image or audio, session listing) -- test_initialize_new_prompt_and_the_editors_see_it
* session/new returns a model selector in configOptions (``type: select``, ``category: model``)
* session/prompt streams agent_message_chunk (agent_thought_chunk for reasoning), sends usage_update, and
  its result always carries stopReason -- the same request bytes as hermes/chat sends
* session/cancel: stopReason cancelled, the upstream closed at once -- test_cancel_*
* session/load replays a conversation as session/update, session/list lists it -- test_load_*
* session/set_config_option switches the model; a bad value is a clear error -- test_model_switch_*
* embedded resources and resource links as attachments; a secret file refused, unsupported content refused
  -- test_resources_*
* two agents racing to start the daemon both work and each exits when stdin closes -- test_two_agents_*
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

acp = pytest.importorskip("acp")
from acp import schema  # noqa: E402
from acp.exceptions import RequestError  # noqa: E402

from tests.conftest import CANARY_KEY, write_config  # noqa: E402
from tests.daemon import shared_daemon_pids  # noqa: E402

pytestmark = pytest.mark.asyncio
MODEL = "deepseek-chat"


class Recorder:
    """An ACP client: records every session/update; reads files when ``files`` holds them."""

    def __init__(self, files: dict[str, str] | None = None) -> None:
        self.updates: list[tuple[str, Any]] = []
        self.files = files
        self.reads: list[str] = []
        self.first_chunk = asyncio.Event()

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append((session_id, update))
        if isinstance(update, schema.AgentMessageChunk):
            self.first_chunk.set()

    async def read_text_file(self, session_id: str, path: str, **_: Any) -> schema.ReadTextFileResponse:
        self.reads.append(path)
        assert self.files is not None and path in self.files
        return schema.ReadTextFileResponse(content=self.files[path])

    async def request_permission(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("hermesd asks no permission: it runs no tools")

    def of(self, kind: type) -> list[Any]:
        return [u for _, u in self.updates if isinstance(u, kind)]

    def text(self, kind: type = schema.AgentMessageChunk) -> str:
        return "".join(u.content.text for u in self.of(kind))


def acp_env(up: Any, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HERMESD_SHARED"}  # conftest turns sharing off
    return {**env, "DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": up.url + "/v1", **extra}


def spawn(client: Recorder, env: dict[str, str]) -> Any:
    return acp.spawn_agent_process(client, sys.executable, "-m", "hermesd", "acp", env=env)


async def initialize(conn: Any, *, reads: bool = False) -> Any:
    caps = schema.ClientCapabilities(fs=schema.FileSystemCapabilities(read_text_file=reads, write_text_file=False))
    return await asyncio.wait_for(conn.initialize(protocol_version=1, client_capabilities=caps), 60)


async def test_a_reply_piece_is_written_as_the_sdk_would_write_it():
    """The daemon writes each piece of a reply itself (its hot path); the bytes are the SDK's own."""
    import json

    from acp.utils import serialize_params

    from hermesd.serve.acp.prompt import chunk_line

    for kind, model in (("agent_message_chunk", schema.AgentMessageChunk), ("agent_thought_chunk", schema.AgentThoughtChunk)):
        for text in ("plain", 'quotes " and \\ and\nnewlines', "h\u00e9 \u2603 \U0001f600", ""):
            sdk = schema.SessionNotification(session_id="s-1", update=model(
                session_update=kind, content=schema.TextContentBlock(type="text", text=text)))
            payload = {"jsonrpc": "2.0", "method": "session/update", "params": serialize_params(sdk)}
            assert chunk_line("s-1", kind, text) == (json.dumps(payload, separators=(",", ":")) + "\n").encode()


def chats(up: Any) -> list[Any]:
    return [r for r in up.requests if r.path.endswith("/chat/completions")]


@pytest.fixture
def configured(isolated_home: Path) -> Path:
    write_config(isolated_home, {"model": {"provider": "deepseek", "default": MODEL}})
    return isolated_home


async def test_initialize_new_prompt_and_the_editors_see_it(configured, upstream, start_daemon):
    upstream.reply_text = "Hello from the ACP path"
    upstream.reasoning_text = "thinking it over"
    env = acp_env(upstream)
    client = Recorder()
    async with spawn(client, env) as (conn, _process):
        init = await initialize(conn)
        wire = init.model_dump(by_alias=True, exclude_none=True)
        assert wire["protocolVersion"] == 1 and wire["authMethods"] == []
        caps = wire["agentCapabilities"]
        assert caps["loadSession"] is True
        assert caps["promptCapabilities"] == {"embeddedContext": True, "image": False, "audio": False}
        assert "list" in caps["sessionCapabilities"]
        assert wire["agentInfo"]["name"] == "hermesd"

        new = await conn.new_session(cwd=str(configured), mcp_servers=[])
        [option] = new.config_options
        option = option.root if hasattr(option, "root") else option
        assert (option.type, option.category, option.id) == ("select", "model", "model")
        assert option.current_value == f"deepseek/{MODEL}"
        values = [o.value for o in option.options]
        assert "openrouter/openrouter/pareto-code" in values and "deepseek/model-a" in values  # the daemon's picker rows
        pareto = next(o for o in option.options if o.value == "openrouter/openrouter/pareto-code")
        assert "0.65" in (pareto.description or "")  # Pareto Code with its minimum coding score

        result = await asyncio.wait_for(conn.prompt(session_id=new.session_id, prompt=[
            schema.TextContentBlock(type="text", text="say hello")]), 60)
        assert result.stop_reason == "end_turn"
        assert client.text() == "Hello from the ACP path"
        assert client.text(schema.AgentThoughtChunk) == "thinking it over"
        [usage] = client.of(schema.UsageUpdate)
        assert usage.used > 0 and usage.size >= usage.used
        assert result.usage is not None and result.usage.total_tokens == usage.used
        assert usage.cost is not None and (usage.cost.amount, usage.cost.currency) == (upstream.usage_cost, "USD")
    [acp_request] = chats(upstream)

    # The editors' path to the same daemon: the same conversation in its history, the same bytes upstream.
    editor = await start_daemon(env=env, shared=True)
    assert len(shared_daemon_pids(Path(os.environ["HERMESD_RUNTIME_DIR"]))) == 1
    listed = await editor.request("hermes/listSessions", {})
    assert [s["sessionId"] for s in listed["sessions"]] == [new.session_id]
    assert listed["sessions"][0]["title"] == "say hello"
    saved = await editor.request("hermes/getSession", {"sessionId": new.session_id})
    assert [(m["role"], m["content"]) for m in saved["messages"]] == [
        ("user", "say hello"), ("assistant", "Hello from the ACP path")]
    await editor.request("hermes/chat", {"message": "say hello"})
    lsp_request = chats(upstream)[-1]
    assert acp_request.body == lsp_request.body  # byte for byte what an editor's chat sends
    assert acp_request.json["model"] == MODEL and acp_request.json["messages"] == [{"role": "user", "content": "say hello"}]


async def test_cancel_ends_with_cancelled_and_closes_the_upstream_at_once(configured, upstream, start_daemon):
    upstream.chunk_count, upstream.chunk_delay = 40, 0.25  # ten seconds of reply
    client = Recorder()
    async with spawn(client, acp_env(upstream)) as (conn, _process):
        await initialize(conn)
        new = await conn.new_session(cwd="/", mcp_servers=[])
        running = asyncio.ensure_future(conn.prompt(session_id=new.session_id, prompt=[
            schema.TextContentBlock(type="text", text="a long story")]))
        await asyncio.wait_for(client.first_chunk.wait(), 60)
        asked = time.monotonic()
        await conn.cancel(session_id=new.session_id)
        result = await asyncio.wait_for(running, 10)
        answered = time.monotonic() - asked
        assert result.stop_reason == "cancelled"
        for _ in range(100):
            if upstream.disconnects:
                break
            await asyncio.sleep(0.05)
        assert upstream.disconnects, "the upstream request stayed open after session/cancel"
        assert answered < 5.0, answered  # not the ten seconds the reply would have taken
        partial = client.text()
        assert partial

        # The partial text is kept: a reload replays it.
        replay = Recorder()
    async with spawn(replay, acp_env(upstream)) as (conn, _process):
        await initialize(conn)
        await conn.load_session(cwd="/", session_id=new.session_id, mcp_servers=[])
        assert replay.text() == partial


async def test_load_replays_an_editors_conversation_and_list_shows_it(configured, upstream, start_daemon):
    upstream.reply_text = "an editor's answer"
    env = acp_env(upstream)
    editor = await start_daemon(env=env, shared=True)
    chat = await editor.request("hermes/chat", {"message": "from vs code", "attachments": [
        {"kind": "file", "path": "/work/app.py", "text": "print(1)\n"}]})
    client = Recorder()
    async with spawn(client, env) as (conn, _process):
        await initialize(conn)
        listed = await conn.list_sessions(cwd="/work")
        assert [(s.session_id, s.title) for s in listed.sessions] == [(chat["sessionId"], "from vs code")]
        loaded = await conn.load_session(cwd="/work", session_id=chat["sessionId"], mcp_servers=[])
        option = loaded.config_options[0]
        option = option.root if hasattr(option, "root") else option
        assert option.current_value == f"deepseek/{MODEL}"
        kinds = [(type(u).__name__, getattr(u.content, "text", None) or u.content.resource.uri) for _, u in client.updates]
        assert kinds == [("UserMessageChunk", "file:///work/app.py"), ("UserMessageChunk", "from vs code"),
                         ("AgentMessageChunk", "an editor's answer")]
        with pytest.raises(RequestError) as refused:
            await conn.load_session(cwd="/", session_id="no-such-session", mcp_servers=[])
        assert "unknown session 'no-such-session'" in str(refused.value)


async def test_model_switch_through_the_config_option(configured, upstream):
    client = Recorder()
    async with spawn(client, acp_env(upstream)) as (conn, _process):
        await initialize(conn)
        new = await conn.new_session(cwd="/", mcp_servers=[])
        switched = await conn.set_config_option(config_id="model", session_id=new.session_id, value="deepseek/model-b")
        option = switched.config_options[0]
        option = option.root if hasattr(option, "root") else option
        assert option.current_value == "deepseek/model-b"
        result = await conn.prompt(session_id=new.session_id, prompt=[schema.TextContentBlock(type="text", text="hi")])
        assert result.stop_reason == "end_turn"
        assert chats(upstream)[-1].json["model"] == "model-b"
        with pytest.raises(RequestError) as bad:
            await conn.set_config_option(config_id="model", session_id=new.session_id, value="nonsense")
        assert "is not a model of this option" in str(bad.value) and bad.value.data["error"] == str(bad.value)
        with pytest.raises(RequestError) as unknown:
            await conn.set_config_option(config_id="model", session_id=new.session_id, value="nosuchprovider/x")
        assert "nosuchprovider" in str(unknown.value)
        with pytest.raises(RequestError) as not_pareto:
            await conn.set_config_option(config_id="min_coding_score", session_id=new.session_id, value="0.8")
        assert "applies to Pareto Code only" in str(not_pareto.value)


async def test_model_switch_to_pareto_code_offers_its_minimum_coding_score(configured, upstream):
    config = (configured / "config.yaml").read_text()
    client = Recorder()
    env = acp_env(upstream, OPENROUTER_API_KEY=CANARY_KEY, OPENROUTER_BASE_URL=f"{upstream.url}/api/v1")
    async with spawn(client, env) as (conn, _process):
        await initialize(conn)
        new = await conn.new_session(cwd="/", mcp_servers=[])
        assert [o.id for o in new.config_options] == ["model"]
        switched = await conn.set_config_option(config_id="model", session_id=new.session_id,
                                                value="openrouter/openrouter/pareto-code")
        model, score = switched.config_options
        assert model.current_value == "openrouter/openrouter/pareto-code"
        assert (score.id, score.category, score.current_value) == ("min_coding_score", "model_config", "0.65")
        assert [o.value for o in score.options] == ["none", "0.5", "0.6", "0.65", "0.7", "0.8", "0.9"]
        assert "at least 0.65" in score.description

        chosen = await conn.set_config_option(config_id="min_coding_score", session_id=new.session_id, value="0.8")
        assert chosen.config_options[1].current_value == "0.8"
        await conn.prompt(session_id=new.session_id, prompt=[schema.TextContentBlock(type="text", text="fix it")])
        sent = chats(upstream)[-1].json
        assert sent["model"] == "openrouter/pareto-code"
        assert sent["plugins"] == [{"id": "pareto-router", "min_coding_score": 0.8}]

        await conn.set_config_option(config_id="min_coding_score", session_id=new.session_id, value="none")
        await conn.prompt(session_id=new.session_id, prompt=[schema.TextContentBlock(type="text", text="again")])
        assert "plugins" not in chats(upstream)[-1].json  # no floor: the strongest coder
    assert (configured / "config.yaml").read_text() == config  # this conversation's choice only


async def test_resources_become_attachments_and_a_secret_one_is_refused(configured, upstream, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    main_py = str(project / "main.py")
    util_py = str(project / "util.py")
    client = Recorder(files={util_py: "def util():\n    return 2\n"})
    async with spawn(client, acp_env(upstream)) as (conn, _process):
        await initialize(conn, reads=True)
        new = await conn.new_session(cwd=str(project), mcp_servers=[])
        result = await conn.prompt(session_id=new.session_id, prompt=[
            schema.TextContentBlock(type="text", text="Explain"),
            schema.EmbeddedResourceContentBlock(type="resource", resource=schema.TextResourceContents(
                uri="file://" + main_py, text="print('main')\n", mime_type="text/x-python")),
            schema.TextContentBlock(type="text", text="and"),
            schema.ResourceContentBlock(type="resource_link", uri="file://" + util_py, name="util.py"),
        ])
        assert result.stop_reason == "end_turn"
        assert client.reads == [util_py]  # read through fs/read_text_file: the client advertised it
        sent = chats(upstream)[-1].json["messages"][-1]["content"]
        assert sent == (f"File {main_py}:\n```\nprint('main')\n```\n\n"
                        f"File {util_py}:\n```\ndef util():\n    return 2\n```\n\n"
                        "Explain @main.py and @util.py")

        before = len(chats(upstream))
        with pytest.raises(RequestError) as refused:
            await conn.prompt(session_id=new.session_id, prompt=[
                schema.TextContentBlock(type="text", text="deploy with these"),
                schema.EmbeddedResourceContentBlock(type="resource", resource=schema.TextResourceContents(
                    uri="file://" + str(project / ".env"), text=f"DEEPSEEK_API_KEY={CANARY_KEY}\n"))])
        message = str(refused.value)
        assert ".env" in message and "may hold secrets" in message and CANARY_KEY not in message
        assert refused.value.data["error"] == message
        with pytest.raises(RequestError) as image:
            await conn.prompt(session_id=new.session_id, prompt=[
                schema.ImageContentBlock(type="image", data="AAAA", mime_type="image/png")])
        assert "hermesd sends text only" in str(image.value)
        assert len(chats(upstream)) == before  # nothing was sent for either

    # Without fs/read_text_file the link stays a link in the message.
    client = Recorder()
    async with spawn(client, acp_env(upstream)) as (conn, _process):
        await initialize(conn, reads=False)
        new = await conn.new_session(cwd=str(project), mcp_servers=[])
        await conn.prompt(session_id=new.session_id, prompt=[
            schema.TextContentBlock(type="text", text="see"),
            schema.ResourceContentBlock(type="resource_link", uri="file://" + util_py, name="util.py")])
        assert chats(upstream)[-1].json["messages"][-1]["content"] == f"see [util.py](file://{util_py})"


async def test_two_agents_racing_to_start_the_daemon_both_work_and_exit_when_stdin_closes(configured, upstream):
    env = acp_env(upstream)
    upstream.reply_text = "both"

    async def one() -> tuple[str, Any]:
        client = Recorder()
        async with spawn(client, env) as (conn, process):
            await initialize(conn)
            new = await conn.new_session(cwd="/", mcp_servers=[])
            result = await conn.prompt(session_id=new.session_id, prompt=[schema.TextContentBlock(type="text", text="x")])
            process.stdin.close()  # the client goes: the agent exits by itself
            code = await asyncio.wait_for(process.wait(), 15)
        return result.stop_reason, code, client.text()

    results = await asyncio.gather(one(), one())
    assert results == [("end_turn", 0, "both"), ("end_turn", 0, "both")]
    assert len(shared_daemon_pids(Path(os.environ["HERMESD_RUNTIME_DIR"]))) == 1


async def test_the_relay_imports_the_standard_library_only(configured, upstream):
    """A new ``hermesd acp`` with the daemon running: a Python start and a connect, no SDK, pydantic or pygls."""
    env = acp_env(upstream)
    async with spawn(Recorder(), env) as (conn, _process):  # the daemon runs, with the SDK loaded
        await initialize(conn)
    async with acp.spawn_agent_process(Recorder(), sys.executable, "-X", "importtime", "-m", "hermesd", "acp",
                                       env=env) as (conn, process):
        await initialize(conn)
        await conn.new_session(cwd="/", mcp_servers=[])
        process.stdin.close()
        stderr = (await asyncio.wait_for(process.stderr.read(), 15)).decode()
    imported = {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}
    assert "hermesd.client.acp" in imported and "hermesd.client.relay" in imported
    heavy = ("acp", "pydantic", "pygls", "lsprotocol", "openai", "httpx", "yaml", "asyncio")
    assert not {name for name in imported if name.split(".")[0] in heavy}, sorted(imported)


async def test_a_daemon_killed_mid_prompt_fails_that_prompt_once_and_the_session_goes_on(configured, upstream):
    """The relay's restart rules, as for editors: the pending prompt answered once (-32005, retryable), a new
    daemon started and given the client's initialize, and the same session id served from disk."""
    import signal

    upstream.chunk_count, upstream.chunk_delay = 40, 0.25
    client = Recorder()
    run_dir = Path(os.environ["HERMESD_RUNTIME_DIR"])
    async with spawn(client, acp_env(upstream)) as (conn, process):
        await initialize(conn)
        new = await conn.new_session(cwd="/", mcp_servers=[])
        running = asyncio.ensure_future(conn.prompt(session_id=new.session_id, prompt=[
            schema.TextContentBlock(type="text", text="a long story")]))
        await asyncio.wait_for(client.first_chunk.wait(), 60)
        [(_, pid)] = shared_daemon_pids(run_dir).items()
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(RequestError) as restarted:
            await asyncio.wait_for(running, 30)
        assert restarted.value.code == -32005 and restarted.value.data["retryable"] is True
        assert "your message was saved in the session" in str(restarted.value)

        upstream.chunk_count, upstream.chunk_delay, upstream.reply_text = 2, 0.0, "after the restart"
        before = len(client.updates)
        result = await asyncio.wait_for(conn.prompt(session_id=new.session_id, prompt=[
            schema.TextContentBlock(type="text", text="go on")]), 60)
        assert result.stop_reason == "end_turn"
        assert "".join(u.content.text for _, u in client.updates[before:]
                       if isinstance(u, schema.AgentMessageChunk)) == "after the restart"
        [(_, new_pid)] = shared_daemon_pids(run_dir).items()
        assert new_pid != pid and process.returncode is None
        sent = chats(upstream)[-1].json["messages"]
        assert sent[0] == {"role": "user", "content": "a long story"} and sent[-1] == {"role": "user", "content": "go on"}


async def test_cancel_while_the_editor_is_reading_a_linked_file_sends_nothing(configured, upstream, tmp_path):
    class SlowReader(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.reading = asyncio.Event()

        async def read_text_file(self, session_id: str, path: str, **_: Any) -> schema.ReadTextFileResponse:
            self.reading.set()
            await asyncio.sleep(30)  # a slow disk or a large file: the user gives up first
            return schema.ReadTextFileResponse(content="late")

    client = SlowReader()
    async with spawn(client, acp_env(upstream)) as (conn, _process):
        await initialize(conn, reads=True)
        new = await conn.new_session(cwd="/", mcp_servers=[])
        running = asyncio.ensure_future(conn.prompt(session_id=new.session_id, prompt=[
            schema.TextContentBlock(type="text", text="read"),
            schema.ResourceContentBlock(type="resource_link", uri=f"file://{tmp_path}/big.py", name="big.py")]))
        await asyncio.wait_for(client.reading.wait(), 60)
        await conn.cancel(session_id=new.session_id)
        result = await asyncio.wait_for(running, 10)
        assert result.stop_reason == "cancelled"
        # The session takes the next prompt at once.
        assert (await conn.prompt(session_id=new.session_id, prompt=[
            schema.TextContentBlock(type="text", text="hi")])).stop_reason == "end_turn"
    assert [r.json["messages"][-1]["content"] for r in chats(upstream)] == ["hi"]


async def test_an_upstream_failure_is_an_error_the_client_shows(configured, upstream):
    """codecompanion shows ``error.message`` (or ``data.error``): what failed and what to do, no key."""
    upstream.fail(status=401, path_contains="chat/completions")
    client = Recorder()
    async with spawn(client, acp_env(upstream)) as (conn, _process):
        await initialize(conn)
        new = await conn.new_session(cwd="/", mcp_servers=[])
        with pytest.raises(RequestError) as failed:
            await conn.prompt(session_id=new.session_id, prompt=[schema.TextContentBlock(type="text", text="hi")])
        message = str(failed.value)
        assert failed.value.data["kind"] == "auth" and failed.value.data["error"] == message
        assert "DEEPSEEK_API_KEY" in message and CANARY_KEY not in message
        # The conversation goes on once the key is fixed (here: the upstream answers again).
        result = await conn.prompt(session_id=new.session_id, prompt=[schema.TextContentBlock(type="text", text="hi")])
        assert result.stop_reason == "end_turn"
