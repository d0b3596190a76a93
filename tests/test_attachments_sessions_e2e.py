"""Attachments and session listing through the real daemon, against the recording upstream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CANARY_KEY, write_config
from tests.lsp_client import LspClient, RpcError

CODE = "def add(a, b):\n    return a + b\n"
NOTE = "A fence inside: ```python\nx = 1\n```\n"


@pytest.fixture
async def client(upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "deepseek", "default": "deepseek-chat"}})
    env = {**os.environ, "DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"}
    lsp = await LspClient.spawn([sys.executable, "-m", "hermesd", "--stdio"], env)
    await lsp.initialize()
    yield lsp
    await lsp.close()


async def test_attachments_are_sent_as_previewed_saved_and_sent_again(client, upstream, tmp_path):
    attachments = [
        {"kind": "file", "path": str(tmp_path / "calc.py"), "language": "python", "text": CODE},
        {"kind": "selection", "path": str(tmp_path / "notes.md"), "language": "markdown",
         "range": {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 3}}, "text": NOTE},
        {"kind": "diagnostics", "path": str(tmp_path / "calc.py"),
         "text": "calc.py:2:5 error: missing type annotation (mypy)"},
    ]
    sent = (
        f"File {tmp_path}/calc.py:\n```python\n{CODE}```\n\n"
        f"Selection from {tmp_path}/notes.md, lines 3-5:\n````markdown\n{NOTE}````\n\n"
        f"Diagnostics for {tmp_path}/calc.py:\n```\ncalc.py:2:5 error: missing type annotation (mypy)\n```\n\n"
        "explain this"
    )
    preview = await client.request("hermes/previewRequest", {"message": "explain this", "attachments": attachments})
    assert preview["body"]["messages"] == [{"role": "user", "content": sent}]

    upstream.reply_text = "it adds"
    result = await client.request("hermes/chat", {"message": "explain this", "attachments": attachments})
    assert result["text"] == "it adds"
    [request] = upstream.requests
    assert request.json["messages"] == [{"role": "user", "content": sent}]
    assert json.loads(request.body)["messages"][0]["content"] == sent  # the exact bytes, not a re-encoding

    # Saved with the turn: the editor can show the chips again, and the next turn sends them again.
    saved = await client.request("hermes/getSession", {"sessionId": result["sessionId"]})
    assert saved["messages"][0]["content"] == "explain this"
    assert saved["messages"][0]["attachments"] == attachments
    await client.request("hermes/chat", {"sessionId": result["sessionId"], "message": "and then?"})
    assert upstream.requests[-1].json["messages"] == [
        {"role": "user", "content": sent},
        {"role": "assistant", "content": "it adds"},
        {"role": "user", "content": "and then?"},
    ]
    [row] = (await client.request("hermes/listSessions"))["sessions"]
    assert row["title"] == "explain this" and row["messageCount"] == 4


async def test_secretish_files_need_confirmation_and_big_or_binary_ones_are_refused(client, upstream, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("local.cfg\n")
    env_file, ignored, plain = repo / ".env", repo / "local.cfg", repo / "app.py"
    asked = [
        {"kind": "file", "path": str(env_file), "text": "TOKEN=x\n"},
        {"kind": "file", "path": str(plain), "text": "print(1)\n"},
        {"kind": "file", "path": str(ignored), "text": "debug = true\n"},
    ]
    for method in ("hermes/chat", "hermes/previewRequest"):
        with pytest.raises(RpcError) as refused:
            await client.request(method, {"message": "look", "attachments": asked})
        assert refused.value.code == -32004
        assert refused.value.error["data"] == {"kind": "needsConfirmation", "attachments": [
            {"index": 0, "path": str(env_file), "reason": "named like a secrets file (.env)"},
            {"index": 2, "path": str(ignored), "reason": "ignored by git"},
        ]}
    assert upstream.requests == []
    assert (await client.request("hermes/listSessions"))["sessions"] == []  # nothing saved either

    confirmed = [{**a, "confirmed": True} if i != 1 else a for i, a in enumerate(asked)]
    result = await client.request("hermes/chat", {"message": "look", "attachments": confirmed})
    assert "TOKEN=x" in upstream.requests[-1].json["messages"][0]["content"]
    saved = await client.request("hermes/getSession", {"sessionId": result["sessionId"]})
    assert saved["messages"][0]["attachments"] == asked  # the confirmation is not context

    big = {"kind": "file", "path": "big.txt", "text": "x" * (256 * 1024 + 1)}
    binary = {"kind": "file", "path": "logo.png", "text": "\x89PNG\r\n\x1a\n\x00\x00"}
    for attachment, words in ((big, "is 262145 bytes; the limit is 262144 bytes (256 KiB) per attachment"),
                              (binary, "looks like a binary file")):
        with pytest.raises(RpcError) as refused:
            await client.request("hermes/chat", {"message": "look", "attachments": [attachment]})
        assert refused.value.code == -32602 and words in refused.value.error["message"]
    assert len(upstream.requests) == 1


async def test_list_sessions_pages_and_filters(client, upstream):
    ids = []
    for i in range(5):
        result = await client.request("hermes/chat", {"message": f"topic {'rust' if i % 2 else 'go'} {i}"})
        ids.append(result["sessionId"])
    first = await client.request("hermes/listSessions", {"limit": 2})
    second = await client.request("hermes/listSessions", {"limit": 2, "cursor": first["nextCursor"]})
    third = await client.request("hermes/listSessions", {"limit": 2, "cursor": second["nextCursor"]})
    listed = [r["sessionId"] for page in (first, second, third) for r in page["sessions"]]
    assert listed == ids[::-1] and "nextCursor" not in third
    rust = await client.request("hermes/listSessions", {"query": "rust"})
    assert [r["title"] for r in rust["sessions"]] == ["topic rust 3", "topic rust 1"]
    with pytest.raises(RpcError) as refused:
        await client.request("hermes/listSessions", {"limit": 10_000})
    assert refused.value.code == -32602 and "`limit` must be an integer from 1 to 500" in refused.value.error["message"]


async def test_sessions_written_by_the_cli_appear_in_a_running_daemon(client, upstream, isolated_home):
    await client.request("hermes/chat", {"message": "from the editor"})
    done = subprocess.run([sys.executable, "-m", "hermesd", "chat", "from the cli"], env=os.environ | {
        "DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    titles = [r["title"] for r in (await client.request("hermes/listSessions"))["sessions"]]
    assert titles == ["from the cli", "from the editor"]
