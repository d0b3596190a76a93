"""hermesd and the Hermes agent installed into one environment, in both orders.

Hermes owns the top-level ``providers`` package; hermesd's wheel installs only
``hermesd/`` and reaches its own plugin API through an import alias inside its
own process. Shown with Hermes 0.13.0 and 0.19.0, installed offline from the
wheels ./scripts/test downloads once: every file of Hermes' distribution keeps
the hash its RECORD lists, Hermes' ``providers.list_providers()`` is what it is
with Hermes alone, ``hermesd chat --preview`` loads a plugin written for Hermes,
and uninstalling either leaves the other working. One venv per order; the
second Hermes release is an upgrade inside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests._packaging_helpers import bare_venv, build_wheel, install, pip, wheel_cache

HERMES_VERSIONS = ("0.13.0", "0.19.0")
KEY = "sk-coexist-not-a-real-key"

# A provider plugin in Hermes' own layout, as a Hermes user writes one.
HERMES_PLUGIN = '''\
from providers import register_provider
from providers.base import ProviderProfile

register_provider(ProviderProfile(
    name="acme", env_vars=("ACME_API_KEY",), display_name="Acme",
    base_url="http://127.0.0.1:9/v1", fallback_models=("acme-1",),
))
'''

PROVIDER_NAMES = "import json, providers; print(json.dumps([providers.__file__, sorted(p.name for p in providers.list_providers())]))"

RECORD_CHECK = """
import base64, hashlib, importlib.metadata as m, json
d = m.distribution("hermes-agent")
bad, checked = [], 0
for f in d.files:
    if not f.hash:
        continue
    try:
        data = f.locate().read_bytes()
    except FileNotFoundError:
        bad.append(f"missing {f}")
        continue
    checked += 1
    if base64.urlsafe_b64encode(hashlib.new(f.hash.mode, data).digest()).rstrip(b"=").decode() != f.hash.value:
        bad.append(f"changed {f}")
try:
    ours = {str(f) for f in m.distribution("hermesd-lsp").files}
except m.PackageNotFoundError:
    ours = set()
print(json.dumps({"version": d.version, "checked": checked, "bad": bad,
                  "shared": sorted(ours & {str(f) for f in d.files}), "ours": sorted(ours)}))
"""


def hermes_home(path: Path) -> Path:
    """A HERMES_HOME holding the Hermes-layout plugin: both programs load it."""
    plugin = path / "plugins" / "model-providers" / "acme"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text(HERMES_PLUGIN)
    (plugin / "plugin.yaml").write_text("name: acme\nkind: model-provider\nversion: 1.0.0\n")
    return path


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def hermes_alone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Hermes' provider names per release, from its wheel alone (stdlib only, nothing else on the path)."""
    names = {}
    for version in HERMES_VERSIONS:
        unpacked = tmp_path_factory.mktemp(f"hermes-{version}")
        [wheel] = wheel_cache().glob(f"hermes_agent-{version}-*.whl")
        zipfile.ZipFile(wheel).extractall(unpacked)
        home = hermes_home(tmp_path_factory.mktemp("home"))
        code = f"import sys; sys.path.insert(0, {str(unpacked)!r}); {PROVIDER_NAMES}"
        out = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=home, capture_output=True, text=True,
                             timeout=60, env={"HERMES_HOME": str(home), "PATH": "/usr/bin:/bin"})
        assert out.returncode == 0, out.stderr
        names[version] = json.loads(out.stdout)[1]
    assert len(names["0.13.0"]) == 34 + 1  # what the issue saw Hermes list on its own, and the user plugin
    return names


class Env:
    """One venv, and the checks run inside it with a private HERMES_HOME holding a Hermes plugin."""

    def __init__(self, root: Path, python: str) -> None:
        self.python, self.bin = python, Path(python).parent
        self.home = hermes_home(root / "hermes-home")
        self.cwd = root

    def run(self, *argv: str) -> subprocess.CompletedProcess:
        env = {"HERMES_HOME": str(self.home), "ACME_API_KEY": KEY, "PATH": f"{self.bin}:/usr/bin:/bin",
               "HOME": str(self.cwd), "HERMESD_DATA_DIR": str(self.cwd / "data"), "HERMESD_CACHE_DIR": str(self.cwd / "cache"),
               "HERMESD_LOG_DIR": str(self.cwd / "logs"), "HERMESD_RUNTIME_DIR": str(self.cwd / "run")}
        return subprocess.run(argv, cwd=self.cwd, capture_output=True, text=True, timeout=120, env=env)

    def hermes_providers(self) -> list[str]:
        out = self.run(self.python, "-c", PROVIDER_NAMES)
        assert out.returncode == 0, out.stderr
        path, names = json.loads(out.stdout)
        assert "/site-packages/providers/" in path  # Hermes' own package
        return names

    def hermes_record(self, version: str) -> dict:
        out = self.run(self.python, "-c", RECORD_CHECK)
        assert out.returncode == 0, out.stderr
        record = json.loads(out.stdout)
        assert record["version"] == version
        assert record["checked"] > 400 and record["bad"] == [] and record["shared"] == []
        return record

    def hermes_works(self, version: str) -> None:
        out = self.run(str(self.bin / "hermes"), "--version")
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"Hermes Agent v{version}")

    def doctor(self) -> dict[str, dict]:
        out = self.run(str(self.bin / "hermesd"), "doctor", "--no-probe", "--json")
        return {check["id"]: check for check in json.loads(out.stdout)["checks"]}

    def hermesd_works(self, hermes: str | None = None) -> None:
        """hermesd runs on its own registry; doctor names the Hermes release installed beside it."""
        checks = self.doctor()
        assert checks["registry"]["status"] == "ok" and "hermesd/plugin-api" in checks["registry"]["summary"]
        if hermes:
            assert f"Hermes agent {hermes} is installed in this environment" in checks["hermes-agent"]["summary"]
        else:
            assert "hermes-agent" not in checks
        out = self.run(str(self.bin / "hermesd-lsp"), "chat", "--preview", "-p", "acme", "-m", "acme-1", "hi")
        assert out.returncode == 0, out.stderr
        preview = json.loads(out.stdout)
        assert (preview["provider"], preview["url"]) == ("acme", "http://127.0.0.1:9/v1/chat/completions")
        assert preview["headers"]["Authorization"] == "Bearer ***" and KEY not in out.stdout
        listed = self.run(str(self.bin / "hermesd"), "providers", "--json")
        assert listed.returncode == 0, listed.stderr
        assert len(json.loads(listed.stdout)["providers"]) == 38 + 1  # hermesd's registry: bundled + the Hermes plugin

    def both_work(self, version: str, alone: list[str]) -> None:
        record = self.hermes_record(version)
        assert {path.split("/")[0] for path in record["ours"]} == {"hermesd", "hermesd_lsp-0.1.0.dist-info", ".."}
        assert self.hermes_providers() == alone
        self.hermes_works(version)
        self.hermesd_works(hermes=version)


def test_hermes_first_then_hermesd_then_uninstall_hermesd(ours, hermes_alone, tmp_path):
    python = bare_venv(tmp_path / "venv", [])
    env = Env(tmp_path, python)
    for version in HERMES_VERSIONS:
        install(python, f"hermes-agent=={version}")
        assert env.hermes_providers() == hermes_alone[version]
        install(python, ours)
        env.both_work(version, hermes_alone[version])
        pip(python, "uninstall", "-y", "hermesd-lsp")
        env.hermes_record(version)
        assert env.hermes_providers() == hermes_alone[version]
        env.hermes_works(version)
        assert not (env.bin / "hermesd").exists()


def test_hermesd_first_then_hermes_then_uninstall_hermes(ours, hermes_alone, tmp_path):
    python = bare_venv(tmp_path / "venv", [ours])
    env = Env(tmp_path, python)
    env.hermesd_works()
    for version in HERMES_VERSIONS:
        install(python, f"hermes-agent=={version}")
        env.both_work(version, hermes_alone[version])
        pip(python, "uninstall", "-y", "hermes-agent")
        env.hermesd_works()
        plain = env.run(python, "-c", "import providers")
        assert "No module named 'providers'" in plain.stderr  # Hermes' files went, ours stayed where they were
