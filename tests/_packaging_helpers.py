"""Building our wheel and installing it into fresh, offline venvs (no system site-packages).

The wheels a venv installs from come from the cache ./scripts/test fills once
(``$HERMESD_TEST_WHEELS``, default ``~/.cache/hermesd-test/wheels``): tests never
reach a package registry.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wheel_cache() -> Path:
    cache = Path(os.environ.get("HERMESD_TEST_WHEELS") or Path.home() / ".cache" / "hermesd-test" / "wheels")
    if not any(cache.glob(".complete-*")):
        raise AssertionError(f"no wheel cache at {cache}: run ./scripts/test once (it downloads hermes-agent and our dependencies there)")
    return cache


def build_wheel(out: Path) -> Path:
    """Our wheel, built from the checkout with the build backend already installed."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    [wheel] = out.glob("hermesd_lsp-*.whl")
    return wheel


def pip(python: str, *args: str) -> subprocess.CompletedProcess:
    """This interpreter's pip acting on ``python``'s environment, offline."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", "-q", *args],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, f"pip {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out


def install(python: str, *requirements: str | Path) -> None:
    pip(python, "install", "--no-index", "--no-compile", "--find-links", str(wheel_cache()), *map(str, requirements))


def bare_venv(path: Path, requirements: list[str | Path]) -> str:
    """A venv without pip or system site-packages, with ``requirements`` installed; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = str(path / "bin" / "python")
    if requirements:
        install(python, *requirements)
    return python
