"""Bad editor input: every reply is a result or a JSON-RPC error with a
message, and the daemon never stops answering.

One daemon serves the whole module (no provider configured, every HTTP
proxy pointed at a closed port so nothing can reach the internet); a raw
stdio client sends the frames an LSP library would refuse to build (deep
nesting, invalid JSON). The hypothesis fuzz drives every ``hermes/*``
method with arbitrary params.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pygls.exceptions import JsonRpcException

from tests.conftest import CANARY_KEY, Daemon, write_config
from tests.daemon import alive, daemon_env, spawn_daemon, stop_daemon
from tests.lsp_client import LspClient, frame
from tests.upstream import Upstream, closed_port_url

module_loop = pytest.mark.asyncio(loop_scope="module")

MiB = 1024 * 1024
METHODS = (
    "hermes/listProviders",
    "hermes/listModels",
    "hermes/listPicker",
    "hermes/selectModel",
    "hermes/getConfig",
    "hermes/setConfig",
    "hermes/describeConfig",
    "hermes/newSession",
    "hermes/chat",
    "hermes/cancel",
    "hermes/previewRequest",
    "hermes/listSessions",
    "hermes/planApply",
    "hermes/getSession",
    "hermes/doctor",
    "hermes/usageReport",
    "hermes/completionEvent",
    "hermes/completionStats",
)


def test_the_fuzz_covers_every_method_the_daemon_advertises() -> None:
    """A method added to the server without being added here would escape the fuzz."""
    from hermesd.serve.handlers import HANDLERS

    assert set(METHODS) == set(HANDLERS)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("input")


@pytest.fixture(scope="module")
def env(root: Path) -> dict[str, str]:
    dead = closed_port_url()  # belt and braces: no request of this module may leave the machine
    return daemon_env(root, {"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def daemon(env: dict[str, str]) -> AsyncIterator[Daemon]:
    d = await spawn_daemon(env)
    yield d
    await stop_daemon(d)


async def call(daemon: Daemon, method: str, params: Any, timeout: float = 30.0) -> tuple[str, Any]:
    """("result", value) or ("error", JsonRpcException); anything else (a hang, a crash) raises."""
    try:
        result = await asyncio.wait_for(daemon.client.protocol.send_request_async(method, params), timeout)
    except JsonRpcException as exc:
        return "error", exc
    return "result", result


async def rejected(daemon: Daemon, method: str, params: Any, code: int = -32602) -> str:
    kind, value = await call(daemon, method, params)
    assert kind == "error", (method, params, value)
    assert value.code == code, (method, value.code, value.message)
    assert value.message
    return value.message


async def assert_serving(daemon: Daemon) -> None:
    assert alive(daemon)
    kind, value = await call(daemon, "hermes/getConfig", {})
    assert kind == "result" and isinstance(value["config"], dict)


# -- unknown methods, wrong types, missing fields ------------------------------------


@module_loop
@pytest.mark.parametrize("method", ["hermes/noSuchMethod", "hermes/", "hermes/chat/extra", "textDocument/hermes", "x" * 5000])
async def test_unknown_methods_get_method_not_found(daemon: Daemon, method: str) -> None:
    await rejected(daemon, method, {}, code=-32601)
    daemon.client.protocol.notify("hermes/noSuchNotification", {"x": 1})  # notifications get no reply at all
    await assert_serving(daemon)


WRONG_TYPES = [
    ("hermes/listModels", {"provider": 5}, "provider"),
    ("hermes/listModels", {"provider": ["deepseek"]}, "provider"),
    ("hermes/setConfig", {"key": 5, "value": 1}, "key"),
    ("hermes/setConfig", {"key": "network.timeout", "value": "soon"}, "network.timeout"),
    ("hermes/setConfig", {"key": "model.max_tokens", "value": 1.5}, "model.max_tokens"),
    ("hermes/setConfig", {"key": "openrouter.provider_preferences", "value": [1]}, "openrouter.provider_preferences"),
    ("hermes/usageReport", {"since": 7}, "since"),
    ("hermes/usageReport", {"by": "week"}, "by"),
    ("hermes/usageReport", {"since": "last week"}, "since"),
    ("hermes/completionEvent", {"id": "s-1", "event": "clicked"}, "event"),
    ("hermes/completionEvent", {"id": 7, "event": "shown"}, "id"),
    ("hermes/newSession", {"provider": 5}, "provider"),
    ("hermes/newSession", {"system": {"a": 1}}, "system"),
    ("hermes/newSession", {"parentSessionId": True}, "parentSessionId"),
    ("hermes/chat", {"message": 42}, "message"),
    ("hermes/chat", {"message": "   "}, "message"),
    ("hermes/chat", {"message": "hi", "temperature": "hot"}, "temperature"),
    ("hermes/chat", {"message": "hi", "temperature": 7}, "temperature"),
    ("hermes/chat", {"message": "hi", "maxTokens": 1.5}, "maxTokens"),
    ("hermes/chat", {"message": "hi", "maxTokens": True}, "maxTokens"),
    ("hermes/chat", {"message": "hi", "provider": ["x"]}, "provider"),
    ("hermes/chat", {"message": "hi", "sessionId": 7}, "sessionId"),
    ("hermes/chat", {"messages": "hi"}, "messages"),
    ("hermes/chat", {"messages": []}, "messages"),
    ("hermes/chat", {"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0]"),
    ("hermes/chat", {"messages": [{"role": "user", "content": 5}]}, "messages[0]"),
    ("hermes/chat", {"messages": [{"role": "user", "content": [[["not a part"]]]}]}, "messages[0]"),
    ("hermes/previewRequest", {"message": 42}, "message"),
    ("hermes/cancel", {"sessionId": 5}, "sessionId"),
    ("hermes/getSession", {"sessionId": ["s-1"]}, "sessionId"),
    ("hermes/doctor", {"providers": "deepseek"}, "providers"),
    ("hermes/doctor", {"providers": [1, 2]}, "providers"),
    ("hermes/chat", [1, 2, 3], "params"),
    ("hermes/getConfig", "just a string", "params"),
]


@module_loop
@pytest.mark.parametrize(("method", "params", "field"), WRONG_TYPES, ids=[f"{m}-{f}-{i}" for i, (m, _, f) in enumerate(WRONG_TYPES)])
async def test_wrong_types_are_invalid_params_naming_the_field(daemon: Daemon, method: str, params: Any, field: str) -> None:
    message = await rejected(daemon, method, params)
    assert field in message, message
    await assert_serving(daemon)


MISSING = [
    ("hermes/chat", {}, "message"),
    ("hermes/previewRequest", {}, "message"),
    ("hermes/listModels", {}, "provider"),
    ("hermes/setConfig", {}, "key"),
    ("hermes/setConfig", {"key": "model.default"}, "value"),
    ("hermes/cancel", {}, "sessionId"),
    ("hermes/getSession", {}, "sessionId"),
]


@module_loop
@pytest.mark.parametrize(("method", "params", "field"), MISSING, ids=[f"{m}-{f}" for m, _, f in MISSING])
async def test_missing_fields_are_invalid_params_naming_the_field(daemon: Daemon, method: str, params: Any, field: str) -> None:
    message = await rejected(daemon, method, params)
    assert field in message, message


# -- size limits -------------------------------------------------------------------------


@module_loop
@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("hermes/chat", {"message": "x" * (MiB + 1)}),
        ("hermes/chat", {"message": "é" * (MiB // 2 + 1)}),  # the limit counts UTF-8 bytes, not characters
        ("hermes/chat", {"messages": [{"role": "user", "content": "x" * (MiB // 2)}] * 3}),
        ("hermes/chat", {"message": "hi", "system": "s" * (MiB + 1)}),
        ("hermes/previewRequest", {"message": "x" * (MiB + 1)}),
        ("hermes/newSession", {"system": "s" * (MiB + 1)}),
    ],
    ids=["message", "utf8", "messages", "system", "preview", "newSession-system"],
)
async def test_huge_messages_are_refused_naming_the_limit(daemon: Daemon, method: str, params: Any) -> None:
    message = await rejected(daemon, method, params)
    assert "1048576 bytes (1 MiB)" in message, message
    await assert_serving(daemon)


@module_loop
async def test_a_message_at_the_limit_is_accepted(daemon: Daemon) -> None:
    kind, result = await call(daemon, "hermes/chat", {"message": "x" * MiB})
    assert kind == "result"
    assert result["error"]["kind"] == "config_error"  # nothing configured: a result, not a protocol error
    saved = await daemon.request("hermes/getSession", {"sessionId": result["sessionId"]})
    assert len(saved["messages"][0]["content"]) == MiB


@module_loop
async def test_a_20_mib_frame_is_answered(daemon: Daemon) -> None:
    """A frame far over the message limit is read, refused, and forgotten."""
    message = await rejected(daemon, "hermes/chat", {"message": "x" * (20 * MiB)})
    assert "1 MiB" in message
    await assert_serving(daemon)


# -- session ids -----------------------------------------------------------------------


@module_loop
@pytest.mark.parametrize(
    "session_id",
    ["s-doesnotexist", "", "s-", "nope", "s-../../evil", "s-x/../../evil", "/etc/passwd", "s-" + "a" * 5000, "s-\x00"],
    ids=["unknown", "empty", "prefix-only", "no-prefix", "dotdot", "traversal", "absolute", "5000-chars", "nul"],
)
async def test_invalid_session_ids(daemon: Daemon, root: Path, session_id: str) -> None:
    # Bait for path traversal: a valid session file outside the sessions directory.
    sessions = root / "data" / "sessions"
    (sessions / "s-x").mkdir(parents=True, exist_ok=True)
    (root / "data" / "evil.jsonl").write_text(json.dumps({"type": "meta", "id": "s-evil", "provider": "", "model": ""}) + "\n")
    for method, params in (
        ("hermes/getSession", {"sessionId": session_id}),
        ("hermes/chat", {"sessionId": session_id, "message": "hi"}),
        ("hermes/previewRequest", {"sessionId": session_id, "message": "hi"}),
        ("hermes/newSession", {"parentSessionId": session_id}),
    ):
        if session_id == "" and method != "hermes/getSession":
            continue  # "" means "none given" for these
        message = await rejected(daemon, method, params)
        assert "unknown" in message and "session" in message, message
    assert await daemon.request("hermes/cancel", {"sessionId": session_id}) == {"cancelled": False}
    listed = await daemon.request("hermes/listSessions")
    assert "s-evil" not in {s["sessionId"] for s in listed["sessions"]}
    await assert_serving(daemon)


# -- raw frames: what a client library would refuse to send ------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def raw_daemon(env: dict[str, str]) -> AsyncIterator[LspClient]:
    client = await LspClient.spawn([sys.executable, "-m", "hermesd", "--stdio"], env)
    await client.initialize()
    yield client
    await client.close()


@pytest_asyncio.fixture(loop_scope="module")
async def raw(raw_daemon: LspClient) -> LspClient:
    assert raw_daemon.proc.returncode is None, "an earlier test killed the daemon"
    raw_daemon.messages.clear()
    return raw_daemon


async def _answered_or_reported(raw: LspClient, msg_id: Any) -> dict[str, Any]:
    """The daemon's reaction to a frame it could not parse: a reply, a parse error or a shown error."""
    def reaction(m: dict[str, Any]) -> bool:
        if m.get("id") == msg_id and "method" not in m:
            return True
        if m.get("id") is None and "error" in m:
            return True
        return m.get("method") == "window/showMessage" and m["params"].get("type") == 1

    message = await raw.wait_for(reaction)
    if "error" in message:
        assert message["error"]["message"]
    return message


@module_loop
@pytest.mark.parametrize("shape", ["lists", "objects"])
async def test_deeply_nested_params_are_rejected_and_the_daemon_lives(raw: LspClient, shape: str) -> None:
    depth = 10_000
    nested = "[" * depth + "]" * depth if shape == "lists" else '{"a":' * depth + "1" + "}" * depth
    raw.send_raw(frame(('{"jsonrpc":"2.0","id":"deep","method":"hermes/setConfig","params":'
                        '{"key":"openrouter.provider_preferences","value":' + nested + "}}").encode()))
    reaction = await _answered_or_reported(raw, "deep")
    assert "result" not in reaction
    reply = await raw.request("hermes/getConfig", {})
    assert reply["config"]["openrouter"]["provider_preferences"] == {}
    assert raw.proc.returncode is None


@module_loop
async def test_nested_values_the_parser_accepts_are_refused_by_the_rules(raw: LspClient, root: Path) -> None:
    """800 levels parse as JSON but must not reach the YAML writer (or the file would not load again)."""
    value: Any = {}
    for _ in range(800):
        value = {"a": value}
    reply = await raw.call("hermes/setConfig", {"key": "openrouter.provider_preferences", "value": value})
    assert reply["error"]["code"] == -32602 and "nested" in reply["error"]["message"]
    assert (await raw.request("hermes/getConfig", {}))["errors"] == []


@module_loop
@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'"a string"',
        b"42",
        b'{"jsonrpc":"2.0"}',
        b'{"jsonrpc":"2.0","id":"x"}',
        b'{"jsonrpc":"1.0","id":"old","method":"hermes/getConfig"}',
        b'{"jsonrpc":"2.0","id":{"a":1},"method":"hermes/getConfig","params":{}}',
        b'{"jsonrpc":"2.0","id":"dup","method":"hermes/getConfig","params":{}, "params":[1]}',
        b'{"jsonrpc":"2.0","id":"nan","method":"hermes/chat","params":{"message":"hi","temperature":NaN}}',
        "\udcff".encode("utf-8", "surrogatepass"),
        b"\xff\xfe garbage",
    ],
)
async def test_malformed_frames_leave_the_daemon_serving(raw: LspClient, body: bytes) -> None:
    raw.send_raw(frame(body))
    assert await raw.request("hermes/getConfig", {}) is not None
    for message in raw.messages:
        if "error" in message:
            assert message["error"]["message"]
    assert raw.proc.returncode is None


@module_loop
async def test_a_frame_with_a_lying_content_length_is_survived(raw: LspClient) -> None:
    """A length shorter than the body: the rest reads as garbage headers, then the daemon resyncs."""
    body = json.dumps({"jsonrpc": "2.0", "id": "short", "method": "hermes/getConfig", "params": {}}).encode()
    raw.send_raw(b"Content-Length: %d\r\n\r\n" % (len(body) - 5) + body + b"\r\n")
    assert await raw.request("hermes/getConfig", {}) is not None
    assert raw.proc.returncode is None


@module_loop
@pytest.mark.parametrize(
    "header",
    [b"Content-Length: abc", b"Content-Length: -5", b"Content-Length: 99999999999999999999",
     b"Content-Length: 9000000000", b"Content-Length:"],
    ids=["non-numeric", "negative", "absurd", "9-GB", "empty"],
)
async def test_a_bad_content_length_is_answered_and_dropped(raw: LspClient, header: bytes) -> None:
    """A parse error with a null id (the body is never read, so its id is unknown), then service as usual.

    Before: the ValueError of int(b"abc") ended the stdio reader, and the daemon with it;
    a 9 GB length was allocated up front.
    """
    body = json.dumps({"jsonrpc": "2.0", "id": "dropped", "method": "hermes/getConfig", "params": {}}).encode()
    raw.send_raw(header + b"\r\n\r\n" + body)
    error = await raw.wait_for(lambda m: "error" in m and m.get("id") is None)
    assert error["error"]["code"] == -32700
    assert "Content-Length" in error["error"]["message"] and "dropped" in error["error"]["message"]
    assert await raw.request("hermes/getConfig", {}) is not None
    assert not [m for m in raw.messages if m.get("id") == "dropped"]
    assert raw.proc.returncode is None


@module_loop
async def test_an_endless_header_line_is_read_in_pieces(raw: LspClient) -> None:
    """4 MiB without a newline is garbage headers, not one 4 MiB allocation per line; the next frame is served."""
    raw.send_raw(b"X-Junk: " + b"j" * (4 * MiB) + b"\r\n\r\n")
    assert await raw.request("hermes/getConfig", {}) is not None


# -- the fuzz ---------------------------------------------------------------------------------

_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "s-", "deepseek", "openrouter/pareto-code", "x" * 300, "\x00", "🦀", "\ud800", "a\u2028b"]),
)
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
)
_json = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
_CONFIG_KEYS = [
    "model.provider", "model.default", "model.base_url", "model.api_mode", "model.reasoning_effort",
    "model.temperature", "model.max_tokens", "openrouter.min_coding_score", "openrouter.provider_preferences",
    "auxiliary.provider", "auxiliary.model", "context.budget_tokens", "context.keep_recent_messages",
    "ollama.num_ctx", "network.timeout", "network.connect_timeout", "network.max_retries", "catalog.ttl_seconds",
]
_PROVIDERS = st.sampled_from(["deepseek", "DeepSeek", "custom", "nope", ""])


def _fields(session_id: str) -> dict[str, dict[str, st.SearchStrategy[Any]]]:
    """Per method: plausible values for each field (the fuzz mixes them with arbitrary JSON)."""
    sessions = st.sampled_from([session_id, session_id, "s-0123456789abcdef"])
    message = st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "developer", "tool", "bogus"]),
         "content": st.one_of(_text, st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": _text}), max_size=2))},
    )
    chat = {
        "message": _text.filter(str.strip), "sessionId": sessions, "messages": st.lists(message, min_size=1, max_size=3),
        "provider": _PROVIDERS, "model": _text, "system": _text,
        "temperature": st.floats(0, 2), "maxTokens": st.integers(1, 10**6),
        "attachments": st.lists(st.fixed_dictionaries(
            {"kind": st.sampled_from(["file", "selection", "diagnostics", "image"]), "text": _text},
            optional={"path": st.sampled_from(["/tmp/a.py", ".env", "rel.txt", ""]), "language": _text,
                      "range": st.fixed_dictionaries({"start": st.fixed_dictionaries({"line": st.integers(-1, 5),
                                                      "character": st.integers(0, 5)}), "end": _json}),
                      "confirmed": st.booleans()}), max_size=3),
    }
    return {
        "hermes/listProviders": {"refresh": st.booleans()},
        "hermes/listModels": {"provider": _PROVIDERS, "refresh": st.booleans()},
        "hermes/listPicker": {"refresh": st.booleans()},
        "hermes/selectModel": {"provider": _PROVIDERS, "model": _text,
                               "minCodingScore": st.one_of(st.none(), st.floats(-1, 2), _text)},
        "hermes/getConfig": {},
        "hermes/describeConfig": {},
        # Only values that cannot point the daemon at a real endpoint (base_url needs an http URL).
        "hermes/setConfig": {"key": st.one_of(st.sampled_from(_CONFIG_KEYS), _text), "value": _json, "reset": st.booleans()},
        "hermes/newSession": {"provider": _PROVIDERS, "model": _text, "parentSessionId": sessions, "system": _text},
        "hermes/chat": chat,
        "hermes/previewRequest": chat,
        "hermes/cancel": {"sessionId": sessions},
        "hermes/listSessions": {"limit": st.integers(-1, 600), "cursor": st.one_of(_text, st.just("1.5:s-x")),
                                "query": _text},
        "hermes/planApply": {"code": _text, "path": _text, "text": _text, "language": st.sampled_from(["diff", "", "py"]),
                             "range": st.fixed_dictionaries({"start": st.fixed_dictionaries(
                                 {"line": st.integers(0, 3), "character": st.integers(0, 3)}), "end": _json})},
        "hermes/getSession": {"sessionId": sessions},
        "hermes/doctor": {"providers": st.lists(_PROVIDERS, max_size=3), "probe": st.booleans(),
                          "workDoneToken": st.one_of(st.none(), st.text(max_size=8))},
        "hermes/usageReport": {"since": st.one_of(_text, st.sampled_from(["7d", "24h", "0d", "99999d", "2026-02-30"])),
                               "by": st.sampled_from(["day", "provider", "model", "week"])},
        "hermes/completionEvent": {"id": _text, "event": st.sampled_from(["shown", "accepted", "rejected", "clicked"])},
        "hermes/completionStats": {},
    }


_REQUIRED = {"hermes/listModels": ["provider"], "hermes/selectModel": ["provider", "model"], "hermes/setConfig": ["key", "value"], "hermes/chat": ["message"],
             "hermes/previewRequest": ["message"], "hermes/cancel": ["sessionId"], "hermes/getSession": ["sessionId"],
             "hermes/planApply": ["code", "path", "text"], "hermes/completionEvent": ["id", "event"]}


def _params(method: str, session_id: str) -> st.SearchStrategy[Any]:
    fields = _fields(session_id)[method]
    required = {k: fields[k] for k in _REQUIRED.get(method, [])}
    optional = {k: v for k, v in fields.items() if k not in required}
    plausible = st.fixed_dictionaries(required, optional=optional)
    mixed = st.fixed_dictionaries({}, optional={k: st.one_of(v, _json) for k, v in fields.items()})
    return st.one_of(plausible, mixed, st.dictionaries(st.sampled_from(list(fields) or ["x"]), _json, max_size=3), _json)


@module_loop
@pytest.mark.filterwarnings("ignore::pytest_lsp.checks.LspSpecificationWarning")  # fuzzed workDoneTokens
@pytest.mark.parametrize("method", METHODS)
async def test_fuzz_every_method(fuzz_daemon: Daemon, method: str) -> None:
    """Any params: a result or a JSON-RPC error with a non-empty message, never a crash or a hang."""
    loop = asyncio.get_running_loop()
    daemon = fuzz_daemon
    session = await daemon.request("hermes/newSession", {"provider": "deepseek", "model": "deepseek-chat"})

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(params=_params(method, session["sessionId"]))
    def check(params: Any) -> None:
        kind, value = asyncio.run_coroutine_threadsafe(call(daemon, method, params), loop).result(60)
        if kind == "error":
            assert isinstance(value.code, int) and value.message, (params, value)
            assert value.code != -32603, f"internal error for {method} {params!r}: {value.message}"
        else:
            assert isinstance(value, dict), (params, value)
            if method == "hermes/chat":
                assert value["stopReason"] in ("end_turn", "max_tokens", "cancelled", "error")
                assert value["stopReason"] != "error" or value["error"]["message"]

    await asyncio.to_thread(check)
    assert alive(daemon)
    for probe in ("hermes/getConfig", "hermes/listSessions", "hermes/listProviders"):
        kind, value = await call(daemon, probe, {})
        assert kind == "result", (probe, value)


@pytest.fixture(scope="module")
def fuzz_upstream() -> Iterator[Upstream]:
    with Upstream() as up:
        up.chunk_count = 2
        yield up


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fuzz_daemon(root: Path, fuzz_upstream: Upstream) -> AsyncIterator[Daemon]:
    """Its own home: deepseek points at a local upstream, so fuzzed chats really stream."""
    dead = closed_port_url()
    env = daemon_env(root / "fuzz", {
        "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead,
        "DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{fuzz_upstream.url}/v1",
    })
    write_config(root / "fuzz" / "hermes-home", {"model": {"provider": "deepseek", "default": "deepseek-chat"}})
    d = await spawn_daemon(env)
    yield d
    await stop_daemon(d)
