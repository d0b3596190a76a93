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
