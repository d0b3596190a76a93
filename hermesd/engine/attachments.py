"""Context an editor attaches to a chat turn: files, selections, diagnostics.

Attachments arrive typed (``{kind, path?, language?, range?, text}``), are
checked here (size, binary, files that usually hold secrets), are rendered
into the user's turn as fenced blocks ahead of the message (what
``hermes/previewRequest`` shows is exactly what is sent), and are saved with
the turn in the session file, so a continued conversation keeps them.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hermesd.paths import hermes_home

if TYPE_CHECKING:
    from hermesd.protocol import Attachment, LspRange

# Per attachment; above it the request is refused (nothing sent, nothing saved): attach a selection instead.
MAX_ATTACHMENT_BYTES = 256 * 1024
MAX_ATTACHMENTS = 20
# Names of files that usually hold secrets; ``.env.example`` and friends do not.
SENSITIVE_NAMES = (
    ".env", ".env.*", ".envrc", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.kdbx",
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", ".netrc", "_netrc", ".pgpass", ".npmrc", ".pypirc",
    ".git-credentials", ".htpasswd", "credentials*", "auth.json", "secrets.*", "*.secret",
)
NOT_SENSITIVE = (".env.example", ".env.sample", ".env.template", "*.pub")


class AttachmentError(ValueError):
    """A malformed or refused attachment (JSON-RPC -32602); the message names it."""


class NeedsConfirmation(AttachmentError):
    """Attachments the user must confirm: re-send them with ``confirmed: true``."""

    def __init__(self, found: list[dict[str, Any]]) -> None:
        self.found = found
        names = ", ".join(f"{f['path']} ({f['reason']})" for f in found)
        super().__init__(f"these attachments may hold secrets and are saved with the conversation: {names}; "
                         "ask the user, then re-send each with `confirmed: true`")

    def data(self) -> dict[str, Any]:
        """The -32004 error's ``data`` (``protocol.NeedsConfirmationData``): what to ask the user about."""
        return {"kind": "needsConfirmation", "attachments": self.found}


def parse(items: list[Attachment] | None) -> list[dict[str, Any]]:
    """The ``attachments`` param, already typed by the protocol, checked for what types cannot say; the saved
    (and rendered) form of each."""
    if not items:
        return []
    if len(items) > MAX_ATTACHMENTS:
        raise AttachmentError(f"`attachments` has {len(items)} items; the limit is {MAX_ATTACHMENTS}")
    out = []
    for i, item in enumerate(items):
        where = f"`attachments[{i}]`"
        attachment: dict[str, Any] = {"kind": item.kind}
        for name in ("path", "language"):
            field = getattr(item, name)
            if field is not None:
                if not field.strip() or "\n" in field:
                    raise AttachmentError(f"{where}.{name} must be a one-line string")
                attachment[name] = field.strip()
        if item.range is not None:
            attachment["range"] = _range(item.range, where)
        label = attachment.get("path") or item.kind
        size = len(item.text.encode("utf-8", "surrogatepass"))
        if size > MAX_ATTACHMENT_BYTES:
            raise AttachmentError(
                f"{where} ({label}) is {size} bytes; the limit is {MAX_ATTACHMENT_BYTES} bytes "
                f"({MAX_ATTACHMENT_BYTES // 1024} KiB) per attachment: attach a selection of it instead"
            )
        if _looks_binary(item.text):
            raise AttachmentError(f"{where} ({label}) looks like a binary file; only text can be attached")
        attachment["text"] = item.text
        if item.confirmed is True:
            attachment["confirmed"] = True
        out.append(attachment)
    return out


def _range(span: LspRange, where: str) -> dict[str, Any]:
    """An LSP range (zero-based lines and characters), as the session file keeps it."""
    points = [span.start.line, span.start.character, span.end.line, span.end.character]
    if not all(p >= 0 for p in points):
        raise AttachmentError(f"{where}.range must be {{start: {{line, character}}, end: {{line, character}}}}, "
                              "zero-based")
    return {"start": {"line": points[0], "character": points[1]}, "end": {"line": points[2], "character": points[3]}}


def _looks_binary(text: str) -> bool:
    replaced = text.count("\ufffd")  # what an editor shows for bytes that are not text
    return "\x00" in text or (replaced >= 8 and replaced * 100 >= len(text))


# A private key of any kind (PKCS#8, RSA, EC, OpenSSH, PGP's "PRIVATE KEY BLOCK"), wherever it is pasted.
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")


def sensitive_reason(path: str, text: str = "") -> str | None:
    """Why this attachment usually holds secrets, or None: its text holds a private key; its name, or the name
    of the file it resolves to (a symlink), is a secrets file's; the real file is in $HERMES_HOME (keys,
    config.yaml's ``api_key:``); or git ignores it."""
    if _PRIVATE_KEY.search(text):
        return "holds a private key"
    if not path:
        return None
    real = os.path.realpath(path) if os.path.isabs(path) else path
    for name in dict.fromkeys((os.path.basename(path), os.path.basename(real))):
        reason = _name_reason(name)
        if reason:
            return reason
    if os.path.isabs(path) and _inside(real, os.path.realpath(hermes_home())):
        return "in $HERMES_HOME, where hermesd and Hermes keep keys"
    if os.path.isabs(path) and (_git_ignored(Path(path)) or real != path and _git_ignored(Path(real))):
        return "ignored by git"
    return None


def _name_reason(name: str) -> str | None:
    if any(fnmatch.fnmatch(name, pattern) for pattern in NOT_SENSITIVE):
        return None
    pattern = next((p for p in SENSITIVE_NAMES if fnmatch.fnmatch(name, p)), None)
    return f"named like a secrets file ({pattern})" if pattern else None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


# What keeps git from running anyone's code for hermesd: a folder's .git/config (an extracted archive, a
# shared mount) can name a command as core.fsmonitor, which reading the index runs; hooks, pagers and
# helpers likewise. Command-line -c wins over every config file. The environment's GIT_* (GIT_DIR,
# GIT_CONFIG_*) are dropped, the system config is not read, and no prompt or optional lock is taken.
_GIT_SAFE = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-c", "core.untrackedCache=false",
             "-c", "core.pager=cat", "-c", "core.sshCommand=false", "-c", "diff.external=", "-c", "protocol.allow=never",
             "-c", "credential.helper=", "--no-pager")


def git_command(*args: str) -> tuple[list[str], dict[str, str]] | None:
    """argv and environment for a git that runs no configured command (fsmonitor, hooks, pager, helpers);
    None without git."""
    git = shutil.which("git")
    if git is None:
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    return [git, *_GIT_SAFE, *args], env


def _git_ignored(path: Path) -> bool:
    folder = path.parent
    command = git_command("-C", str(folder), "check-ignore", "-q", "--", path.name)
    if command is None or not folder.is_dir():
        return False
    argv, env = command
    try:
        done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def confirm(attachments: list[dict[str, Any]]) -> None:
    """Raise NeedsConfirmation for unconfirmed attachments that look sensitive (runs git: off the loop)."""
    found = []
    for i, attachment in enumerate(attachments):
        if attachment.get("confirmed"):
            continue
        path = attachment.get("path") or ""
        reason = sensitive_reason(path, attachment["text"])
        if reason:
            found.append({"index": i, "path": path or f"({attachment['kind']})", "reason": reason})
    if found:
        raise NeedsConfirmation(found)


def size(attachments: list[dict[str, Any]]) -> int:
    """Their text's UTF-8 size, counted toward hermes/chat's request limit (a lone surrogate counts, not raises)."""
    return sum(len(a["text"].encode("utf-8", "surrogatepass")) for a in attachments)


def render(message: str, attachments: list[dict[str, Any]] | None) -> str:
    """The user's turn as sent: each attachment as a fenced block, then the message."""
    if not attachments:
        return message
    blocks = [_block(a) for a in attachments]
    return "\n\n".join([*blocks, message])


def _block(attachment: dict[str, Any]) -> str:
    kind, path, text = attachment["kind"], attachment.get("path"), attachment["text"]
    where = path or "the editor"
    span = attachment.get("range")
    lines = f", lines {span['start']['line'] + 1}-{span['end']['line'] + 1}" if span else ""
    header = {"file": "File", "selection": "Selection from", "diagnostics": "Diagnostics for"}[kind]
    header = f"{header} {where}{lines}"
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    language = attachment.get("language", "") if kind != "diagnostics" else ""
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{header}:\n{fence}{language}\n{body}{fence}"


def _longest_backtick_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest


def saved(attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the session file keeps (the confirmation is not part of the context)."""
    return [{k: v for k, v in a.items() if k != "confirmed"} for a in attachments]
