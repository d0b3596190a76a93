"""Crash records: which plugin took a daemon down, named and quarantined by the next daemon.

A plugin runs inside the daemon's process (docs/plugins.md, "Reloads, and what a plugin can break"):
``os._exit`` or a crash in a C extension ends every chat of every client of
that daemon, and leaves no Python traceback. So each serving daemon keeps an
open, private ``crash-<pid>.log`` beside hermesd.log: :mod:`faulthandler`
writes every thread's stack there on a fatal signal, and ``os._exit`` is
wrapped to write its caller's stack first. A daemon that ends normally removes
its file. The next daemon to start reads the files of daemons that are gone,
finds the innermost frame under a plugin directory of the crashing thread,
logs it, and quarantines that plugin (:func:`providers.discovery.quarantine`).
Nothing here runs per request or per hook.
"""

from __future__ import annotations

import atexit
import faulthandler
import logging
import os
import re
import time
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

_FRAME = re.compile(r'^\s+File "(?P<file>.+)", line (?P<line>\d+) in (?P<function>.+)$')
# The crashing thread's block: faulthandler's "Current thread 0x… (most recent call first):"
# on a fatal signal, "Stack (most recent call first):" for dump_traceback(all_threads=False).
_CRASHING = ("Current thread ", "Stack (most recent call first)")
_EXIT_MARK = "hermesd: os._exit("

_record: IO[str] | None = None
_record_path: list[Path] = []


def arm(directory: Path) -> None:
    """Blame earlier crashes recorded in ``directory``, then record this daemon's own, should it crash."""
    global _record
    if _record is not None or os.name == "nt":  # Windows: no cheap is-that-daemon-gone check (os.kill ends it)
        return
    try:
        blame_earlier(directory)
    except Exception:  # noqa: BLE001 - a bad record must not stop the daemon
        log.exception("could not read the crash records in %s", directory)
    path = directory / f"crash-{os.getpid()}.log"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError:
        log.warning("no crash record: cannot open %s", path, exc_info=True)
        return
    _record = os.fdopen(fd, "w", encoding="utf-8", errors="replace")
    _record_path[:] = [path]
    faulthandler.enable(_record, all_threads=True)
    _wrap_exit(_record)
    atexit.register(disarm)


_real_exit = os._exit


def _wrap_exit(record: IO[str]) -> None:
    """``os._exit`` writes its caller's stack to the record first (Python code ending the process)."""
    real_exit = _real_exit

    def _exit(status: int) -> Any:
        try:
            record.write(f"{_EXIT_MARK}{status}) called\n")
            record.flush()
            faulthandler.dump_traceback(record, all_threads=False)
        except Exception:  # noqa: BLE001 - exiting is what was asked
            pass
        real_exit(status)

    os._exit = _exit  # type: ignore[assignment]


def disarm() -> None:
    """Serving ended normally: nothing to blame (the forked shared daemon then leaves by ``os._exit``)."""
    global _record
    if _record is None:
        return
    faulthandler.disable()
    os._exit = _real_exit
    _record.close()
    _record = None
    for path in _record_path:
        try:
            path.unlink()
        except OSError:
            pass


def blame_earlier(directory: Path) -> list[dict[str, Any]]:
    """Read the records of daemons that are gone: log each, quarantine the plugin it names; the blames."""
    blames = []
    for path in sorted(directory.glob("crash-*.log")):
        pid = path.stem.removeprefix("crash-")
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue  # a running daemon's (--no-shared daemons share the log directory)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            when = time.localtime(path.stat().st_mtime)
        except OSError:
            continue
        if text.strip():
            blame = _blame(text, when)
            if blame is None:
                log.error("daemon %s ended abruptly, in no plugin's code; its stacks:\n%s", pid, text)
            else:
                import providers.discovery as discovery

                plugin_dir = blame.pop("dir")
                discovery.quarantine(plugin_dir, blame)
                log.error("plugin %s %s; its stacks:\n%s", blame["plugin"],
                          discovery.quarantine_message(blame["plugin"], blame), text)
                blames.append(blame)
        try:
            path.unlink()
        except OSError:
            pass
    return blames


def _blame(text: str, when: time.struct_time) -> dict[str, Any] | None:
    """The plugin, function, file and line of the crashing thread's innermost plugin frame, or None."""
    from providers.discovery import plugin_of_path

    frames: list[dict[str, str]] = []
    crashing = False
    for line in text.splitlines():
        if line.startswith(_CRASHING):
            crashing, frames = True, []
        elif crashing and not line.strip():
            break
        elif crashing and (m := _FRAME.match(line)):
            frames.append(m.groupdict())
    for frame in frames:  # most recent call first
        found = plugin_of_path(frame["file"])
        if found is not None:
            how = "exit" if _EXIT_MARK in text else "fatal signal"
            return {"plugin": found[0], "dir": found[1], "function": frame["function"], "file": frame["file"],
                    "line": int(frame["line"]), "at": time.strftime("%H:%M", when),
                    "date": time.strftime("%Y-%m-%d", when), "how": how}
    return None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not: it has ended, just not been reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: not ours to read, but alive
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True
