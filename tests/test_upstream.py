"""Tests for the fake LLM provider in tests/upstream.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from tests.upstream import DEFAULTS, Upstream, closed_port_url

UPSTREAM_PY = Path(__file__).with_name("upstream.py")


@pytest.fixture(scope="module")
def _server() -> Iterator[Upstream]:
    with Upstream() as up:
        yield up


@pytest.fixture
def up(_server: Upstream) -> Iterator[Upstream]:
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as c:
        yield c


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """[(event name or None, data)] for every SSE block that has data."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            events.append((name, "\n".join(data)))
    return events


def chat_body(**kw: Any) -> dict[str, Any]:
    return {"model": "model-a", "messages": [{"role": "user", "content": "say hello please"}], **kw}


def stream_chat(client: httpx.Client, up: Upstream, path: str = "/v1/chat/completions", **kw: Any) -> httpx.Response:
    return client.post(up.url + path, json=chat_body(stream=True, **kw))


# --------------------------------------------------------------------------- chat completions


def test_chat_stream_order_and_content(up: Upstream, client: httpx.Client) -> None:
    r = client.post(
        up.url + "/v1/chat/completions",
        json=chat_body(stream=True),
        headers={"Authorization": "Bearer sk-test", "X-Custom": "yes"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert all(name is None for name, _ in events)
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["model"] == "model-a" and isinstance(c["created"], int) for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    content = [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]]
    assert len(content) == DEFAULTS["chunk_count"] == 5
    assert "".join(content) == "Hello from upstream"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-2])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    usage = chunks[-1]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0

    [req] = up.wait_for_requests(1)
    assert req.method == "POST" and req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.header("X-Custom") == "yes"
    assert json.loads(req.body) == req.json == chat_body(stream=True)


def test_chat_stream_settings(up: Upstream, client: httpx.Client) -> None:
    up.reply_text = "abcdefgh"
    up.chunk_count = 2
    up.routed_model = "routed/model-z"
    up.finish_reason = "length"
    up.reasoning_text = "let me think"
    events = sse_events(stream_chat(client, up, path="/api/v1/chat/completions").text)
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert {c["model"] for c in chunks} == {"routed/model-z"}
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant"}
    assert [d["reasoning"] for d in deltas if "reasoning" in d] == ["let me", " think"]
    assert [d["content"] for d in deltas if "content" in d] == ["abcd", "efgh"]
    # reasoning strictly before content
    kinds = [next(iter(d)) for d in deltas[1:-1]]
    assert kinds == ["reasoning", "reasoning", "content", "content"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"


def test_chat_non_streaming(up: Upstream, client: httpx.Client) -> None:
    r = client.post(up.url + "/chat/completions", json=chat_body())
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["object"] == "chat.completion"
    assert data["model"] == "model-a"
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "Hello from upstream", "refusal": None}
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"]["completion_tokens"] == 3


# --------------------------------------------------------------------------- responses


def test_responses_stream_sequence(up: Upstream, client: httpx.Client) -> None:
    r = client.post(up.url + "/v1/responses", json={"model": "gpt-x", "input": "hi", "stream": True})
    assert r.status_code == 200
    events = sse_events(r.text)
    payloads = [json.loads(d) for _, d in events]
    assert [name for name, _ in events] == [p["type"] for p in payloads]
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    types = [p["type"] for p in payloads]
    assert types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 5,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta") == "Hello from upstream"
    done = payloads[-1]["response"]
    assert done["status"] == "completed" and done["model"] == "gpt-x"
    assert done["id"] == payloads[0]["response"]["id"]
    assert done["output"][0]["content"][0]["text"] == "Hello from upstream"
    usage = done["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_responses_reasoning_and_non_streaming(up: Upstream, client: httpx.Client) -> None:
    up.reasoning_text = "hmm ok"
    payloads = [
        json.loads(d)
        for _, d in sse_events(client.post(up.url + "/v1/responses", json={"model": "m", "input": "x", "stream": True}).text)
    ]
    summary = [p["delta"] for p in payloads if p["type"] == "response.reasoning_summary_text.delta"]
    assert "".join(summary) == "hmm ok"
    first_reasoning = next(i for i, p in enumerate(payloads) if p["type"] == "response.reasoning_summary_text.delta")
    first_text = next(i for i, p in enumerate(payloads) if p["type"] == "response.output_text.delta")
    assert first_reasoning < first_text
    assert [o["type"] for o in payloads[-1]["response"]["output"]] == ["reasoning", "message"]

    data = client.post(up.url + "/v1/responses", json={"model": "m", "input": "x"}).json()
    assert data["object"] == "response" and data["status"] == "completed"
    assert data["output"][-1]["content"][0]["text"] == "Hello from upstream"


# --------------------------------------------------------------------------- anthropic


def test_anthropic_stream_sequence(up: Upstream, client: httpx.Client) -> None:
    body = {"model": "claude-x", "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    r = client.post(up.url + "/anthropic/v1/messages", json=body, headers={"x-api-key": "ak", "anthropic-version": "2023-06-01"})
    assert r.status_code == 200
    events = sse_events(r.text)
    payloads = [json.loads(d) for _, d in events]
    assert [n for n, _ in events] == [p["type"] for p in payloads]
    assert [p["type"] for p in payloads] == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 5,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    msg = payloads[0]["message"]
    assert msg["model"] == "claude-x" and msg["id"] and msg["usage"]["input_tokens"] >= 1
    assert payloads[1]["content_block"]["type"] == "text"
    assert "".join(p["delta"]["text"] for p in payloads if p["type"] == "content_block_delta") == "Hello from upstream"
    assert payloads[-2]["delta"]["stop_reason"] == "end_turn"
    assert payloads[-2]["usage"]["output_tokens"] >= 1
    assert up.last is not None and up.last.headers["x-api-key"] == "ak"


def test_anthropic_thinking_and_non_streaming(up: Upstream, client: httpx.Client) -> None:
    up.reasoning_text = "deep thought"
    body = {"model": "c", "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    payloads = [json.loads(d) for _, d in sse_events(client.post(up.url + "/v1/messages", json=body).text)]
    starts = [p for p in payloads if p["type"] == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [(0, "thinking"), (1, "text")]
    deltas = [p["delta"] for p in payloads if p["type"] == "content_block_delta"]
    assert "".join(d["thinking"] for d in deltas if d["type"] == "thinking_delta") == "deep thought"
    assert "".join(d["text"] for d in deltas if d["type"] == "text_delta") == "Hello from upstream"

    body.pop("stream")
    data = client.post(up.url + "/v1/messages", json=body).json()
    assert data["type"] == "message" and data["stop_reason"] == "end_turn"
    assert [c["type"] for c in data["content"]] == ["thinking", "text"]
    assert data["content"][1]["text"] == "Hello from upstream"


# --------------------------------------------------------------------------- models / 404


def test_models_any_prefix(up: Upstream, client: httpx.Client) -> None:
    up.models = ["x/one", {"id": "x/two", "context_length": 8192}]
    for path in ("/v1/models", "/api/v1/models", "/models?limit=5"):
        data = client.get(up.url + path).json()
        assert data["object"] == "list"
        assert [m["id"] for m in data["data"]] == ["x/one", "x/two"]
        assert all(m["object"] == "model" for m in data["data"])
        assert data["data"][1]["context_length"] == 8192
    assert [r.path for r in up.requests] == ["/v1/models", "/api/v1/models", "/models?limit=5"]


def test_unknown_path_is_404_and_recorded(up: Upstream, client: httpx.Client) -> None:
    r = client.post(up.url + "/v1/embeddings", json={"input": "x"})
    assert r.status_code == 404
    assert r.json()["error"]["message"]
    assert client.get(up.url + "/v1/chat/completions").status_code == 404
    assert [r.path for r in up.requests] == ["/v1/embeddings", "/v1/chat/completions"]


# --------------------------------------------------------------------------- faults


def test_fail_with_retry_after(up: Upstream, client: httpx.Client) -> None:
    up.fail(status=429, headers={"Retry-After": "2"}, times=2)
    for _ in range(2):
        r = stream_chat(client, up)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "2"
        err = r.json()["error"]
        assert set(err) >= {"message", "type", "code"}
    assert stream_chat(client, up).status_code == 200
    assert len(up.requests) == 3


def test_fail_formats_and_path_filter(up: Upstream, client: httpx.Client) -> None:
    up.fail(status=401, path_contains="/messages")
    up.fail(status=400, body={"custom": True})
    # the first fault does not match /models; the second does
    r = client.get(up.url + "/v1/models")
    assert (r.status_code, r.json()) == (400, {"custom": True})
    r = client.post(up.url + "/v1/messages", json={"model": "c", "messages": []})
    assert r.status_code == 401
    assert r.json() == {"type": "error", "error": {"type": "authentication_error", "message": r.json()["error"]["message"]}}
    assert client.post(up.url + "/v1/messages", json={"model": "c", "messages": []}).status_code == 200


def test_stream_faults_are_not_consumed_by_model_list(up: Upstream, client: httpx.Client) -> None:
    up.fault("truncated", after_chunks=1)
    assert client.get(up.url + "/v1/models").status_code == 200
    events = sse_events(stream_chat(client, up).text)
    assert len(events) == 2  # role + one content chunk


def test_reset_fault_raises_on_client(up: Upstream, client: httpx.Client) -> None:
    up.fault("reset", after_chunks=2)
    with pytest.raises(httpx.TransportError):
        stream_chat(client, up)
    # next request is fine (fault consumed)
    assert "[DONE]" in stream_chat(client, up).text


def test_reset_fault_partial_stream_then_error(up: Upstream, client: httpx.Client) -> None:
    up.fault("reset", after_chunks=2)
    got: list[str] = []
    with pytest.raises(httpx.TransportError):
        with client.stream("POST", up.url + "/v1/chat/completions", json=chat_body(stream=True)) as r:
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    got.append(line)
    assert len(got) <= 3  # role + at most two content chunks, never the finish chunk


def test_truncated_stream(up: Upstream, client: httpx.Client) -> None:
    up.fault("truncated")
    r = stream_chat(client, up)  # body ends cleanly: no exception
    events = sse_events(r.text)
    assert "[DONE]" not in [d for _, d in events]
    chunks = [json.loads(d) for _, d in events]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Hello from upstream"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)


def test_malformed_and_invalid_json_chunks(up: Upstream, client: httpx.Client) -> None:
    up.fault("malformed_sse", after_chunks=1)
    text = stream_chat(client, up).text
    assert "\ndata {not json\n" in text and text.rstrip().endswith("data: [DONE]")

    up.fault("invalid_json_chunk", after_chunks=2, close=True)
    events = sse_events(stream_chat(client, up).text)
    assert events[-1][1] == '{"choices": ['
    assert len(events) == 4  # role, 2 chunks, garbage


def test_oversized_delta(up: Upstream, client: httpx.Client) -> None:
    up.fault("oversized", bytes=300_000)
    chunks = [json.loads(d) for _, d in sse_events(stream_chat(client, up).text)[:-1]]
    content = [c["choices"][0]["delta"]["content"] for c in chunks if c["choices"] and "content" in c["choices"][0]["delta"]]
    assert content[0] == "x" * 300_000
    assert "".join(content[1:]) == "Hello from upstream"


def test_delay_first_byte_and_stall(up: Upstream, client: httpx.Client) -> None:
    up.fault("delay_first_byte", seconds=5)
    with pytest.raises(httpx.ReadTimeout):  # nothing arrives within the read timeout
        client.get(up.url + "/v1/models", timeout=httpx.Timeout(5.0, read=0.3))
    [(path, _)] = up.wait_for_disconnects(1, timeout=5)  # the server saw the client give up
    assert path == "/v1/models"
    assert client.get(up.url + "/v1/models").status_code == 200  # the fault was used up

    up.fault("stall", after_chunks=1, seconds=5)
    lines: list[str] = []
    with pytest.raises(httpx.ReadTimeout):
        with client.stream(
            "POST", up.url + "/v1/chat/completions", json=chat_body(stream=True), timeout=httpx.Timeout(5.0, read=0.3)
        ) as r:
            for line in r.iter_lines():
                if line:
                    lines.append(line)
    assert len(lines) == 2  # role + one chunk, then silence
    # the server notices the client leaving while it stalls
    assert up.wait_for_disconnects(2, timeout=5)[1][0] == "/v1/chat/completions"


def test_disconnect_detection(up: Upstream, client: httpx.Client) -> None:
    up.chunk_count, up.chunk_delay = 50, 0.2  # a 10 s stream
    with client.stream("POST", up.url + "/v1/chat/completions", json=chat_body(stream=True)) as r:
        for line in r.iter_lines():
            if '"content"' in line:
                break
    [(path, seconds)] = up.wait_for_disconnects(1, timeout=5)
    assert path == "/v1/chat/completions"
    assert up.answered == []  # noticed mid-stream: the stream was never written whole
    assert 0.0 <= seconds < 50 * 0.2


def test_refuse_uses_closed_port(up: Upstream) -> None:
    with pytest.raises(ValueError):
        up.fault("refuse")
    with pytest.raises(httpx.ConnectError):
        httpx.get(closed_port_url() + "/v1/models", timeout=2)


def test_reset_and_wait_timeout(up: Upstream, client: httpx.Client) -> None:
    up.reply_text = "changed"
    up.fail(status=500, times=None)
    assert client.get(up.url + "/v1/models").status_code == 500
    up.reset()
    assert up.requests == [] and up.disconnects == []
    assert up.reply_text == "Hello from upstream" and up.models == ["model-a", "model-b"]
    assert client.get(up.url + "/v1/models").status_code == 200
    with pytest.raises(TimeoutError):
        up.wait_for_requests(5, timeout=0.1)


def test_control_endpoints_in_process(up: Upstream, client: httpx.Client) -> None:
    r = client.post(up.url + "/__config", json={"reply_text": "via config", "chunk_count": 1, "models": ["q"]})
    assert r.status_code == 200 and r.json()["reply_text"] == "via config"
    assert client.post(up.url + "/__config", json={"bogus": 1}).status_code == 400
    assert client.post(up.url + "/__fault", json={"kind": "status", "status": 503}).status_code == 200
    assert client.post(up.url + "/__fault", json={"kind": "nope"}).status_code == 400
    assert stream_chat(client, up).status_code == 503
    chunks = [json.loads(d) for _, d in sse_events(stream_chat(client, up).text)[:-1]]
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:2]] == ["via config"]
    recorded = client.get(up.url + "/__requests").json()
    assert [r["path"] for r in recorded] == ["/v1/chat/completions"] * 2
    assert recorded[0]["json"]["model"] == "model-a"
    assert client.post(up.url + "/__reset").status_code == 200
    assert up.requests == [] and up.reply_text == "Hello from upstream"


# --------------------------------------------------------------------------- openai SDK


def test_openai_sdk_chat_stream(up: Upstream) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=up.url + "/v1", api_key="sk-sdk", max_retries=0)
    stream = client.chat.completions.create(
        model="model-b", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        usage = chunk.usage or usage
    assert text == "Hello from upstream"
    assert usage is not None and usage.total_tokens > 0
    assert up.last is not None and up.last.headers["authorization"] == "Bearer sk-sdk"

    with client.chat.completions.stream(model="model-b", messages=[{"role": "user", "content": "hi"}]) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content == "Hello from upstream"


def test_openai_sdk_responses_stream(up: Upstream) -> None:
    openai = pytest.importorskip("openai")
    up.reasoning_text = "thinking"
    client = openai.OpenAI(base_url=up.url + "/v1", api_key="sk-sdk", max_retries=0)
    deltas = []
    with client.responses.stream(model="gpt-x", input="hi") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert "".join(deltas) == "Hello from upstream"
    assert final.output_text == "Hello from upstream"
    assert final.status == "completed"
    assert up.last is not None and up.last.path == "/v1/responses"


async def test_async_openai_sdk_chat_stream(up: Upstream) -> None:
    openai = pytest.importorskip("openai")
    up.chunk_count = 3
    client = openai.AsyncOpenAI(base_url=up.url + "/v1", api_key="k", max_retries=0)
    try:
        stream = await client.chat.completions.create(
            model="model-a", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        parts = [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]
    finally:
        await client.close()
    assert parts == ["Hello ", "from u", "pstream"]


def test_openai_sdk_sees_error_status(up: Upstream) -> None:
    openai = pytest.importorskip("openai")
    up.fail(status=401, message="bad key")
    client = openai.OpenAI(base_url=up.url + "/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert "bad key" in str(info.value)


# --------------------------------------------------------------------------- standalone


def test_standalone_script(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [sys.executable, str(UPSTREAM_PY)],
        cwd=tmp_path,  # not the repo: must work without the tests package
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY http://127.0.0.1:"), line + (proc.stderr.read() if proc.poll() is not None else "")
        url = line.split()[1]
        with httpx.Client(timeout=5) as c:
            assert c.post(url + "/__config", json={"reply_text": "standalone", "chunk_count": 2}).status_code == 200
            events = sse_events(c.post(url + "/v1/chat/completions", json=chat_body(stream=True)).text)
            text = "".join(json.loads(d)["choices"][0]["delta"].get("content", "") for _, d in events[:-2])
            assert text == "standalone"
            recorded = c.get(url + "/__requests").json()
            assert [(r["method"], r["path"]) for r in recorded] == [("POST", "/v1/chat/completions")]
            assert recorded[0]["headers"]["content-type"] == "application/json"
        proc.terminate()
        assert proc.wait(timeout=5) == 0
        assert proc.stdout.read() == ""  # exactly one line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
