"""What a provider receives from the httpx transports: the previewed request, byte for byte.

``hermes/previewRequest`` shows the URL, headers and body; ``hermes/chat``
with the same params must put exactly that on the wire (the key unmasked),
plus only the transport's defaults, and no SDK telemetry headers.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import CANARY_KEY, write_config
from tests.upstream import Upstream

MODES = {
    # provider: (env var prefix, path on the upstream, the Accept header sent, base URL suffix)
    "deepseek": ("DEEPSEEK", "/v1/chat/completions", "application/json", "/v1"),
    "anthropic": ("ANTHROPIC", "/v1/messages", "*/*", ""),
}


@pytest.mark.parametrize("provider", sorted(MODES))
async def test_the_wire_carries_the_preview_exactly(start_daemon, upstream, isolated_home, provider):
    prefix, path, accept, suffix = MODES[provider]
    daemon = await start_daemon(env={f"{prefix}_API_KEY": CANARY_KEY, f"{prefix}_BASE_URL": upstream.url + suffix})
    params = {"provider": provider, "model": "wire-model", "message": "héllo ✓", "system": "be brief", "temperature": 0.25}
    preview = await daemon.request("hermes/previewRequest", params)
    result = await daemon.request("hermes/chat", params)
    assert result["stopReason"] == "end_turn", result
    [request] = upstream.requests
    assert request.path == path and preview["url"] == upstream.url + path
    compact = json.dumps(preview["body"], ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    assert request.body == compact.encode("utf-8")
    for name, value in preview["headers"].items():
        if "***" not in value:
            assert request.header(name) == value, name
    if provider == "deepseek":
        assert request.header("authorization") == f"Bearer {CANARY_KEY}"
    else:
        assert request.header("x-api-key") == CANARY_KEY
    assert request.header("accept") == accept
    assert request.header("user-agent", "").startswith("python-httpx/")
    assert not [h for h in request.headers if h.startswith("x-stainless")]


async def test_a_plugins_own_user_agent_replaces_the_default(start_daemon, upstream, isolated_home):
    """gmi's plugin sends ``User-Agent: HermesAgent/0.13.0`` (its ``default_headers``): exactly one User-Agent goes out."""
    write_config(isolated_home, {"model": {"provider": "gmi", "default": "m", "base_url": f"{upstream.url}/v1"}})
    daemon = await start_daemon(env={"GMI_API_KEY": CANARY_KEY})
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["stopReason"] == "end_turn", result
    [request] = upstream.requests
    assert request.header("user-agent") == "HermesAgent/0.13.0"
    assert request.header("accept") == "application/json"


async def test_a_huge_error_body_is_read_only_in_part(start_daemon, upstream, isolated_home):
    """A misbehaving endpoint's 8 MB error page: the chat fails cleanly with the status, the daemon stays up."""
    upstream.fail(status=400, body="x" * (8 * 1024 * 1024))
    daemon = await start_daemon(env={"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"})
    result = await daemon.request("hermes/chat", {"provider": "deepseek", "model": "m", "message": "hi"})
    error = result["error"]
    assert error["kind"] == "bad_response" and error["status"] == 400, error
    assert len(error["message"]) < 1000
    again = await daemon.request("hermes/chat", {"provider": "deepseek", "model": "m", "message": "hi"})
    assert again["stopReason"] == "end_turn", again


@pytest.mark.parametrize("provider", sorted(MODES))
async def test_the_next_chat_reuses_the_connection(start_daemon, upstream, isolated_home, provider):
    """A reply read to its end leaves its connection in the pool: no new TCP (or TLS) handshake per chat."""
    prefix, _, _, suffix = MODES[provider]
    daemon = await start_daemon(env={f"{prefix}_API_KEY": CANARY_KEY, f"{prefix}_BASE_URL": upstream.url + suffix})
    for _ in range(3):
        result = await daemon.request("hermes/chat", {"provider": provider, "model": "m", "message": "hi"})
        assert result["stopReason"] == "end_turn", result
    ports = {request.client_port for request in upstream.requests}
    assert len(upstream.requests) == 3 and len(ports) == 1, ports


@pytest.mark.parametrize("provider", sorted(MODES))
async def test_a_same_origin_redirect_is_followed_with_the_same_body(start_daemon, upstream, isolated_home, provider):
    prefix, path, _, suffix = MODES[provider]
    upstream.fail(status=307, headers={"Location": f"{upstream.url}/moved{path}"}, path_contains=path)
    daemon = await start_daemon(env={f"{prefix}_API_KEY": CANARY_KEY, f"{prefix}_BASE_URL": upstream.url + suffix})
    result = await daemon.request("hermes/chat", {"provider": provider, "model": "m", "message": "hi"})
    assert result["stopReason"] == "end_turn", result
    first, moved = upstream.requests
    assert (first.path, moved.path) == (path, f"/moved{path}")
    assert moved.method == "POST" and moved.body == first.body


@pytest.mark.parametrize("provider", sorted(MODES))
async def test_a_redirect_to_another_origin_is_not_followed(start_daemon, upstream, isolated_home, provider):
    """The key header (``Authorization``, ``x-api-key``) never goes to a host the redirect names."""
    prefix, path, _, suffix = MODES[provider]
    with Upstream() as elsewhere:
        upstream.fail(status=307, headers={"Location": f"{elsewhere.url}{path}"})
        daemon = await start_daemon(env={f"{prefix}_API_KEY": CANARY_KEY, f"{prefix}_BASE_URL": upstream.url + suffix})
        result = await daemon.request("hermes/chat", {"provider": provider, "model": "m", "message": "hi"})
        assert elsewhere.requests == []
    error = result["error"]
    assert error["status"] == 307 and error["kind"] == "bad_response", error
    assert len(upstream.requests) == 1


def test_a_plain_http_endpoints_client_skips_the_ca_bundle_but_fails_closed():
    """A local server's first chat does not wait for the CA bundle; TLS through that client would still be verified."""
    import ssl

    from hermesd.transports import clients

    plain = clients._no_tls()
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0  # trusts nothing: any certificate is refused
    assert clients.tls_context().cert_store_stats()["x509_ca"] > 0  # https endpoints: the CA bundle


def test_a_plain_http_endpoint_behind_an_https_proxy_gets_the_ca_bundle(monkeypatch):
    """The proxy's certificate is checked with the same context: trusting nothing there would refuse every chat."""
    from hermesd.transports import clients

    for name in [n for n in __import__("os").environ if n.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    assert not clients._may_use_tls("http://127.0.0.1:11434/v1")
    assert clients._may_use_tls("https://api.deepseek.com/v1")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    assert not clients._may_use_tls("http://ollama.corp:11434/v1")
    monkeypatch.setenv("http_proxy", "https://proxy.corp:3129")
    assert clients._may_use_tls("http://ollama.corp:11434/v1")


def test_the_responses_client_gets_only_the_sdks_own_http_objects():
    """openai 3.x runs on httpx2 and refuses an httpx.Timeout: the client is built with the SDK's own types.

    Whatever release is installed (the dependency matrix runs this with the lowest and the newest),
    the timeout is the class the SDK's own HTTP client uses, and that client is the SDK's default,
    never one of hermesd's pooled httpx clients.
    """
    import openai

    from hermesd.transports import NetworkSettings, clients

    net = NetworkSettings(timeout=42.0, connect_timeout=7.0)
    client = clients.openai_client("http://127.0.0.1:9/v1", None, net)
    try:
        sdk_http = client._client  # the SDK's HTTP client (httpx's up to openai 2.x, httpx2's from 3.x)
        assert type(client.timeout) is openai.Timeout is type(sdk_http.timeout), (type(client.timeout), type(sdk_http.timeout))
        assert (client.timeout.read, client.timeout.connect) == (42.0, 7.0)
        assert client.max_retries == 0
        assert all(sdk_http is not pooled for pooled in clients._httpx.values())
    finally:
        clients._openai.clear()
