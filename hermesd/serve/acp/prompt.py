"""ACP content to hermesd's chat params, and saved sessions and picker rows to ACP: no I/O here.

A prompt's text blocks, in order, make the user's message; an embedded
resource (or a resource link whose file the client read for us) becomes a
hermesd attachment, checked and saved under the same rules as the editors'
(size, binary, files that usually hold secrets), and is named where it stood
in the message (``@name``). A resource link that cannot be read stays in the
message as a Markdown link. Images and audio are refused: hermesd sends text.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import unquote, urlparse

from acp import schema
from acp.exceptions import RequestError

from hermesd import protocol

MODEL_OPTION = "model"
SCORE_OPTION = "min_coding_score"  # Pareto Code's floor, offered while the session uses it
SCORES = ("none", "0.5", "0.6", "0.65", "0.7", "0.8", "0.9")
# Zed names a selection by its file and lines: file:///a.py#L10:20 (also #L10-20, #L10-L20).
_LINES = re.compile(r"^L(\d+)(?:[:-]L?(\d+))?$")


def path_of(uri: str) -> str | None:
    """The local path a ``file://`` URI names, else None."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" and parsed.path else None


def attachment(uri: str, text: str) -> protocol.Attachment:
    """A resource's text as a hermesd attachment: a file, or a selection when the URI names lines."""
    parsed = urlparse(uri)
    path = path_of(uri) or uri.split("#", 1)[0] or None
    lines = _LINES.match(parsed.fragment) if parsed.fragment else None
    if lines is None:
        return protocol.Attachment(kind="file", text=text, path=path)
    first = int(lines[1]) - 1
    last = int(lines[2] or lines[1]) - 1
    span = protocol.LspRange(start=protocol.LspPosition(line=max(first, 0), character=0),
                             end=protocol.LspPosition(line=max(last, first, 0), character=0))
    return protocol.Attachment(kind="selection", text=text, path=path, range=span)


def mention(uri: str, name: str | None = None) -> str:
    """How the message names an attachment where it stood: ``@`` and the file's name."""
    path = path_of(uri)
    return "@" + (name or (os.path.basename(path) if path else uri))


def join(pieces: list[str]) -> str:
    """The message's pieces in order, a space between two that would otherwise run together."""
    out = ""
    for piece in pieces:
        if out and piece and not out[-1].isspace() and not piece[0].isspace():
            out += " "
        out += piece
    return out


def refused(block: Any) -> RequestError:
    kind = getattr(block, "type", type(block).__name__)
    message = (f"hermesd sends text only: this prompt holds {'an' if kind[0] in 'aeiou' else 'a'} {kind} block "
               "(not advertised in promptCapabilities); remove it and send again")
    return error(message, "unsupported_content")


def error(message: str, kind: str, code: int = -32602, **data: Any) -> RequestError:
    """A JSON-RPC error clients can show: ``message``, and the same text in ``data.error`` (codecompanion)."""
    return RequestError(code, message, {"error": message, "kind": kind, **data})


def reply_updates(messages: list[dict[str, Any]]) -> list[Any]:
    """A saved conversation as the ``session/update`` s that replay it (``session/load``): each user turn's
    attachments as embedded resources, then its text; each reply's text (reasoning is not saved)."""
    updates: list[Any] = []
    for saved in messages:
        role, content = saved.get("role"), saved.get("content")
        text = content if isinstance(content, str) else protocol_text(content)
        if role == "user":
            for item in saved.get("attachments") or []:
                uri = _uri(item.get("path"))
                resource = schema.TextResourceContents(uri=uri, text=str(item.get("text", "")))
                updates.append(schema.UserMessageChunk(session_update="user_message_chunk",
                                                       content=schema.EmbeddedResourceContentBlock(type="resource", resource=resource)))
            updates.append(schema.UserMessageChunk(session_update="user_message_chunk", content=text_block(text)))
        elif role == "assistant":
            if text:
                updates.append(schema.AgentMessageChunk(session_update="agent_message_chunk", content=text_block(text)))
    return updates


def chunk_line(session_id: str, kind: str, text: str) -> bytes:
    """A ``session/update`` notification carrying one piece of a reply (``kind``: agent_message_chunk or
    agent_thought_chunk): byte for byte what the SDK writes for the same ``SessionNotification``, without
    building its models (tests/test_acp_e2e.py compares the two)."""
    update = {"content": {"text": text, "type": "text"}, "sessionUpdate": kind}
    message = {"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": session_id, "update": update}}
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def protocol_text(content: Any) -> str:
    """The text of a message whose content is a list of parts (a transcript sent whole)."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def _uri(path: Any) -> str:
    if isinstance(path, str) and os.path.isabs(path):
        return "file://" + path
    return str(path or "hermesd:attachment")


def text_block(text: str) -> schema.TextContentBlock:
    return schema.TextContentBlock(type="text", text=text)


def model_value(provider: str, model: str) -> str:
    """A picker row's value in the model option: ``provider/model`` (as ``hermesd model`` takes it)."""
    return f"{provider}/{model}"


def model_option(picker: protocol.ListPickerResult, provider: str, model: str) -> schema.SessionConfigOptionSelect:
    """The daemon's picker rows as ACP's model selector (``category: model``), this session's model current."""
    options: list[schema.SessionConfigSelectOption] = []
    for row in picker.items:
        if row.kind != "model":
            continue
        value = model_value(row.provider, row.id)
        if any(o.value == value for o in options):
            continue
        described = " · ".join(part for part in (row.group, row.description, row.hint) if part)
        options.append(schema.SessionConfigSelectOption(value=value, name=row.label, description=described or None))
    current = model_value(provider, model) if provider else ""
    if not any(o.value == current for o in options):
        name = model or "No model configured"
        hint = None if provider else "run `hermesd setup`, or choose a model below"
        options.insert(0, schema.SessionConfigSelectOption(value=current, name=name, description=hint))
    return schema.SessionConfigOptionSelect(
        type="select", id=MODEL_OPTION, name="Model", category="model", current_value=current, options=options,
        description="the provider and model this conversation uses (hermesd's model picker)")


def split_model(value: str) -> tuple[str, str]:
    """``provider/model`` back to its parts; a clear error when it is not one."""
    provider, _, model = value.partition("/")
    if not provider or not model:
        raise error(f"{value!r} is not a model of this option: choose one of its values (provider/model)",
                    "unknown_model")
    return provider, model


def score_option(floor: Any, described: str) -> schema.SessionConfigOptionSelect:
    """Pareto Code's minimum coding score as a select (``category: model_config``); ``described``: the router's
    picker text for the current floor (a hand-edited one that is no number reads as none, as Hermes reads it)."""
    current = f"{floor:g}" if isinstance(floor, (int, float)) and not isinstance(floor, bool) else "none"
    values = list(SCORES) if current in SCORES else ["none", *sorted([*SCORES[1:], current], key=float)]
    options = [schema.SessionConfigSelectOption(
        value=v, name="No minimum (the strongest coder)" if v == "none" else f"At least {v}") for v in values]
    return schema.SessionConfigOptionSelect(
        type="select", id=SCORE_OPTION, name="Minimum coding score", category="model_config", current_value=current,
        options=options, description=described)
