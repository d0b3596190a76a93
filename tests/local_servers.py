"""Loopback fakes that answer like Ollama, LM Studio, vLLM and llama.cpp's
server (the endpoints ``hermesd setup local`` asks), and like code-server (a
login redirect). Standard library only; each binds a free port on 127.0.0.1.

The bodies copy the shape of each server's real replies: Ollama's
``/api/tags``, LM Studio's ``/api/v0/models``, vLLM's ``owned_by: vllm``,
llama-server's ``owned_by: llamacpp`` and ``/props``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from contextlib import contextmanager

Routes = dict[str, tuple[int, Any]]


def _openai_list(ids: list[str], owner: str, **extra: Any) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": i, "object": "model", "created": 1731000000, "owned_by": owner, **extra} for i in ids]}


def ollama(models: list[str]) -> Routes:
    tags = {"models": [{"name": m, "model": m, "modified_at": "2025-05-01T10:00:00Z", "size": 2019393189,
                        "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B"}} for m in models]}
    return {"/api/tags": (200, tags), "/api/version": (200, {"version": "0.6.8"}),
            "/v1/models": (200, _openai_list(models, "library"))}


def lm_studio(models: list[str]) -> Routes:
    v0 = {"object": "list", "data": [{"id": m, "object": "model", "type": "llm", "publisher": "lmstudio-community",
                                      "arch": "qwen2", "state": "loaded", "max_context_length": 32768} for m in models]}
    return {"/v1/models": (200, _openai_list(models, "organization_owner")), "/api/v0/models": (200, v0)}


def vllm(models: list[str]) -> Routes:
    return {"/v1/models": (200, _openai_list(models, "vllm", root=models[0] if models else "", max_model_len=32768)),
            "/health": (200, "")}


def llama_cpp(models: list[str]) -> Routes:
    return {"/v1/models": (200, _openai_list(models, "llamacpp", meta={"n_ctx_train": 8192})),
            "/props": (200, {"default_generation_settings": {"n_ctx": 2048}, "total_slots": 1})}


def code_server() -> Routes:
    """What code-server answers on 8080 to anything but its login page."""
    return {"*": (302, {"Location": "./login"})}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:  # no reverse-DNS lookup
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


@contextmanager
def serve(routes: Routes) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` answering ``routes`` (path -> (status, JSON body)); 404 elsewhere."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            seen.append(path)
            status, body = routes.get(path) or routes.get("*") or (404, {"error": "not found"})
            if status == 302:
                self.send_response(302)
                self.send_header("Location", body["Location"])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
