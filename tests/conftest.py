"""Shared fixtures: an isolated home for every test, the recording upstream,
and the real daemon spawned over stdio with pytest-lsp.

Every test runs with its own ``HERMES_HOME``, cache, data and log
directories, and with the developer's real API keys removed from the
environment, so nothing a test does can touch (or leak) real credentials.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import pytest
import pytest_asyncio
import yaml

import hermesd.aliases
from tests.daemon import CANARY_KEY, KEEP, SECRETISH, Daemon, private_dirs, spawn_daemon, stop_daemon, stop_shared_daemons
from tests.upstream import Upstream

# Files the tests write (plugins above all) must not be group/other-writable,
# or hermesd refuses the plugins (docs/plugins.md), whatever the machine's umask.
os.umask(0o022)

# Every hermesd a test starts serves in its own process (--no-shared), as before the
# shared daemon, unless the test asks for the shared one (spawn_daemon(shared=True),
# the editor e2e's shared mode). Set here, so module-scoped fixtures see it too.
os.environ["HERMESD_SHARED"] = "0"

__all__ = ["CANARY_KEY", "Daemon", "write_config"]

# The same import aliases the daemon installs at start (`providers` is hermesd's
# plugin API, plus the Hermes compatibility surface): tests import them directly.
hermesd.aliases.install()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--burn", action="store_true",
                     help="run the tests beside one CPU burner per core (tests/burn.py): a busy machine, as a user's can be")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("burn") and not hasattr(config, "workerinput"):  # once, not in each xdist worker
        from tests import burn

        burners = burn.start()
        config.add_cleanup(lambda: burn.stop(burners))


def pytest_report_header(config: pytest.Config) -> str | None:
    return f"burn: one CPU burner per core ({os.cpu_count()})" if config.getoption("burn") else None


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private HERMES_HOME and platform dirs (the runtime dir too, so shared daemons are the test's own,
    stopped when it ends); no real keys or base URLs."""
    home = tmp_path / "hermes-home"
    for name in list(os.environ):
        if SECRETISH.search(name) and name not in KEEP:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HERMES_INFERENCE_PROVIDER", raising=False)
    for var, value in private_dirs(tmp_path).items():
        monkeypatch.setenv(var, value)
    yield home
    stop_shared_daemons(tmp_path / "run")


@pytest.fixture
def upstream() -> Any:
    with Upstream() as up:
        yield up


def write_config(home: Path, config: dict[str, Any]) -> Path:
    path = home / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest_asyncio.fixture
async def start_daemon(isolated_home: Path) -> AsyncIterator[Callable[..., Any]]:
    """Factory: ``await start_daemon(env={...})`` spawns the real daemon over stdio.

    The daemon sees this test's environment (``isolated_home``) plus ``env``;
    every daemon started is stopped when the test ends.
    """
    started: list[Daemon] = []

    async def start(env: dict[str, str] | None = None, initialization_options: dict | None = None,
                    **options: Any) -> Daemon:
        daemon = await spawn_daemon({**os.environ, **(env or {})},
                                    initialization_options=initialization_options, **options)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        await stop_daemon(daemon)
