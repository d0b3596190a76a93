"""Noticing config.yaml change on disk: the CLI, another editor's daemon or a hand edit.

A daemon tells its editors about every change it makes itself
(``hermes/configChanged``); this module finds the changes made elsewhere.
The check is one ``stat`` of the file, cheap enough to run before every
request; while the daemon is idle, a poll runs it every second. When the
file's stat changed, the effective config is read again and each known key
whose value differs is reported once.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Callable

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0

Stamp = tuple[int, int, int] | None


def _stamp() -> Stamp:
    from hermesd.paths import config_path

    try:
        st = os.stat(config_path())
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class ConfigWatch:
    """The last-seen config, and a call for each known key that changed since."""

    def __init__(self, on_change: Callable[[str, Any], None]) -> None:
        self._on_change = on_change
        self._stamp: Stamp = None
        self._values: dict[str, Any] | None = None
        self._poll: asyncio.Task | None = None

    def _read(self) -> dict[str, Any] | None:
        """Every known key's effective value; None while the file cannot be parsed (nothing to report)."""
        from hermesd.settings import config as config_mod

        cfg = config_mod.load()
        if cfg.parse_error is not None:
            return None
        return {key: cfg.get(key) for key in config_mod.KEYS}

    def sync(self) -> None:
        """Take the file as it is now as the baseline, reporting nothing (after our own write, which was reported)."""
        self._stamp = _stamp()
        values = self._read()
        if values is not None:
            self._values = values

    @property
    def has_baseline(self) -> bool:
        """False until :meth:`sync` read the file once (the first request waits for it)."""
        return self._values is not None

    def check(self) -> None:
        """Report each key that changed since the last look; a stat when nothing did."""
        if self._values is None:
            return
        stamp = _stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        values = self._read()
        if values is None:
            return
        before, self._values = self._values, values
        for key, value in values.items():
            if before.get(key) != value:
                self._on_change(key, value)

    def start(self) -> None:
        """Take the baseline off the event loop, then poll every second on it; once."""
        if self._poll is not None:
            return
        self._poll = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            await asyncio.to_thread(self.sync)
            while True:
                await asyncio.sleep(POLL_SECONDS)
                self.check()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - watching is a convenience; never take the daemon down
            log.exception("config watch stopped")

    def stop(self) -> None:
        """Cancel the poll; a watch never started is left as it is."""
        if self._poll is not None:
            self._poll.cancel()
