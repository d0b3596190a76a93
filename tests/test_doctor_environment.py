"""doctor says which plugin registry this process uses and what shares our names in the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermesd.engine import doctor
from tests._unit_helpers import write_distribution


def test_registry_in_use_is_hermesds_own():
    [registry] = [c for c in doctor.environment_checks() if c.id == "registry"]
    assert registry.status == "ok" and "hermesd's own" in registry.summary


def test_a_hermes_agent_and_the_other_hermesd_installed_beside_us(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    write_distribution(tmp_path, "hermes-agent", "0.13.0", summary="The self-improving AI agent")
    write_distribution(tmp_path, "hermesd", "2026.9.26", summary="TUI monitoring dashboard for Hermes AI agent")
    monkeypatch.syspath_prepend(str(tmp_path))
    checks = {c.id: c for c in doctor.environment_checks()}
    assert checks["hermes-agent"].status == "ok"
    assert checks["hermes-agent"].summary.startswith("Hermes agent 0.13.0 is installed in this environment")
    assert str(tmp_path / "providers") in checks["hermes-agent"].summary
    other = checks["hermesd-distribution"]
    assert other.status == "warn" and "2026.9.26 (TUI monitoring dashboard for Hermes AI agent)" in other.summary
    assert "`pipx install .` in its checkout" in other.hint and "hermesd-lsp`" in other.hint


def test_doctor_lists_the_direct_dependencies_and_warns_outside_the_tested_range(tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch):
    """The range is what the dependency matrix passed (hermesd/tested_versions.py, written by scripts/dependency_matrix.py)."""
    from importlib import metadata

    from hermesd.tested_versions import TESTED

    low, high = TESTED["openai"]
    write_distribution(tmp_path, "openai", "1.40.0")
    monkeypatch.syspath_prepend(str(tmp_path))
    checks = {c.id: c for c in doctor.dependency_checks()}
    listed = checks["dependencies"]
    assert listed.status == "ok" and "openai 1.40.0" in listed.summary
    assert f"pyyaml {metadata.version('pyyaml')}" in listed.summary and f"httpx {metadata.version('httpx')}" in listed.summary
    warning = checks["dependency:openai"]
    assert warning.status == "warn" and warning.summary == f"openai 1.40.0 is outside the tested range ({low} to {high})"
    assert f"pip install 'openai>={low},<={high}'" in warning.hint


def test_the_tested_ranges_match_pyprojects_bounds():
    """Every direct dependency has a tested range, which starts at its lower bound: a bound changed without
    running the matrix (./scripts/test, or scripts/dependency_matrix.py) fails here."""
    import re
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    from hermesd.tested_versions import TESTED

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["bedrock"]]
    assert sorted(TESTED) == sorted(re.sub(r"[-_.]+", "-", r.name).lower() for r in requirements)
    for req in requirements:
        low, high = TESTED[re.sub(r"[-_.]+", "-", req.name).lower()]
        assert low in req.specifier and high in req.specifier, (req, low, high)
        [floor] = [Version(s.version) for s in req.specifier if s.operator == ">="]
        assert Version(low) == floor, f"{req}: the matrix's lowest leg passed {low}"
