"""``providers`` inside hermesd's process is hermesd's plugin API, one module object,
even when another ``providers`` package (the Hermes agent's) is importable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import hermesd.aliases
import providers
import providers.base

ROOT = Path(__file__).resolve().parent.parent


def test_providers_is_hermesd_plugin_api_one_object():
    assert hermesd.aliases.is_ours(providers)
    assert Path(providers.__file__).parent == Path(hermesd.aliases.api_dir())
    from hermesd.engine import runtime

    assert runtime.providers is providers
    assert runtime.ProviderProfile is providers.base.ProviderProfile


def test_install_is_idempotent():
    before = list(sys.meta_path)
    hermesd.aliases.install()
    hermesd.aliases.install()
    assert sys.meta_path == before
    import providers as again

    assert again is providers


def _foreign_providers(tmp_path: Path) -> Path:
    site = tmp_path / "foreign"
    (site / "providers").mkdir(parents=True)
    (site / "providers" / "__init__.py").write_text("FOREIGN = True\ndef list_providers():\n    return ['foreign']\n")
    return site


def _run(code: str, site: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    # The foreign package comes first on sys.path, as an installed Hermes would;
    # run outside the checkout so only the path given here decides.
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": f"{site}:{ROOT}", "HERMES_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})


def test_alias_takes_precedence_over_another_providers_package(tmp_path):
    site = _foreign_providers(tmp_path)
    out = _run("import providers; print(getattr(providers, 'FOREIGN', False))", site, tmp_path)
    assert out.stdout.split() == ["True"], out.stderr  # without hermesd, the other package
    code = ("import hermesd.engine.runtime, providers, providers.base;"
            "print(getattr(providers, 'FOREIGN', False), hermesd.engine.runtime.providers is providers,"
            " providers.base.__file__.startswith(hermesd.aliases.api_dir()))")
    out = _run(code, site, tmp_path)
    assert out.stdout.split() == ["False", "True", "True"], out.stderr


def test_install_evicts_a_foreign_providers_imported_first(tmp_path):
    site = _foreign_providers(tmp_path)
    code = ("import providers; assert providers.FOREIGN; import hermesd.aliases; hermesd.aliases.install();"
            "import providers; print(getattr(providers, 'FOREIGN', False), hermesd.aliases.is_ours(providers))")
    out = _run(code, site, tmp_path)
    assert out.stdout.split() == ["False", "True"], out.stderr
