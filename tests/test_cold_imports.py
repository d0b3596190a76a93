"""Cold paths import only what they need (``python -X importtime`` lists every module).

A one-shot ``hermesd chat`` runs in-process: it must not load the editor
protocol stack (pygls, lsprotocol) or the openai SDK for a Chat Completions or
Anthropic Messages provider, and ``--preview`` sends nothing, so it loads no
HTTP stack at all. ``hermesd --stdio`` answers ``initialize`` before any HTTP
stack, config parser or SDK is imported (those come with the warm-up after
``initialized``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import CANARY_KEY

EDITOR_AND_SDK = ("pygls", "lsprotocol", "openai", "httpx2", "acp", "pydantic")
HTTP_STACK = ("httpx", "httpcore", "httpx_sse", "anyio", "h11")
_IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$")

PROVIDERS = {
    # provider: (its api_mode, the model, env pointing it at the recording upstream)
    "deepseek": ("chat_completions", "deepseek-chat", "DEEPSEEK"),
    "anthropic": ("anthropic_messages", "claude-test", "ANTHROPIC"),
}


def imported_roots(stderr: str) -> set[str]:
    """Top-level packages named in ``-X importtime`` output."""
    roots = set()
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            roots.add(match.group(1).split(".")[0])
    return roots


def run_cold(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "hermesd", *args], env={**os.environ, **env},
                          input=stdin, capture_output=True, text=True, timeout=60)


def provider_env(provider: str, upstream_url: str) -> dict[str, str]:
    prefix = PROVIDERS[provider][2]
    base = upstream_url + ("/v1" if provider == "deepseek" else "")
    return {f"{prefix}_API_KEY": CANARY_KEY, f"{prefix}_BASE_URL": base}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_cli_chat_imports_no_editor_stack_or_sdk(provider, upstream, isolated_home):
    api_mode, model, _ = PROVIDERS[provider]
    upstream.reply_text = "cold hello"
    result = run_cold("chat", "-p", provider, "-m", model, "hi", env=provider_env(provider, upstream.url))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "cold hello"
    [request] = upstream.requests
    assert request.json["model"] == model and request.json["stream"] is True
    assert request.path.endswith("/chat/completions" if api_mode == "chat_completions" else "/messages")
    roots = imported_roots(result.stderr)
    assert "httpx" in roots  # the parse works: the request went out over httpx
    assert not roots & set(EDITOR_AND_SDK), sorted(roots & set(EDITOR_AND_SDK))


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_cli_preview_imports_no_http_stack(provider, upstream, isolated_home):
    api_mode, model, _ = PROVIDERS[provider]
    result = run_cold("chat", "-p", provider, "-m", model, "--preview", "hi", env=provider_env(provider, upstream.url))
    assert result.returncode == 0, result.stderr[-2000:]
    preview = json.loads(result.stdout)
    assert preview["apiMode"] == api_mode and preview["body"]["model"] == model
    assert CANARY_KEY not in result.stdout
    assert upstream.requests == []
    roots = imported_roots(result.stderr)
    assert "hermesd" in roots
    assert not roots & set(EDITOR_AND_SDK + HTTP_STACK), sorted(roots & set(EDITOR_AND_SDK + HTTP_STACK))


def _frame(message: dict) -> str:
    body = json.dumps(message)
    return f"Content-Length: {len(body.encode())}\r\n\r\n{body}"


def test_stdio_daemon_answers_initialize_before_any_http_stack_or_sdk(isolated_home):
    """``initialize`` then end of input: the process imports what the first reply needs, and exits."""
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}}
    result = run_cold("--stdio", env={}, stdin=_frame(init))
    assert result.stdout.startswith("Content-Length:"), result.stdout[:500]
    frames = result.stdout.split("Content-Length:")[1:]
    messages = [json.JSONDecoder().raw_decode(body, body.index("{"))[0] for body in frames]
    assert messages[0]["method"] == "window/logMessage"  # "hermesd …: starting …" (docs/protocol.md)
    [reply] = [m for m in messages if m.get("id") == 1]
    assert "capabilities" in reply["result"], reply
    roots = imported_roots(result.stderr)
    assert "pygls" in roots  # the editor protocol is what this path is for
    heavy = set(HTTP_STACK + ("openai", "httpx2", "yaml", "acp", "pydantic"))
    assert not roots & heavy, sorted(roots & heavy)


def test_httpx_comes_without_its_command_line_libraries() -> None:
    """httpx imports click, rich and pygments for its CLI when they are installed; hermesd's processes skip them."""
    probe = "import sys; {}import httpx; print(sorted(m for m in ('click', 'rich', 'pygments') if m in sys.modules))"
    plain = subprocess.run([sys.executable, "-c", probe.format("")], capture_output=True, text=True, timeout=60, check=True)
    if plain.stdout.strip() == "[]":
        pytest.skip("neither click nor rich is installed here: httpx imports nothing extra anyway")
    ours = subprocess.run([sys.executable, "-c", probe.format("import hermesd; ")], capture_output=True, text=True,
                          timeout=60, check=True)
    assert ours.stdout.strip() == "[]"
