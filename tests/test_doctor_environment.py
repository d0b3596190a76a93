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
    assert "pipx install hermesd-lsp" in other.hint
