"""Tool results with image parts, for a provider that takes only text in a tool message.

A profile with ``supports_vision_tool_messages=False`` (hermes-agent 0.19.0;
Xiaomi MiMo answers 400 to list-type tool content) gets each tool message
whose content is a list holding an image part as the text of its text parts,
joined by newlines, or ``[multimodal tool result]`` when there is none: what
Hermes sends such a provider in place of the image.
"""

from __future__ import annotations

from typing import Any

NO_TEXT = "[multimodal tool result]"


def _has_image(content: Any) -> bool:
    return isinstance(content, list) and any(
        isinstance(part, dict) and part.get("type") in ("image_url", "input_image", "image") for part in content)


def text_tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with image-bearing tool results flattened to text; the input is not changed."""
    out = []
    for message in messages:
        content = message.get("content")
        if message.get("role") == "tool" and _has_image(content):
            texts = [str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"]
            message = {**message, "content": "\n".join(texts) if texts else NO_TEXT}
        out.append(message)
    return out
