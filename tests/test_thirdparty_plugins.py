"""Third-party Hermes provider plugins from the package registry, installed beside hermesd.

Eight real plugin wheels (./scripts/test downloads them once into the wheel
cache) go into one throwaway venv with our wheel, ``--no-deps`` (tokenlab
depends on hermes-agent, which hermesd does not need). A plugin whose
``Requires-Python`` excludes this interpreter is not installed and is named
with that reason. For each plugin that loads, the URL, provider headers and
body of ``hermesd-lsp chat --preview`` equal what the Hermes release the
plugin targets builds with its own transport and SDK
(tests/hermes_reference_side.py in the reference venv of that release, the
plugin's package on its path). Every other plugin is in ``pluginErrors`` and
doctor with its specific reason: none disappears. The same again with the
plugins copied as directories under ``$HERMES_HOME/plugins/model-providers/``
where their READMEs describe that, and with ``plugins.disabled``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests._packaging_helpers import ROOT, bare_venv, build_wheel, pip, wheel_cache

KEY = "sk-thirdparty-not-a-real-key"
HERMES_RELEASES = ("0.19.0", "0.18.2")  # the newest on the registry, and the 0.18.x tokenlab pins
NEWEST_HERMES = "0.19.0"


@dataclass(frozen=True)
class Plugin:
    requirement: str
    provider: str
    model: str
    key_var: str | None  # None: signs in over OAuth only
    directory: str | None  # the package copied as $HERMES_HOME/plugins/model-providers/<name>/, where its README says so

    @property
    def wheel(self) -> Path:
        name, version = self.requirement.split("==")
        [wheel] = wheel_cache().glob(f"{name.replace('-', '_')}-{version}-*.whl")
        return wheel

    def metadata(self) -> dict:
        with zipfile.ZipFile(self.wheel) as z:
            [meta] = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
            msg = Parser().parsestr(z.read(meta).decode())
            eps = [n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")]
            entry_points = z.read(eps[0]).decode() if eps else ""
            packages = sorted({n.split("/")[0] for n in z.namelist() if "/" in n and ".dist-info" not in n})
        return {"requires_python": msg.get("Requires-Python") or "", "requires": msg.get_all("Requires-Dist") or [],
                "entry_points": entry_points, "packages": packages}


PLUGINS = [
    Plugin("bytesbrains-cruise-hermes==0.1.0", "cruise", "bb/chat-assistant", "CRUISE_API_KEY", "cruise"),
    Plugin("hermes-antigravity==1.7.0", "antigravity", "gemini-3-flash", None, "antigravity"),
    Plugin("hermes-apertis-provider==1.1.0", "apertis", "gpt-5.4-mini", "APERTIS_API_KEY", "apertis"),
    Plugin("hermes-claude-bridge==0.5.1", "pi-claude-cli", "sonnet", None, None),
    Plugin("hermes-nanogpt-provider==0.4.6", "nanogpt", "hermes-medium", "NANOGPT_API_KEY", None),
    Plugin("hermes-provider-venice==0.2.1", "venice", "venice-uncensored", "VENICE_API_KEY", "venice"),
    Plugin("tokenlab-hermes-provider==0.1.0", "tokenlab", "gpt-5.4-mini", "TOKENLAB_API_KEY", None),
    Plugin("zenmux-hermes-plugin==0.1.3", "zenmux", "openai/gpt-5.2", None, "zenmux"),
]
# What these plugins need of a newer Hermes, as hermesd reports it.
NEEDS_CREATE_CLIENT = {"antigravity", "pi-claude-cli"}
THIS_PYTHON = Version(".".join(map(str, sys.version_info[:3])))


def installable(plugin: Plugin) -> bool:
    spec = plugin.metadata()["requires_python"]
    return not spec or THIS_PYTHON in SpecifierSet(spec)


def target_hermes(plugin: Plugin) -> str:
    """The Hermes release the plugin's metadata asks for, else the newest on the registry."""
    for line in plugin.metadata()["requires"]:
        req = Requirement(line)
        if req.name == "hermes-agent" and not req.marker:
            return max((v for v in HERMES_RELEASES if Version(v) in req.specifier), key=Version)
    return NEWEST_HERMES


def hermes_python(version: str) -> Path:
    return Path.home() / ".cache" / "hermesd-test" / f"hermes-{version}" / "bin" / "python"


pytestmark = pytest.mark.skipif(
    not all(hermes_python(v).exists() for v in HERMES_RELEASES),
    reason="the hermes-agent 0.19.0/0.18.2 reference venvs are missing: ./scripts/test installs them",
)

DISCOVERY = """
import json, hermesd.aliases
hermesd.aliases.install()
import providers
from providers.base import newer_fields
print(json.dumps({
    "plugins": [{"name": p.name, "source": p.source, "entry_point": p.entry_point, "providers": p.provider_names,
                 "error": p.error.message if p.error else None, "disabled": p.disabled} for p in providers.list_plugins()
                if p.source in ("entry_point", "user")],
    "providers": {p.name: {"source": providers.provider_origin(p.name).source, "newer": sorted(newer_fields(p)),
                           "fields": {f: getattr(p, f) for f in p.__dataclass_fields__ if f != "fixed_temperature"},
                           "request_hooks": [h for h in ("prepare_messages", "build_extra_body", "build_api_kwargs_extras",
                                                         "get_max_tokens") if h in type(p).__dict__]}
                  for p in providers.list_providers()},
}, default=list))
"""


class Env:
    def __init__(self, root: Path, python: str) -> None:
        self.python, self.bin, self.root = python, Path(python).parent, root

    def run(self, home: Path, *argv: str) -> subprocess.CompletedProcess:
        env = {"HERMES_HOME": str(home), "PATH": f"{self.bin}:/usr/bin:/bin", "HOME": str(self.root),
               "HERMESD_DATA_DIR": str(self.root / "data"), "HERMESD_CACHE_DIR": str(self.root / "cache"),
               "HERMESD_LOG_DIR": str(self.root / "logs"), "HERMESD_RUNTIME_DIR": str(self.root / "run"),
               **{p.key_var: KEY for p in PLUGINS if p.key_var}}
        return subprocess.run(argv, cwd=self.root, capture_output=True, text=True, timeout=120, env=env)

    def discovery(self, home: Path) -> dict:
        out = self.run(home, self.python, "-c", DISCOVERY)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def doctor(self, home: Path) -> dict[str, dict]:
        out = self.run(home, str(self.bin / "hermesd"), "doctor", "--no-probe", "--json")
        return {check["id"]: check for check in json.loads(out.stdout)["checks"]}

    def plugin_errors(self, home: Path) -> list[dict]:
        out = self.run(home, str(self.bin / "hermesd"), "providers", "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["pluginErrors"]

    def preview(self, home: Path, plugin: Plugin) -> dict:
        out = self.run(home, str(self.bin / "hermesd-lsp"), "chat", "--preview", "-p", plugin.provider, "-m", plugin.model, "hi")
        assert out.returncode == 0, out.stderr
        assert KEY not in out.stdout
        return json.loads(out.stdout)


def new_home(root: Path, name: str, disabled: tuple[str, ...] = ()) -> Path:
    """A HERMES_HOME whose config.yaml enables what the venv installed (entry points are opt-in)."""
    home = root / name
    home.mkdir(mode=0o700)
    enabled = [p.requirement.split("==")[0] for p in PLUGINS if installable(p)]
    (home / "config.yaml").write_text(f"plugins:\n  enabled: [{', '.join(enabled)}]\n"
                                      + (f"  disabled: [{', '.join(disabled)}]\n" if disabled else ""))
    return home


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    root = tmp_path_factory.mktemp("thirdparty")
    ours = build_wheel(tmp_path_factory.mktemp("wheel"))
    python = bare_venv(root / "venv", [ours])
    env = Env(root, python)
    # hermesd runs once before the plugins are installed, as on a user's machine: nothing is grandfathered,
    # so each test's config.yaml enables what it uses (plugins.enabled).
    env.plugin_errors(new_home(root, "home-before", disabled=()))
    wheels = [p.wheel for p in PLUGINS if installable(p)]
    pip(python, "install", "--no-index", "--no-compile", "--no-deps", *map(str, wheels))
    return env


def hermes_builds(plugin: Plugin, url_base: str, unpacked: Path, profile: dict | None = None) -> dict:
    """The request the plugin's target Hermes release builds for it (tests/hermes_reference_side.py)."""
    entry = [line.split("=", 1)[1].strip() for line in plugin.metadata()["entry_points"].splitlines()
             if "=" in line and not line.startswith("[")]
    case = {"provider": plugin.provider, "model": plugin.model, "base_url": url_base, "api_key": KEY,
            "messages": [{"role": "user", "content": "hi"}],
            **({"profile": profile} if profile else {"plugin": entry[-1]})}
    version = target_hermes(plugin)
    proc = subprocess.run(
        [str(hermes_python(version)), str(ROOT / "tests" / "hermes_reference_side.py")],
        input=json.dumps({"cases": [case]}), capture_output=True, text=True, timeout=300, cwd=unpacked,
        env={"HERMES_HOME": str(unpacked / "home"), "PATH": os.environ.get("PATH", ""), "HOME": str(unpacked),
             "PYTHONPATH": str(unpacked)},
    )
    assert proc.returncode == 0, f"{plugin.requirement} in Hermes {version}: {proc.stderr[-3000:]}"
    [result] = json.loads(proc.stdout)["results"]
    return result


def endpoint_base(url: str) -> str:
    """The base URL of a previewed request: without its Chat Completions or Responses path."""
    return url.removesuffix("/chat/completions").removesuffix("/responses")


def unpack(plugin: Plugin, root: Path) -> Path:
    target = root / f"unpacked-{plugin.provider}"
    if not target.exists():
        zipfile.ZipFile(plugin.wheel).extractall(target)
        (target / "home").mkdir()
    return target


def assert_same_request(plugin: Plugin, ours: dict, hermes: dict) -> None:
    body = {k: v for k, v in ours["body"].items() if k != "stream"}  # the streaming flag is the client call's
    hermes_body = dict(hermes["body"])
    if hermes.get("api_mode") == "codex_responses" and "instructions" not in body:
        # Named difference (docs/plugins.md): with no system prompt Hermes sends its own agent identity as
        # instructions, and its hash as prompt_cache_key; hermesd sends neither.
        assert hermes_body.pop("instructions").startswith("You are Hermes Agent")
        hermes_body.pop("prompt_cache_key")
    hermes = {**hermes, "body": hermes_body}
    hermes_headers = dict(hermes["headers"])
    if plugin.key_var is None:
        # Hermes sends the token its credential pool holds; hermesd has no OAuth sign-in (doctor says so).
        hermes_headers.pop("authorization", None)
        assert "Authorization" not in ours["headers"]
    else:
        hermes_headers["authorization"] = "Bearer ***"  # the preview masks the key
    our_headers = {k.lower(): v for k, v in ours["headers"].items() if k.lower() in hermes_headers}
    assert (ours["url"], body, our_headers) == (hermes["url"], hermes["body"], hermes_headers), plugin.requirement


def check_all(env: Env, home: Path, expect_source: str) -> dict[str, str]:
    """Loaded plugins build Hermes' request; the rest are reported with a reason. Returns the table."""
    found = env.discovery(home)
    errors = env.plugin_errors(home)
    doctor = env.doctor(home)
    table: dict[str, str] = {}
    for plugin in PLUGINS:
        if not installable(plugin):
            table[plugin.provider] = f"not installed: Requires-Python {plugin.metadata()['requires_python']}, this is {THIS_PYTHON}"
            continue
        if expect_source == "user" and plugin.directory is None:
            continue
        if plugin.provider in NEEDS_CREATE_CLIENT:
            [error] = [e for e in errors if plugin.provider in e["message"] and "create_client" in e["message"]
                       and ("entryPoint" in e) == (expect_source == "entry_point")]
            assert "needs Hermes >= 0.20.0's create_client, not supported" in error["message"]
            if expect_source == "entry_point":
                assert error["entryPoint"].startswith("hermes_agent.plugins: ")
            assert any("create_client" in c["summary"] and c["status"] == "fail" for c in doctor.values())
            assert plugin.provider not in found["providers"]
            table[plugin.provider] = error["message"]
            continue
        row = found["providers"][plugin.provider]
        assert row["source"] == expect_source, plugin.requirement
        unpacked = unpack(plugin, env.root)
        ours = env.preview(home, plugin)
        if plugin.key_var is None:
            # No Hermes release on the registry imports it (it needs Hermes >= 0.20's OAuth fields):
            # its declarative profile in Hermes' newest release stands for it; its class changes no request hook.
            assert row["request_hooks"] == [] and row["newer"] == ["auth_handler", "refresh_credential"]
            assert any(c["status"] == "warn" and "auth_handler, refresh_credential" in c["summary"] for c in doctor.values())
            fields = {k: v for k, v in row["fields"].items() if k != "supports_vision_tool_messages"}
            hermes = hermes_builds(plugin, endpoint_base(ours["url"]), unpacked, profile=fields)
        else:
            hermes = hermes_builds(plugin, endpoint_base(ours["url"]), unpacked)
        assert_same_request(plugin, ours, hermes)
        table[plugin.provider] = f"loaded ({expect_source}), same request as Hermes {target_hermes(plugin)}"
    # Nothing silent: every plugin discovery saw registered something, failed with a reason, or was disabled.
    for info in found["plugins"]:
        assert info["providers"] or info["error"] or info["disabled"], info
    return table


def test_registry_plugins_installed_with_pip(env: Env) -> None:
    table = check_all(env, new_home(env.root, "home-pip"), "entry_point")
    loaded = [name for name, row in table.items() if row.startswith("loaded")]
    assert len(loaded) >= 5, json.dumps(table, indent=1)
    assert len(table) == len(PLUGINS)
    print(json.dumps(table, indent=1))
    found = env.discovery(new_home(env.root, "home-eps"))
    by_name = {p["name"]: p for p in found["plugins"]}
    # Each calling convention: apertis' register() (model_providers group), tokenlab's module with register(ctx=None).
    assert by_name["apertis"]["entry_point"] == "hermes_agent.model_providers: apertis = hermes_apertis_provider:register"
    assert by_name["tokenlab-provider"]["providers"] == ["tokenlab"]


def test_registry_plugins_as_hermes_home_directories(env: Env) -> None:
    """The README's other way: the package copied to $HERMES_HOME/plugins/model-providers/<name>/ (wins over pip's)."""
    home = new_home(env.root, "home-dirs")
    for plugin in PLUGINS:
        if plugin.directory and installable(plugin):
            [package] = [p for p in plugin.metadata()["packages"]]
            target = home / "plugins" / "model-providers" / plugin.directory
            with zipfile.ZipFile(plugin.wheel) as z:
                for name in z.namelist():
                    if name.startswith(package + "/") and not name.endswith("/"):
                        path = target / name[len(package) + 1:]
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(z.read(name))
    table = check_all(env, home, "user")
    assert [n for n, row in table.items() if row.startswith("loaded")] == [
        p.provider for p in PLUGINS if p.directory and installable(p) and p.provider not in NEEDS_CREATE_CLIENT]


def test_disabled_plugins_are_listed_with_the_fix(env: Env) -> None:
    home = new_home(env.root, "home-disabled", disabled=("cruise", "hermes-apertis-provider"))
    found = env.discovery(home)
    assert "cruise" not in found["providers"] and "apertis" not in found["providers"]
    assert "tokenlab" in found["providers"]
    doctor = env.doctor(home)
    for name in ("cruise", "apertis"):
        check = doctor[f"plugin:{name}"]
        assert check["status"] == "warn" and "installed but not loaded" in check["summary"]
        assert check["hint"].startswith("to load it, remove ") and "from plugins.disabled in config.yaml" in check["hint"]


def test_installed_plugins_wait_until_enabled(env: Env) -> None:
    """Installed after hermesd first ran, and not in plugins.enabled: listed with the command, never run."""
    home = env.root / "home-not-enabled"
    home.mkdir(mode=0o700)
    found = env.discovery(home)
    assert [name for name, row in found["providers"].items() if row["source"] == "entry_point"] == []
    errors = env.plugin_errors(home)
    waiting = {e["plugin"] for e in errors if "not enabled" in e["message"]}
    assert "apertis" in waiting and len(waiting) >= len([p for p in PLUGINS if installable(p)])  # one or more each
    assert all(f"`hermesd plugins enable {e['plugin']}`" in e["message"] for e in errors if e["plugin"] in waiting)
