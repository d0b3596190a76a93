"""Tests of the VS Code extension (editors/vscode).

* ``npm test``: the TypeScript type check and the vitest unit tests.
* The packaged ``.vsix`` (built with @vscode/vsce) holds the bundles and no sources.
* The end-to-end script ``editors/vscode/test/e2e/run.mjs``: installs the
  ``.vsix`` into code-server, drives it in headless Chromium with
  playwright-core, with the real hermesd behind it and ``tests/upstream.py``
  as OpenRouter. Screenshots go to ``tests/artifacts/vscode/``.

The tools come from ``scripts/install-vscode-test-deps.sh`` (Chromium, the
npm packages, code-server). Without them these tests fail; they skip only
when HERMESD_SKIP_EDITOR_E2E=1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from impostors import write_impostors  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "editors" / "vscode"
ARTIFACTS = ROOT / "tests" / "artifacts" / "vscode"
CODE_SERVER = Path(os.environ.get("CODE_SERVER", EXT / ".code-server" / "bin" / "code-server"))
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
INSTALL_HINT = "run `bash scripts/install-vscode-test-deps.sh` (as root) first"
SKIP = os.environ.get("HERMESD_SKIP_EDITOR_E2E") == "1"

SCREENSHOTS = [
    "00-status-bar.png",
    "01-chat-open.png",
    "02-chat-streaming.png",
    "03-chat-reply.png",
    "04-chat-stopped.png",
    "05-chat-error.png",
    "05b-long-lines.png",
    "06-model-picker.png",
    "06b-set-up-provider.png",
    "07-score-validation.png",
    "07b-boolean-choice.png",
    "08-ask-selection.png",
    "09-plugin-added.png",
    "10-doctor.png",
    "11-server-not-found.png",
    "12-not-hermesd.png",
    "13-server-search-failed.png",
    "14-apply-diff.png",
    "15-applied.png",
    "16-inserted.png",
    "17-context-preview.png",
    "17b-file-picker.png",
    "18-history.png",
    "19-reopened.png",
    "20-picker-no-keys.png",
    "21-pareto-needs-key.png",
    "22-completion-ghost.png",
    "23-completion-accepted.png",
    "24-completion-snoozed.png",
    "25-completion-off.png",
]


def require(ok: bool, what: str) -> None:
    """Fail when a tool is missing, unless the editor tests are switched off."""
    if ok:
        return
    if SKIP:
        pytest.skip(f"{what} (HERMESD_SKIP_EDITOR_E2E=1)")
    pytest.fail(f"{what}: {INSTALL_HINT}")


def run(args: list[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    # Plain output whatever the environment (CI sets variables that turn colours on).
    plain = {**(env if env is not None else os.environ), "NO_COLOR": "1", "FORCE_COLOR": "0"}
    proc = subprocess.run(
        args,
        cwd=EXT,
        env=plain,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    proc.stdout = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout or "")
    return proc


def tail(text: str, lines: int = 80) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def npm() -> str:
    path = shutil.which("npm")
    require(path is not None and shutil.which("node") is not None, "Node.js and npm are not installed")
    require((EXT / "node_modules" / ".package-lock.json").is_file(), "editors/vscode/node_modules is missing")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="module")
def vsix(npm: str) -> Path:
    out = EXT / "dist" / "hermes-vscode.vsix"
    out.unlink(missing_ok=True)
    # vsce runs `vscode:prepublish` (the production esbuild build) first.
    package = run([npm, "run", "package"], timeout=300)
    assert package.returncode == 0, tail(package.stdout)
    assert out.is_file(), tail(package.stdout)
    return out


def test_typecheck_and_unit_tests(npm: str) -> None:
    proc = run([npm, "test"], timeout=600)
    assert proc.returncode == 0, tail(proc.stdout)
    match = re.search(r"Tests\s+(\d+) passed", proc.stdout)
    assert match, tail(proc.stdout)
    assert int(match.group(1)) >= 100, tail(proc.stdout)
    assert "failed" not in proc.stdout.split("Test Files")[-1], tail(proc.stdout)


def test_vsix_holds_the_bundles_only(vsix: Path) -> None:
    with zipfile.ZipFile(vsix) as z:
        names = set(z.namelist())
        manifest = z.read("extension/package.json").decode()
    for needed in (
        "extension/package.json",
        "extension/readme.md",
        "extension/dist/extension.js",
        "extension/dist/webview.js",
        "extension/media/chat.css",
        "extension/media/hermes.svg",
    ):
        assert needed in names, sorted(names)
    assert not [n for n in names if "/node_modules/" in n or "/src/" in n or n.endswith(".map") or n.endswith(".ts")]
    assert '"hermes.server.path"' in manifest and '"hermes.trace.server"' in manifest


@pytest.mark.parametrize("mode", ["shared", "no-shared"])
def test_end_to_end_in_code_server(vsix: Path, tmp_path: Path, mode: str) -> None:
    if SKIP:
        pytest.skip("HERMESD_SKIP_EDITOR_E2E=1")
    require(CODE_SERVER.exists(), f"code-server not found at {CODE_SERVER}")
    require(CHROMIUM.exists(), f"Chromium not found at {CHROMIUM}")
    node = shutil.which("node")
    assert node
    env = dict(os.environ)
    # Programs called hermesd that are not hermesd's server: the extension must refuse each.
    env["HERMES_TEST_SHARED"] = "0" if mode == "no-shared" else "1"  # hermes.server.shared
    env["HERMES_TEST_IMPOSTORS"] = json.dumps({k: str(v) for k, v in write_impostors(tmp_path).items()})
    proc = run(
        [node, "test/e2e/run.mjs", "--vsix", str(vsix), "--artifacts", str(ARTIFACTS)],
        timeout=900,
        env=env,
    )
    print(proc.stdout)
    assert proc.returncode == 0, tail(proc.stdout, 120)
    assert re.search(r"vscode e2e: \d+ passed, 0 failed", proc.stdout), tail(proc.stdout)
    missing = [name for name in SCREENSHOTS if not (ARTIFACTS / name).is_file()]
    assert not missing, missing
