"""How a model id is shortened for display: one rule for status bars, footers and pickers."""

from __future__ import annotations

LABEL_MAX = 40
_WEIGHT_FILES = (".gguf", ".bin", ".safetensors", ".ggml", ".onnx")


def model_label(model: str) -> str:
    """What a status bar shows for ``model``: a path's file name (a weights file's
    without its extension), a long id's last segment, at most LABEL_MAX
    characters. Editors show the full id beside it (a tooltip); the rule
    lives here so every editor shortens alike."""
    label = model.strip()
    looks_like_path = label.startswith(("/", "~", "./", "../")) or "\\" in label or label.lower().endswith(_WEIGHT_FILES)
    if looks_like_path or len(label) > LABEL_MAX:
        label = label.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or label
    if looks_like_path:  # a weights file: its name without the extension (SmolLM2-360M-Instruct-Q8_0)
        stem, dot, ext = label.rpartition(".")
        label = stem if dot and stem and f".{ext.lower()}" in _WEIGHT_FILES else label
    if len(label) > LABEL_MAX:
        head = (LABEL_MAX - 1) * 2 // 3
        label = label[:head] + "…" + label[-(LABEL_MAX - 1 - head):]
    return label
