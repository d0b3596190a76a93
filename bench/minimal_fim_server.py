"""I1's baseline: the least a Python inline-completion server can do per request.

pygls with incremental sync, and on ``textDocument/inlineCompletion`` one
non-streaming POST of prefix and suffix to ``$BENCH_FIM_URL/completions``
through one pooled httpx client; no debounce, cache, templates or rules.
What hermesd adds per completion beyond this is its own overhead.
"""

from __future__ import annotations

import os

import httpx
from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("bench-minimal-fim", "0.1", text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
client = httpx.AsyncClient(timeout=30)


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION)
async def complete(ls: LanguageServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    document = ls.workspace.get_text_document(params.text_document.uri)
    offset = document.offset_at_position(params.position)
    body = {"model": "bench", "prompt": document.source[:offset], "suffix": document.source[offset:], "max_tokens": 64}
    reply = await client.post(os.environ["BENCH_FIM_URL"] + "/completions", json=body)
    text = reply.json()["choices"][0]["text"]
    return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=text)])


if __name__ == "__main__":
    server.start_io()
