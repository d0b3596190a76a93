"""The attachment rules: what is sensitive, how a block is fenced, and that attachments count in the budget."""

from __future__ import annotations

import pytest

from hermesd.engine import attachments
from hermesd.engine.chat import ChatEngine, ChatRequest, estimate_tokens
from hermesd.protocol import ChatParams, parse
from hermesd.engine.sessions import Session, SessionStore, Settings
from tests._unit_helpers import unit_env  # noqa: F401  (autouse fixture)


@pytest.mark.parametrize("path, sensitive", [
    ("/w/.env", True), ("/w/.env.production", True), ("/w/.env.example", False), ("/w/server.pem", True),
    ("/home/u/.ssh/id_ed25519", True), ("/home/u/.ssh/id_ed25519.pub", False), ("/w/.npmrc", True),
    ("/w/secrets.yaml", True), ("/w/app.py", False), ("relative/.env", True),
])
def test_which_paths_need_confirmation(path: str, sensitive: bool) -> None:
    assert (attachments.sensitive_reason(path) is not None) is sensitive


def test_a_block_is_fenced_longer_than_any_backtick_run_inside() -> None:
    text = "x = '````'\n"
    rendered = attachments.render("why?", [{"kind": "file", "path": "/w/a.py", "language": "python", "text": text}])
    assert rendered == "File /w/a.py:\n`````python\nx = '````'\n`````\n\nwhy?"


def test_attachments_count_in_the_context_budget(tmp_path) -> None:
    engine = ChatEngine(SessionStore(tmp_path))
    session = Session(id="s-x", provider="p", model="m", settings=Settings())
    big = {"kind": "file", "path": "/w/big.py", "text": "y = 1\n" * 4000}
    plain = ChatRequest.of(parse(ChatParams, {"message": "hi"}))
    attached = ChatRequest.of(parse(ChatParams, {"message": "hi", "attachments": [big]}))
    grown = estimate_tokens(engine._transcript(session, attached)) - estimate_tokens(engine._transcript(session, plain))
    assert grown >= len(big["text"]) // 4
