"""Fill-in-the-middle templates by model family: which special tokens a code model was trained with.

The wrong template is the most reported failure of local completion setups
(a Qwen model prompted with StarCoder's tokens writes nonsense), so the family
is chosen from the model id, shown by doctor and ``hermesd complete --preview``,
and can be named in config (``completion.template``). ``"server"`` leaves the
template to the endpoint: the request carries ``prompt`` and ``suffix`` and
the server (Ollama, DeepSeek's FIM beta, llama-cpp-python) applies the
model's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SERVER = "server"  # completion.template: the endpoint applies the model's template itself


@dataclass(frozen=True)
class Template:
    """One family's FIM prompt: ``{prefix}`` and ``{suffix}`` placed between its special tokens."""

    name: str
    pattern: str  # a regular expression on the lower-cased model id (its last path part and tag included)
    layout: str  # the prompt, with {prefix} and {suffix}
    stop: tuple[str, ...]  # the family's special tokens: the model writing one means the middle is done

    def render(self, prefix: str, suffix: str) -> str:
        """The prompt for this hole (placed by position, not ``str.format``: code is full of braces)."""
        parts = re.split(r"(\{prefix\}|\{suffix\})", self.layout)
        return "".join(prefix if p == "{prefix}" else suffix if p == "{suffix}" else p for p in parts)


_QWEN_STOP = ("<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>",
              "<|repo_name|>", "<|file_sep|>", "<|im_start|>", "<|im_end|>")

# Order matters: the first pattern that matches the model id wins.
TEMPLATES: tuple[Template, ...] = (
    Template("qwen-coder", r"qwen.*coder",
             "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>", _QWEN_STOP),
    Template("codestral", r"codestral",
             "[SUFFIX]{suffix}[PREFIX]{prefix}", ("[PREFIX]", "[SUFFIX]", "[MIDDLE]", "</s>")),
    Template("deepseek-coder", r"deepseek-?coder",
             "<｜fim▁begin｜>{prefix}<｜fim▁hole｜>{suffix}<｜fim▁end｜>",
             ("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>", "<｜end▁of▁sentence｜>", "<|EOT|>")),
    Template("codellama", r"code-?llama",
             "<PRE> {prefix} <SUF>{suffix} <MID>", ("<PRE>", "<SUF>", "<MID>", "<EOT>", "</s>")),
    Template("codegemma", r"codegemma",
             "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>",
             ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_separator|>", "<end_of_turn>", "<eos>")),
    Template("starcoder", r"starcoder|stable-?code|granite[\w.-]*code|refact",
             "<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>",
             ("<|endoftext|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<file_sep>")),
)
BY_NAME = {t.name: t for t in TEMPLATES}


def family_of(model: str) -> Template | None:
    """The template the model id names (``Qwen/Qwen2.5-Coder-1.5B``, ``qwen2.5-coder:7b-base``), or None."""
    name = (model or "").lower()
    return next((t for t in TEMPLATES if re.search(t.pattern, name)), None)


def choose(model: str, configured: str = "", custom: dict[str, dict] | None = None) -> tuple[Template | None, str]:
    """The template to use and why: ``completion.template`` (a family, ``server``, or one of
    ``completion.templates``' own), else the model id's family; None means the server applies its own.

    An unknown configured name raises ValueError naming the known ones.
    """
    configured = (configured or "").strip()
    custom = custom or {}
    if configured == SERVER:
        return None, "completion.template: server (the endpoint applies the model's own template)"
    if configured:
        if configured in custom:
            return from_config(configured, custom[configured]), f"completion.templates.{configured}"
        if configured in BY_NAME:
            return BY_NAME[configured], "completion.template"
        known = ", ".join([*BY_NAME, *custom, SERVER])
        raise ValueError(f"completion.template {configured!r} is not a known template; known: {known}")
    found = family_of(model)
    if found is not None:
        return found, f"the model id {model!r} names the {found.name} family"
    return None, f"no known FIM family in {model!r}: the endpoint applies the model's own template"


def from_config(name: str, entry: dict) -> Template:
    """A template written in config.yaml: ``{layout: "...{prefix}...{suffix}...", stop: [...]}``."""
    layout = entry.get("layout") if isinstance(entry, dict) else None
    if not isinstance(layout, str) or "{prefix}" not in layout or "{suffix}" not in layout:
        raise ValueError(f"completion.templates.{name}.layout must be a string holding {{prefix}} and {{suffix}}")
    stop = entry.get("stop") or []
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise ValueError(f"completion.templates.{name}.stop must be a list of non-empty strings")
    return Template(name, "", layout, tuple(stop))
