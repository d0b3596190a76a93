"""Inline completion end to end: the real daemon over stdio, the recording upstream as the FIM server.

What is checked is what a user and a provider would see: the daemon registers
completion with the editor once config.yaml names a completion model, keeps the
editor's buffer in step through incremental changes, and sends the exact FIM
request; the suggestion comes back post-processed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types

from tests.conftest import write_config

URI = "file:///work/project/app.py"


def _capabilities() -> types.ClientCapabilities:
    """VS Code's recorded capabilities, plus dynamic registration of inline completion (LSP 3.18)."""
    from pytest_lsp import client_capabilities

    caps = client_capabilities("visual-studio-code")
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities(dynamic_registration=True)
    return caps


def _completion_config(up: Any, **extra: Any) -> dict[str, Any]:
    return {"completion": {"provider": "custom", "model": "qwen2.5-coder:1.5b-base", "base_url": f"{up.url}/v1", **extra}}


async def _ready(start_daemon: Any, home: Any, up: Any, text: str, **config: Any) -> Any:
    """A daemon with completion configured (``config`` over the defaults), registered, and ``text`` open at URI."""
    write_config(home, _completion_config(up, **config))
    daemon = await start_daemon(capabilities=_capabilities())
    await _wait_registered(daemon, types.TEXT_DOCUMENT_INLINE_COMPLETION)
    _open(daemon, text)
    return daemon


async def _wait_registered(daemon: Any, method: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while method not in daemon.registered():
        assert asyncio.get_running_loop().time() < deadline, f"{method} never registered: {daemon.registrations}"
        await asyncio.sleep(0.02)


def _open(daemon: Any, text: str, uri: str = URI, language: str = "python") -> None:
    daemon.client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))


def _insert(daemon: Any, line: int, character: int, text: str, version: int, uri: str = URI) -> None:
    here = types.Position(line=line, character=character)
    daemon.client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=here, end=here), text=text)]))


async def _complete(daemon: Any, line: int, character: int, uri: str = URI) -> list[dict[str, Any]]:
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic))
    result = await asyncio.wait_for(daemon.client.text_document_inline_completion_async(params), 20)
    items = result.items if isinstance(result, types.InlineCompletionList) else result or []
    return [{"insertText": item.insert_text} for item in items]


async def test_completion_registers_syncs_and_sends_the_exact_fim_request(start_daemon, upstream, isolated_home):
    write_config(isolated_home, _completion_config(upstream))
    upstream.reply_text = "a + b\n\nprint(add(1, 2))"
    upstream.chunk_count = 3
    daemon = await start_daemon(capabilities=_capabilities())

    await _wait_registered(daemon, types.TEXT_DOCUMENT_INLINE_COMPLETION)
    assert {types.TEXT_DOCUMENT_DID_OPEN, types.TEXT_DOCUMENT_DID_CHANGE, types.TEXT_DOCUMENT_DID_CLOSE} <= daemon.registered()
    [(_, params)] = daemon.registrations
    change = next(r for r in params.registrations if r.method == types.TEXT_DOCUMENT_DID_CHANGE)
    assert change.register_options["syncKind"] == 2  # incremental

    _open(daemon, "def add(a, b):\n    return \n")
    _insert(daemon, 0, 0, "# sum\n", 2)  # the buffer as the editor has it: one line more
    items = await _complete(daemon, 2, 11)

    assert items == [{"insertText": "a + b"}]
    [request] = upstream.requests
    assert request.path == "/v1/completions"
    assert "authorization" not in request.headers  # a local server, no key
    assert request.json == {
        "model": "qwen2.5-coder:1.5b-base",
        "prompt": "<|fim_prefix|># sum\ndef add(a, b):\n    return <|fim_suffix|>\n<|fim_middle|>",
        "max_tokens": 64,
        "temperature": 0,
        "stream": True,
        "stop": ["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>",
                 "<|repo_name|>", "<|file_sep|>", "<|im_start|>", "<|im_end|>"],
    }


async def test_server_template_sends_prompt_and_suffix_and_trims_the_overlap(start_daemon, upstream, isolated_home):
    write_config(isolated_home, _completion_config(upstream, template="server", max_tokens=32))
    upstream.reply_text = "1, 2)"  # the model writes the bracket already after the cursor
    daemon = await start_daemon(capabilities=_capabilities())
    await _wait_registered(daemon, types.TEXT_DOCUMENT_INLINE_COMPLETION)

    _open(daemon, "print(add()\n")
    items = await _complete(daemon, 0, 10)

    assert [i["insertText"] for i in items] == ["1, 2"]
    [request] = upstream.requests
    assert request.json == {"model": "qwen2.5-coder:1.5b-base", "prompt": "print(add(", "suffix": ")\n",
                            "max_tokens": 32, "temperature": 0, "stream": True}


async def test_nothing_is_registered_or_sent_until_completion_is_configured(start_daemon, upstream, isolated_home):
    daemon = await start_daemon(capabilities=_capabilities())
    await asyncio.sleep(0.5)
    assert daemon.registered() == set()

    await daemon.request("hermes/setConfig", {"key": "completion.base_url", "value": f"{upstream.url}/v1"})
    await daemon.request("hermes/setConfig", {"key": "completion.provider", "value": "custom"})
    await daemon.request("hermes/setConfig", {"key": "completion.model", "value": "starcoder2:3b"})
    await _wait_registered(daemon, types.TEXT_DOCUMENT_INLINE_COMPLETION)  # no restart needed
    upstream.reply_text = "   \n  "  # whitespace only: no suggestion
    _open(daemon, "x = ")
    assert await _complete(daemon, 0, 4) == []
    assert upstream.requests[-1].json["prompt"] == "<fim_prefix>x = <fim_suffix><fim_middle>"

    await daemon.request("hermes/setConfig", {"key": "completion.model", "reset": True})
    deadline = asyncio.get_running_loop().time() + 10
    while daemon.registered():
        assert asyncio.get_running_loop().time() < deadline, daemon.registrations
        await asyncio.sleep(0.02)


async def test_a_newer_keystroke_supersedes_and_closes_the_upstream_stream(start_daemon, upstream, isolated_home):
    upstream.reply_text = "total = 0\n    for x in xs:"
    upstream.chunk_count = 4
    upstream.chunk_delay = 0.4  # a slow model: the first answer is still streaming at the next keystroke
    daemon = await _ready(start_daemon, isolated_home, upstream, "def f(xs):\n    \n")

    first = asyncio.ensure_future(_complete(daemon, 1, 4))
    await asyncio.to_thread(upstream.wait_for_requests, 1, 10)
    _insert(daemon, 1, 4, "t", 2)
    second = asyncio.ensure_future(_complete(daemon, 1, 5))

    assert await asyncio.wait_for(first, 10) == []  # superseded: no suggestion, and no error
    [(path, _)] = await asyncio.to_thread(upstream.wait_for_disconnects, 1, 5)  # its stream closed, not read to the end
    assert path == "/v1/completions"
    await asyncio.wait_for(second, 20)
    assert len(upstream.requests) == 2
    assert upstream.requests[1].json["prompt"].endswith("    t<|fim_suffix|>\n<|fim_middle|>")


async def test_typing_the_suggestion_is_answered_from_the_cache(start_daemon, upstream, isolated_home):
    upstream.reply_text = "return a + b"
    daemon = await _ready(start_daemon, isolated_home, upstream, "def add(a, b):\n    \n")

    assert await _complete(daemon, 1, 4) == [{"insertText": "return a + b"}]
    _insert(daemon, 1, 4, "ret", 2)
    assert await _complete(daemon, 1, 7) == [{"insertText": "urn a + b"}]
    _insert(daemon, 1, 7, "x", 3)  # off the suggestion: a new request
    await _complete(daemon, 1, 8)
    assert len(upstream.requests) == 2


async def test_secret_buffers_are_never_sent(start_daemon, upstream, isolated_home):
    write_config(isolated_home, _completion_config(upstream))
    daemon = await start_daemon(capabilities=_capabilities())
    await _wait_registered(daemon, types.TEXT_DOCUMENT_INLINE_COMPLETION)
    _open(daemon, "API_KEY=", uri="file:///work/project/.env", language="dotenv")
    _open(daemon, "KEY = '''-----BEGIN OPENSSH PRIVATE KEY-----\n", uri="file:///work/project/keys.py")

    assert await _complete(daemon, 0, 8, uri="file:///work/project/.env") == []
    assert await _complete(daemon, 1, 0, uri="file:///work/project/keys.py") == []
    assert upstream.requests == []


# Each family's prompt as its model was trained to read it, for the hole "def f(x):\n    " | "\n".
FAMILIES = {
    "Qwen/Qwen2.5-Coder-7B": "<|fim_prefix|>def f(x):\n    <|fim_suffix|>\n<|fim_middle|>",
    "qwen3-coder:30b-a3b": "<|fim_prefix|>def f(x):\n    <|fim_suffix|>\n<|fim_middle|>",
    "bigcode/starcoder2-3b": "<fim_prefix>def f(x):\n    <fim_suffix>\n<fim_middle>",
    "codestral-22b-v0.1": "[SUFFIX]\n[PREFIX]def f(x):\n    ",
    "deepseek-coder-6.7b-base": "<｜fim▁begin｜>def f(x):\n    <｜fim▁hole｜>\n<｜fim▁end｜>",
    "codellama:7b-code": "<PRE> def f(x):\n     <SUF>\n <MID>",
    "google/codegemma-2b": "<|fim_prefix|>def f(x):\n    <|fim_suffix|>\n<|fim_middle|>",
}


async def test_each_family_gets_its_own_fim_template_on_the_wire(start_daemon, upstream, isolated_home):
    upstream.reply_text = "return x"
    daemon = await _ready(start_daemon, isolated_home, upstream, "def f(x):\n    \n")
    for version, (model, prompt) in enumerate(FAMILIES.items(), start=2):
        await daemon.request("hermes/setConfig", {"key": "completion.model", "value": model})
        _insert(daemon, 1, 4, "", version)  # a change, so the cache does not answer
        assert await _complete(daemon, 1, 4) == [{"insertText": "return x"}], model
        request = upstream.requests[-1]
        assert request.json["model"] == model
        assert request.json["prompt"] == prompt, model
        assert "suffix" not in request.json
        assert b'"prompt":' + json_string(prompt) + b"," in request.body, model  # non-ASCII tokens as UTF-8


def json_string(text: str) -> bytes:
    """``text`` as a JSON string, exactly as compact UTF-8 JSON carries it."""
    import json

    return json.dumps(text, ensure_ascii=False).encode()


async def test_each_endpoint_kind_sends_its_own_wire_format(start_daemon, upstream, isolated_home):
    upstream.reply_text = "42 * 2"
    daemon = await _ready(start_daemon, isolated_home, upstream, "x = \ny = 1\n", template="server", max_tokens=16,
                          multiline=False)
    expected = {
        "fim": ("/v1/fim/completions", {"model": "qwen2.5-coder:1.5b-base", "prompt": "x = ", "suffix": "\ny = 1\n",
                                        "max_tokens": 16, "temperature": 0, "stream": True, "stop": ["\n"]}),
        "infill": ("/infill", {"input_prefix": "x = ", "input_suffix": "\ny = 1\n", "n_predict": 16, "temperature": 0,
                               "stream": True, "cache_prompt": True, "stop": ["\n"]}),
        "ollama": ("/api/generate", {"model": "qwen2.5-coder:1.5b-base", "prompt": "x = ", "suffix": "\ny = 1\n",
                                     "stream": True, "options": {"num_predict": 16, "temperature": 0, "stop": ["\n"]}}),
        "completions": ("/v1/completions", {"model": "qwen2.5-coder:1.5b-base", "prompt": "x = ", "suffix": "\ny = 1\n",
                                            "max_tokens": 16, "temperature": 0, "stream": True, "stop": ["\n"]}),
    }
    for version, (endpoint, (path, body)) in enumerate(expected.items(), start=2):
        await daemon.request("hermes/setConfig", {"key": "completion.endpoint", "value": endpoint})
        _insert(daemon, 0, 4, "", version)
        assert await _complete(daemon, 0, 4) == [{"insertText": "42 * 2"}], endpoint
        request = upstream.requests[-1]
        assert (request.path, request.json) == (path, body), endpoint

    await daemon.request("hermes/setConfig", {"key": "completion.endpoint", "value": "chat"})
    upstream.reply_text = "Sure!\n<COMPLETION>42 * 2</COMPLETION>"
    _insert(daemon, 0, 4, "", 9)
    assert await _complete(daemon, 0, 4) == [{"insertText": "42 * 2"}]
    request = upstream.requests[-1]
    assert request.path == "/v1/chat/completions"
    assert request.json["messages"][1] == {
        "role": "user", "content": "Fill the <HOLE> in this python file (/work/project/app.py):\n\nx = <HOLE>\ny = 1\n"}
    assert request.json["messages"][0]["role"] == "system"


async def test_shown_and_accepted_are_counted(start_daemon, upstream, isolated_home):
    write_config(isolated_home, _completion_config(upstream))
    upstream.reply_text = "return a + b"
    daemon = await start_daemon(capabilities=_capabilities())
    await _wait_registered(daemon, types.TEXT_DOCUMENT_INLINE_COMPLETION)
    assert "hermes.completionAccepted" in daemon.init_result.capabilities.execute_command_provider.commands
    _open(daemon, "def add(a, b):\n    \n")
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=URI), position=types.Position(line=1, character=4),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic))
    [item] = (await daemon.client.text_document_inline_completion_async(params)).items
    command = item.command
    assert command.command == "hermes.completionAccepted"

    daemon.client.protocol.notify("hermes/completionEvent", {"id": command.arguments[0], "event": "shown"})
    daemon.client.protocol.notify("hermes/completionEvent", {"id": command.arguments[0], "event": "shown"})  # once
    await daemon.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=command.command, arguments=command.arguments))
    stats = await daemon.request("hermes/completionStats")
    assert stats == {"requests": 1, "suggestions": 1, "cacheHits": 0, "superseded": 0, "refused": 0, "errors": 0,
                     "shown": 1, "accepted": 1, "rejected": 0}


def test_cli_complete_previews_the_exact_request_and_completes(upstream, isolated_home, tmp_path):
    import json
    import os
    import subprocess
    import sys

    write_config(isolated_home, _completion_config(upstream, template="codellama"))
    source = tmp_path / "app.py"
    source.write_text("def add(a, b):\n    \n", encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hermesd", "complete", *args], capture_output=True, text=True,
                              env=os.environ, timeout=60)

    preview = run("--preview", f"{source}:2:5")
    assert preview.returncode == 0, preview.stderr
    shown = json.loads(preview.stdout)
    assert (shown["endpoint"], shown["template"], shown["templateReason"]) == ("completions", "codellama",
                                                                                "completion.template")
    assert shown["request"]["body"]["prompt"] == "<PRE> def add(a, b):\n     <SUF>\n <MID>"
    assert upstream.requests == []  # a preview sends nothing

    upstream.reply_text = "return a + b<EOT>"
    done = run(f"{source}:2:5")
    assert (done.returncode, done.stdout) == (0, "return a + b\n")
    assert upstream.last.json == shown["request"]["body"]

    (tmp_path / ".env").write_text("TOKEN=\n")
    refused = run("--preview", f"{tmp_path / '.env'}:1:7")
    assert "nothing would be sent" in json.loads(refused.stdout)["refused"]
    assert run(f"{source}:9:1").returncode == 2


def test_doctor_reports_the_completion_setup_and_probes_a_local_endpoint(upstream, isolated_home):
    import json
    import os
    import subprocess
    import sys

    write_config(isolated_home, _completion_config(upstream))

    def doctor() -> dict[str, dict[str, Any]]:
        done = subprocess.run([sys.executable, "-m", "hermesd", "doctor", "--json"], capture_output=True, text=True,
                              env=os.environ, timeout=120)
        return {row["id"]: row for row in json.loads(done.stdout)["checks"] if row["id"].startswith("completion")}

    rows = doctor()
    assert rows["completion"]["status"] == "ok"
    assert "via completions" in rows["completion"]["summary"] and "template qwen-coder" in rows["completion"]["summary"]
    assert rows["completion:probe"]["status"] == "ok"
    [probe] = [r for r in upstream.requests if r.path == "/v1/completions"]
    assert probe.json["max_tokens"] == 1

    write_config(isolated_home, _completion_config(upstream, model="smollm2"))  # no FIM tokens
    rows = doctor()
    assert rows["completion"]["status"] == "warn" and "FIM model" in rows["completion"]["hint"]


async def test_one_line_answers_stop_the_stream_and_connections_are_reused(start_daemon, upstream, isolated_home):
    upstream.reply_text = "1\n" + "x = 2\n" * 20  # one line is all that can be shown: the rest is never read
    upstream.chunk_count = 8
    upstream.chunk_delay = 0.3
    daemon = await _ready(start_daemon, isolated_home, upstream, "y = \n", multiline=False, template="server")

    assert await _complete(daemon, 0, 4) == [{"insertText": "1"}]
    await asyncio.to_thread(upstream.wait_for_disconnects, 1, 5)  # closed after the first line...
    assert upstream.answered == []  # ...not read to its end

    upstream.configure(chunk_delay=0.0, reply_text="3")  # whole answers: each connection goes back to the pool
    for version, text in enumerate(("a", "b"), start=2):
        _insert(daemon, 0, 4, text, version)
        await _complete(daemon, 0, 5 if version == 2 else 6)
    first, second = upstream.requests[-2:]
    assert first.client_port == second.client_port
    await daemon.request("hermes/setConfig", {"key": "completion.endpoint", "value": "ollama"})  # one JSON a line
    for version, text in enumerate(("c", "d"), start=4):
        _insert(daemon, 0, 4, text, version)
        await _complete(daemon, 0, 5)
    first, second = upstream.requests[-2:]
    assert first.path == second.path == "/api/generate" and first.client_port == second.client_port


async def test_a_server_that_ignores_stream_is_read_too(start_daemon, isolated_home):
    """llama.cpp builds and proxies that answer one JSON body to ``"stream": true``."""
    from http.server import BaseHTTPRequestHandler

    from tests._unit_helpers import serving

    class OneBody(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"choices": [{"index": 0, "text": "a + b", "finish_reason": "stop"}]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(OneBody) as url:
        write_config(isolated_home, {"completion": {"provider": "custom", "model": "starcoder2-3b", "base_url": f"{url}/v1"}})
        daemon = await start_daemon(capabilities=_capabilities())
        await _wait_registered(daemon, types.TEXT_DOCUMENT_INLINE_COMPLETION)
        _open(daemon, "return \n")
        assert await _complete(daemon, 0, 7) == [{"insertText": "a + b"}]


async def test_two_editors_on_the_shared_daemon_keep_their_own_buffers(start_daemon, upstream, isolated_home):
    """Registration passes the forwarder both ways; one editor's buffer is unknown to the other."""
    write_config(isolated_home, _completion_config(upstream))
    upstream.reply_text = "return a + b"
    first = await start_daemon(capabilities=_capabilities(), shared=True)
    second = await start_daemon(capabilities=_capabilities(), shared=True)
    for editor in (first, second):
        await _wait_registered(editor, types.TEXT_DOCUMENT_INLINE_COMPLETION)
    _open(first, "def add(a, b):\n    \n")

    assert await _complete(first, 1, 4) == [{"insertText": "return a + b"}]
    assert await _complete(second, 1, 4) == []  # never opened there: the first editor's buffer is not shared
    assert len(upstream.requests) == 1


async def test_an_edit_of_config_yaml_turns_completion_on_and_off(start_daemon, upstream, isolated_home):
    daemon = await start_daemon(capabilities=_capabilities())
    await daemon.request("hermes/getConfig")  # the watch's baseline: completion off
    write_config(isolated_home, _completion_config(upstream))  # edited by hand, not through hermesd
    await _wait_registered(daemon, types.TEXT_DOCUMENT_INLINE_COMPLETION)
    write_config(isolated_home, {})
    deadline = asyncio.get_running_loop().time() + 10
    while daemon.registered():
        assert asyncio.get_running_loop().time() < deadline, daemon.registrations
        await asyncio.sleep(0.05)


async def test_cancel_request_closes_the_upstream_stream(start_daemon, upstream, isolated_home):
    """An editor's ``$/cancelRequest`` (VS Code and Neovim send one for a request they no longer want) closes
    the upstream stream at once, over stdio and through the shared daemon alike."""
    write_config(isolated_home, _completion_config(upstream))
    upstream.reply_text = "total = 0\n    for x in xs:"
    upstream.chunk_count = 4
    upstream.chunk_delay = 0.5
    for n, shared in enumerate((False, True), start=1):
        upstream.configure(chunk_delay=0.5)
        daemon = await start_daemon(capabilities=_capabilities(), shared=shared)
        await _wait_registered(daemon, types.TEXT_DOCUMENT_INLINE_COMPLETION)
        _open(daemon, "def f(xs):\n    \n")
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI), position=types.Position(line=1, character=4),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic))
        pending = asyncio.ensure_future(daemon.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=f"inline-{n}"))
        await asyncio.to_thread(upstream.wait_for_requests, 2 * n - 1, 10)
        upstream.configure(chunk_delay=0.0)  # the next request answers at once (Neovim's e2e does the same)
        daemon.cancel_request(f"inline-{n}")  # then at once the next keystroke and its request, as editors do
        _insert(daemon, 1, 4, "t", 2)
        following = asyncio.ensure_future(_complete(daemon, 1, 5))
        [*_, (path, _)] = await asyncio.to_thread(upstream.wait_for_disconnects, n, 5)
        assert path == "/v1/completions", shared
        try:
            await asyncio.wait_for(pending, 10)
        except Exception:  # noqa: BLE001 - RequestCancelled, as LSP allows
            pass
        await asyncio.wait_for(following, 20)
