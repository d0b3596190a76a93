"""The wheel carries the bundled plugins: an installed hermesd lists all 33."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_and_loads_the_bundled_plugins(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    [wheel] = tmp_path.glob("hermesd-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        plugins = {n.split("/")[3] for n in names if n.startswith("hermesd/bundled_plugins/model-providers/") and n.endswith("/__init__.py")}
        assert len(plugins) == 33
        assert all(f"hermesd/bundled_plugins/model-providers/{p}/plugin.yaml" in names for p in plugins)
        site = tmp_path / "site"
        archive.extractall(site)
    # Import from the unpacked wheel, not the checkout, and list providers.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import providers, hermesd;"
        "assert providers.__file__.startswith(sys.argv[1]), providers.__file__;"
        "from providers.discovery import bundled_dir; assert str(bundled_dir()).startswith(sys.argv[1]);"
        "print(len(providers.list_providers()), len(providers.plugin_errors()))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(site)], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={"HERMES_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["33", "0"]
