"""One config.yaml shared with the Hermes agent: its keys read with its meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermesd import config
from tests._unit_helpers import UnitEnv, unit_env  # noqa: F401  (autouse fixture)


@pytest.fixture
def path(unit_env: UnitEnv) -> Path:
    return unit_env.config_path


def load(path: Path, text: str) -> config.Config:
    path.write_text(text, encoding="utf-8")
    return config.load(path)


# -- fallback chain ---------------------------------------------------------------


def test_fallback_chain_reads_fallback_providers_then_the_legacy_fallback_model(path: Path) -> None:
    cfg = load(path, """\
fallback_providers:
  - provider: openrouter
    model: anthropic/claude-sonnet-4
  - {provider: custom, model: qwen3, base_url: "http://127.0.0.1:9/v1/", key_env: LOCAL_KEY}
  - {provider: zai}            # no model: skipped, as Hermes does
  - just-a-string              # not a mapping: skipped
fallback_model:
  provider: OpenRouter-dup-is-case-insensitive
  model: glm-4.6
""")
    assert config.fallback_chain(cfg) == [
        {"provider": "openrouter", "model": "anthropic/claude-sonnet-4"},
        {"provider": "custom", "model": "qwen3", "base_url": "http://127.0.0.1:9/v1", "key_env": "LOCAL_KEY"},
        {"provider": "OpenRouter-dup-is-case-insensitive", "model": "glm-4.6"},
    ]


def test_fallback_chain_drops_a_legacy_entry_that_repeats_a_route(path: Path) -> None:
    cfg = load(path, """\
fallback_providers: [{provider: openrouter, model: a/b}]
fallback_model: [{provider: OPENROUTER, model: A/B}, {provider: zai, model: glm-4.6}]
""")
    assert config.fallback_chain(cfg) == [
        {"provider": "openrouter", "model": "a/b"},
        {"provider": "zai", "model": "glm-4.6"},
    ]


@pytest.mark.parametrize("text", ["", "fallback_providers: []\n", "fallback_model: {}\n", "fallback_providers: nope\n"])
def test_no_fallback_chain(path: Path, text: str) -> None:
    assert config.fallback_chain(load(path, text)) == []
