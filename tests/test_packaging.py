"""What an installed hermesd looks like: the wheel carries the bundled plugins and the
plugin API inside ``hermesd/`` and nothing at the top level but ``hermesd``; an editable
install exposes ``hermesd`` alone. In every layout, ``providers`` is hermesd's plugin
API inside hermesd's process and nothing outside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
from tests._packaging_helpers import bare_venv, build_wheel

# Run from outside the checkout: hermesd's modules come from the given path only.
ONE_OBJECT = (
    "import hermesd, hermesd.engine.runtime, providers, providers.base;"
    "from providers.discovery import bundled_dir;"
    "assert hermesd.engine.runtime.providers is providers and hermesd.engine.runtime.ProviderProfile is providers.base.ProviderProfile;"
    "print(hermesd.aliases.api_dir() == __import__('os').path.dirname(providers.__file__),"
    " bundled_dir().is_relative_to(__import__('pathlib').Path(hermesd.__file__).parent.parent),"
    " len(providers.list_providers()), len(providers.plugin_errors()))"
)


def _env(tmp_path: Path) -> dict[str, str]:
    return {"HERMES_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}


def test_wheel_ships_only_hermesd_and_loads_the_bundled_plugins(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    assert {n.split("/")[0] for n in names} == {"hermesd", "hermesd_lsp-0.1.0.dist-info"}
    assert "hermesd/plugin-api/__init__.py" in names and "hermesd/plugin-api/base.py" in names
    assert not [n for n in names if "__pycache__" in n]
    plugins = {n.split("/")[3] for n in names if n.startswith("hermesd/bundled_plugins/model-providers/") and n.endswith("/__init__.py")}
    assert len(plugins) == 38
    assert all(f"hermesd/bundled_plugins/model-providers/{p}/plugin.yaml" in names for p in plugins)
    entry_points = zipfile.ZipFile(wheel).read("hermesd_lsp-0.1.0.dist-info/entry_points.txt").decode()
    assert "hermesd = hermesd.cli:main" in entry_points and "hermesd-lsp = hermesd.cli:main" in entry_points

    site = tmp_path / "site"
    plain = subprocess.run([sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); import providers"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert "No module named 'providers'" in plain.stderr  # nothing installed under that name (-S: the wheel alone)
    out = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {ONE_OBJECT}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "38", "0"]


def test_editable_install_exposes_hermesd_alone(tmp_path):
    editable = tmp_path / "dist"
    subprocess.run([sys.executable, "-c", f"from hatchling.build import build_editable; print(build_editable({str(editable)!r}))"],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    [wheel] = editable.glob("hermesd_lsp-*.whl")
    python = bare_venv(tmp_path / "venv", [wheel])
    plain = subprocess.run([python, "-c", "import providers"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert "No module named 'providers'" in plain.stderr, plain.stderr
    for name in ("plugins", "tests", "bench"):
        assert subprocess.run([python, "-c", f"import {name}"], cwd=tmp_path, capture_output=True, timeout=60).returncode == 1
    out = subprocess.run([python, "-c", ONE_OBJECT], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "38", "0"]
    where = subprocess.run([python, "-c", "import hermesd, providers; print(hermesd.__file__, providers.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert where.stdout.split() == [str(ROOT / "hermesd" / "__init__.py"), str(ROOT / "providers" / "__init__.py")]


@pytest.mark.parametrize("name", ["providers", "providers.base"])
def test_checkout_serves_one_object_under_one_name(name, tmp_path):
    # A checkout on sys.path (what the tests and `python -m hermesd` from the repo see):
    # importing the plugin API before or after hermesd gives the same module.
    code = f"import {name}, hermesd.engine.runtime, sys; print(sys.modules['providers'] is hermesd.engine.runtime.providers)"
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); {code}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert out.stdout.split() == ["True"], out.stderr


def _build_release(out: Path, *args: str) -> subprocess.CompletedProcess:
    # Offline: pip installs the artifacts' dependencies from the wheel cache ./scripts/test fills.
    from tests._packaging_helpers import wheel_cache

    env = {**__import__("os").environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheel_cache()), "PYTHON": sys.executable}
    return subprocess.run([str(ROOT / "scripts" / "build-release"), *args, str(out)], capture_output=True, text=True,
                          timeout=900, env=env)


def test_build_release_checks_the_wheel_and_the_sdist_in_fresh_venvs(tmp_path):
    out = _build_release(tmp_path / "release", "--no-vsix")
    assert out.returncode == 0, out.stdout + out.stderr
    assert sorted(p.name for p in (tmp_path / "release").iterdir()) == ["hermesd_lsp-0.1.0-py3-none-any.whl", "hermesd_lsp-0.1.0.tar.gz"]
    for artifact in ("wheel", "sdist"):
        assert f"[build-release] {artifact}: installed into a fresh venv; hermesd 0.1.0 (protocol " in out.stdout
    assert out.stdout.count("hermesd doctor passed") == 2
    with zipfile.ZipFile(tmp_path / "release" / "hermesd_lsp-0.1.0-py3-none-any.whl") as archive:
        assert "hermesd/bundled_plugins/model-providers/custom/plugin.yaml" in archive.namelist()


@pytest.mark.skipif(not (ROOT / "editors" / "vscode" / "node_modules" / "@vscode" / "vsce").is_dir(),
                    reason="editors/vscode has no node_modules: ./scripts/test installs them (npm ci)")
def test_build_release_packages_the_vsix_with_the_compiled_extension(tmp_path):
    out = _build_release(tmp_path / "release")
    assert out.returncode == 0, out.stdout + out.stderr
    vsix = tmp_path / "release" / "hermes-vscode-0.1.0.vsix"
    names = zipfile.ZipFile(vsix).namelist()
    assert {"extension/package.json", "extension/dist/extension.js", "extension/dist/webview.js"} <= set(names)
    assert not [n for n in names if "node_modules" in n or n.startswith("extension/src/")]
    assert "vsix: " in out.stdout and "with the compiled extension and package.json" in out.stdout


def test_build_release_refuses_an_unknown_option(tmp_path):
    out = subprocess.run([str(ROOT / "scripts" / "build-release"), "--wheel-only"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "unknown option --wheel-only" in out.stderr


@pytest.mark.parametrize("readme", ["editors/vscode/README.md", "editors/neovim/README.md"])
def test_editor_readmes_install_from_what_exists(readme):
    # The package is not published: the first install command is the main README's (a checkout),
    # and no spec asks the user to fill in a placeholder.
    main = (ROOT / "README.md").read_text()
    text = (ROOT / readme).read_text()
    assert "pip install . && hermesd doctor" in main
    first = next(line for line in text.splitlines() if line.lstrip().startswith(("pip install", "pipx install")))
    assert first.lstrip().startswith("pip install . && hermesd doctor"), first
    assert "OWNER" not in text and "replace OWNER" not in text
    assert "scripts/build-release" in text
    if "neovim" in readme:
        assert 'dir = "~/src/hermesd/editors/neovim"' in text
