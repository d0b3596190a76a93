"""Upstream faults for every api_mode: each ends in a normalised error (or a
successful retry), keeps the partial text, and leaves the daemon serving.

One daemon per api_mode (module-scoped) talks to one recording upstream on
127.0.0.1; every test resets the upstream's faults and ends by proving the
daemon still answers a normal chat. ``network.timeout`` is 1.5 s so the
timeout faults stay fast.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.conftest import CANARY_KEY, write_config
from tests.daemon import Daemon, alive, daemon_env, spawn_daemon, stop_daemon
from tests.upstream import Upstream, closed_port_url

pytestmark = pytest.mark.asyncio(loop_scope="module")

TIMEOUT = 1.5
MAX_RETRIES = 2
MAX_REPLY_BYTES = 16 * 1024 * 1024
TEXT = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
CHUNKS = 5


def pieces(text: str, n: int) -> list[str]:
    """How tests/upstream.py splits ``reply_text`` into ``chunk_count`` deltas."""
    size = len(text)
    return [text[i * size // n: (i + 1) * size // n] for i in range(n)]


# -- the modes ---------------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    api_mode: str
    provider: str
    model: str
    key_var: str
    base_var: str
    base_suffix: str
    path: str
    context_message: str

    def base_url(self, url: str) -> str:
        return url + self.base_suffix


MODES = {
    "chat_completions": Mode(
        "chat_completions", "deepseek", "deepseek-chat", "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", "/v1",
        "/v1/chat/completions",
        "This model's maximum context length is 65536 tokens. However, you requested 70000 tokens.",
    ),
    "codex_responses": Mode(
        "codex_responses", "xai", "grok-4", "XAI_API_KEY", "XAI_BASE_URL", "/v1", "/v1/responses",
        "This model's maximum prompt length is 131072 but the request contains 200000 tokens.",
    ),
    "anthropic_messages": Mode(
        "anthropic_messages", "anthropic", "claude-sonnet-4-6", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "",
        "/v1/messages", "prompt is too long: 250000 tokens > 200000 maximum",
    ),
}


@pytest.fixture(scope="module")
def shared_upstream() -> Iterator[Upstream]:
    with Upstream() as up:
        yield up


@pytest.fixture(scope="module", params=list(MODES))
def mode(request: pytest.FixtureRequest) -> Mode:
    return MODES[request.param]


@dataclass
class Rig:
    mode: Mode
    daemon: Daemon
    up: Upstream
    home: Path
    config: dict[str, Any]

    def write_config(self, **model: Any) -> None:
        config = {**self.config, "model": {**self.config["model"], **model}}
        write_config(self.home, config)

    def generation_requests(self) -> list[Any]:
        return [r for r in self.up.requests if r.path.endswith(self.mode.path)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_rig(mode: Mode, shared_upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    root = tmp_path_factory.mktemp(f"faults-{mode.api_mode}")
    env = daemon_env(root, {mode.key_var: CANARY_KEY, mode.base_var: mode.base_url(shared_upstream.url)})
    config = {
        "model": {"provider": mode.provider, "default": mode.model},
        "network": {"timeout": TIMEOUT, "connect_timeout": 1.0, "max_retries": MAX_RETRIES},
    }
    home = root / "hermes-home"
    write_config(home, config)
    daemon = await spawn_daemon(env)
    yield Rig(mode, daemon, shared_upstream, home, config)
    await stop_daemon(daemon)


@pytest_asyncio.fixture(loop_scope="module")
async def rig(module_rig: Rig) -> AsyncIterator[Rig]:
    module_rig.up.reset()
    module_rig.up.reply_text = TEXT
    module_rig.up.chunk_count = CHUNKS
    module_rig.write_config()
    module_rig.daemon.notifications.clear()
    yield module_rig
    module_rig.up.reset()


async def chat(rig: Rig, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
    return await rig.daemon.request("hermes/chat", {"message": "hi", **params}, timeout=timeout)


async def assert_error(rig: Rig, result: dict[str, Any], kind: str, partial: str = "") -> dict[str, Any]:
    """A normalised error result whose partial text is in the result and the session."""
    assert result["stopReason"] == "error", result
    error = result["error"]
    assert error["kind"] == kind, error
    assert error["message"] and error.get("hint"), error
    assert result["text"] == partial
    assert result["provider"] == rig.mode.provider
    saved = await rig.daemon.request("hermes/getSession", {"sessionId": result["sessionId"]})
    last = saved["messages"][-1]
    assert last["role"] == "assistant" and last["content"] == partial and last["stopReason"] == "error"
    assert last["error"]["kind"] == kind
    assert saved["messages"][-2] == {"role": "user", "content": "hi"}
    return error


async def assert_serving(rig: Rig) -> None:
    """The daemon is alive and the next chat on a fresh session succeeds."""
    rig.up.reset()
    rig.up.reply_text = "still serving"
    rig.write_config()
    result = await chat(rig, message="are you there?")
    assert result["stopReason"] == "end_turn", result
    assert result["text"] == "still serving"
    assert alive(rig.daemon)


# -- HTTP error statuses ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (401, "Incorrect API key provided", "auth"),
        (402, "Insufficient credits: add more to continue", "quota"),
        (404, "The model `no-such-model` does not exist", "model_not_found"),
        (400, None, "context_length"),
    ],
    ids=["401", "402", "404-model", "400-context"],
)
async def test_http_error_is_normalised_and_not_retried(rig: Rig, status: int, message: str | None, kind: str) -> None:
    rig.up.fail(status=status, message=message or rig.mode.context_message)
    result = await chat(rig)
    error = await assert_error(rig, result, kind)
    assert error["status"] == status
    if kind == "auth":
        assert rig.mode.key_var in error["hint"]
    assert len(rig.generation_requests()) == 1  # a client error is never retried
    await assert_serving(rig)


async def test_out_of_credit_worded_as_400_is_quota(rig: Rig) -> None:
    """Anthropic says "credit balance is too low" with a 400; OpenAI "insufficient_quota" with a 429."""
    rig.up.fail(status=400, message="Your credit balance is too low to access the API. Please purchase credits.")
    result = await chat(rig)
    await assert_error(rig, result, "quota")
    assert len(rig.generation_requests()) == 1
    await assert_serving(rig)


async def test_rate_limit_is_retried_after_retry_after(rig: Rig) -> None:
    rig.up.fail(status=429, headers={"Retry-After": "0.2"}, times=1)
    result = await chat(rig)
    assert result["stopReason"] == "end_turn", result
    assert result["text"] == TEXT
    first, second = rig.generation_requests()
    # Both stamps are the upstream's: the retry came no sooner than Retry-After allowed.
    assert second.received_at - first.received_at >= 0.15
    await assert_serving(rig)


async def test_rate_limit_retries_are_bounded(rig: Rig) -> None:
    rig.up.fail(status=429, headers={"Retry-After": "0.1"}, times=None)
    result = await chat(rig)
    error = await assert_error(rig, result, "rate_limited")
    assert error["retryAfter"] == 0.1
    assert len(rig.generation_requests()) == MAX_RETRIES + 1
    await assert_serving(rig)


async def test_rate_limit_with_a_long_retry_after_fails_at_once(rig: Rig) -> None:
    """Waiting minutes inside a chat helps nobody: the user is told when to retry."""
    rig.up.fail(status=429, headers={"Retry-After": "120"}, times=None)
    result = await chat(rig, timeout=60)  # an answer at all proves it did not wait the 120 s out
    error = await assert_error(rig, result, "rate_limited")
    assert error["retryAfter"] == 120 and "120" in error["hint"]
    assert len(rig.generation_requests()) == 1
    await assert_serving(rig)


@pytest.mark.parametrize(("status", "retry_after"), [(500, None), (502, "0.05"), (503, "0.05")])
async def test_server_errors_are_retried_then_reported(rig: Rig, status: int, retry_after: str | None) -> None:
    """500 takes the exponential backoff; 502/503 carry a (short) Retry-After, as gateways often do."""
    rig.up.fail(status=status, headers={"Retry-After": retry_after} if retry_after else None, times=None)
    result = await chat(rig)
    error = await assert_error(rig, result, "network")
    assert error["status"] == status and str(status) in error["message"]
    assert len(rig.generation_requests()) == MAX_RETRIES + 1
    await assert_serving(rig)


async def test_server_error_then_success(rig: Rig) -> None:
    rig.up.fail(status=503, headers={"Retry-After": "0"}, times=1)
    result = await chat(rig)
    assert result["stopReason"] == "end_turn" and result["text"] == TEXT, result
    assert len(rig.generation_requests()) == 2
    await assert_serving(rig)


# -- network faults -------------------------------------------------------------------


async def test_connection_refused(rig: Rig) -> None:
    rig.write_config(base_url=rig.mode.base_url(closed_port_url()))
    result = await chat(rig)
    error = await assert_error(rig, result, "network")
    assert "cannot reach" in error["message"] and "base URL" in error["hint"]
    assert rig.up.requests == []
    await assert_serving(rig)


async def test_read_timeout_before_the_first_byte(rig: Rig) -> None:
    rig.up.fault("delay_first_byte", seconds=3.0)
    result = await chat(rig)
    error = await assert_error(rig, result, "timeout")
    assert "network.timeout" in error["hint"]
    assert len(rig.generation_requests()) == 1
    # The daemon hung up after network.timeout, not when the upstream woke up (upstream-side clock).
    [(_, seconds)] = await asyncio.to_thread(rig.up.wait_for_disconnects, 1, 5.0)
    assert seconds < 3.0
    await assert_serving(rig)


async def test_stall_mid_stream_times_out_and_keeps_the_partial_text(rig: Rig) -> None:
    rig.up.fault("stall", after_chunks=2, seconds=4.0)
    result = await chat(rig)
    error = await assert_error(rig, result, "timeout", partial="".join(pieces(TEXT, CHUNKS)[:2]))
    assert "partial" in error["hint"]
    assert len(rig.generation_requests()) == 1  # text had arrived: never retried
    await assert_serving(rig)


async def test_connection_reset_mid_stream(rig: Rig) -> None:
    rig.up.fault("reset", after_chunks=2)
    result = await chat(rig)
    error = await assert_error(rig, result, "network", partial="".join(pieces(TEXT, CHUNKS)[:2]))
    assert "mid-reply" in error["message"]
    assert len(rig.generation_requests()) == 1
    await assert_serving(rig)


# -- broken streams ---------------------------------------------------------------------


async def test_malformed_sse_line_is_ignored(rig: Rig) -> None:
    """``data {not json`` has no colon after the field name: the SSE spec says ignore the line."""
    rig.up.fault("malformed_sse", after_chunks=2)
    result = await chat(rig)
    assert result["stopReason"] == "end_turn", result
    assert result["text"] == TEXT
    await assert_serving(rig)


async def test_invalid_json_chunk(rig: Rig) -> None:
    rig.up.fault("invalid_json_chunk", after_chunks=2)
    result = await chat(rig)
    error = await assert_error(rig, result, "bad_response", partial="".join(pieces(TEXT, CHUNKS)[:2]))
    assert "could not read" in error["message"]
    assert len(rig.generation_requests()) == 1
    await assert_serving(rig)


@pytest.mark.parametrize("after_chunks", [2, None], ids=["mid-text", "after-all-text"])
async def test_stream_ending_without_its_final_event(rig: Rig, after_chunks: int | None) -> None:
    rig.up.fault("truncated", after_chunks=after_chunks)
    result = await chat(rig)
    expected = "".join(pieces(TEXT, CHUNKS)[: after_chunks or CHUNKS])
    error = await assert_error(rig, result, "bad_response", partial=expected)
    assert "ended the stream before it finished" in error["message"]
    await assert_serving(rig)


async def test_oversized_reply_is_cut_at_the_limit(rig: Rig) -> None:
    rig.up.fault("oversized", bytes=MAX_REPLY_BYTES + 1, after_chunks=2)
    result = await chat(rig, timeout=60)
    error = await assert_error(rig, result, "bad_response", partial="".join(pieces(TEXT, CHUNKS)[:2]))
    assert "16 MiB" in error["message"]
    deltas = rig.daemon.deltas(result["sessionId"])
    assert "".join(d.get("text", "") for d in deltas) == result["text"]  # the oversized piece was never relayed
    await assert_serving(rig)


# -- cancelling a retry --------------------------------------------------------------------


async def test_cancel_during_retry_backoff_stops_at_once(rig: Rig) -> None:
    # Retry-After 20 s is under the daemon's 30 s ceiling: it would wait, then retry.
    rig.up.fail(status=429, headers={"Retry-After": "20"}, times=None)
    session = await rig.daemon.request("hermes/newSession")
    pending = rig.daemon.send("hermes/chat", {"sessionId": session["sessionId"], "message": "hi"})
    await asyncio.to_thread(rig.up.wait_for_answers, 1, 10.0, rig.mode.path)  # the 429 is on its way
    assert await rig.daemon.request("hermes/cancel", {"sessionId": session["sessionId"]}) == {"cancelled": True}
    # The chat's own coroutine returns the result, so it no longer waits to retry;
    # the 5 s bound is a quarter of the 20 s it would otherwise have slept.
    result = await asyncio.wait_for(pending, 5)
    assert result["stopReason"] == "cancelled" and result["text"] == ""
    assert len(rig.generation_requests()) == 1
    saved = await rig.daemon.request("hermes/getSession", {"sessionId": session["sessionId"]})
    assert saved["messages"][-1]["stopReason"] == "cancelled"
    await assert_serving(rig)


async def test_cancel_request_during_retry_backoff_stops_at_once(rig: Rig) -> None:
    from pygls.exceptions import JsonRpcException

    rig.up.fail(status=503, headers={"Retry-After": "20"}, times=None)
    pending = rig.daemon.send("hermes/chat", {"message": "hi"}, msg_id=f"backoff-{rig.mode.api_mode}")
    await asyncio.to_thread(rig.up.wait_for_answers, 1, 10.0, rig.mode.path)
    rig.daemon.cancel_request(f"backoff-{rig.mode.api_mode}")
    with pytest.raises(JsonRpcException) as info:
        await asyncio.wait_for(pending, 5)  # well inside the 20 s it would have waited
    assert info.value.code == -32800
    assert len(rig.generation_requests()) == 1
    await assert_serving(rig)
