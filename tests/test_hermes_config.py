"""One config.yaml shared with the Hermes agent: its keys read with its meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermesd.settings import config
from tests._unit_helpers import UnitEnv, unit_env  # noqa: F401  (autouse fixture)


@pytest.fixture
def path(unit_env: UnitEnv) -> Path:  # noqa: F811 - the autouse fixture, by name
    return unit_env.config_path


def load(path: Path, text: str) -> config.Config:
    path.write_text(text, encoding="utf-8")
    return config.load(path)


# -- Hermes' shapes and names ---------------------------------------------------------------


def test_model_as_a_plain_string_and_root_level_keys_as_hermes_migrates_them(path: Path) -> None:
    cfg = load(path, "model: anthropic/claude-sonnet-4\nprovider: openrouter\nbase_url: https://openrouter.ai/api/v1\n")
    assert (cfg.get("model.default"), cfg.get("model.provider")) == ("anthropic/claude-sonnet-4", "openrouter")
    assert cfg.get("model.base_url") == "https://openrouter.ai/api/v1"
    # Root-level keys never override model.*; the first write moves them, as Hermes' save_config does.
    cfg = load(path, "model: {provider: custom, default: m}\nprovider: openrouter\n")
    assert cfg.get("model.provider") == "custom"
    config.set_value("model.default", "n", path=path)
    assert path.read_text() == "model: {provider: custom, default: n}\n"
    load(path, "model: old-model\nprovider: openrouter\n")
    config.set_value("model.default", "new-model", path=path)
    assert path.read_text() == "model:\n  default: new-model\n  provider: openrouter\n"


def test_hermes_keys_win_over_the_aliases_and_writes_go_to_them(path: Path) -> None:
    cfg = load(path, "model: {reasoning_effort: low}\nagent: {reasoning_effort: high}\nnetwork: {max_retries: 5}\n")
    assert cfg.get("agent.reasoning_effort") == "high" and cfg.get("model.reasoning_effort") == "high"
    assert cfg.get("agent.api_max_retries") == 6 and cfg.get("network.max_retries") == 5
    assert config.set_value("network.max_retries", 0, path=path) == 0
    assert "agent: {reasoning_effort: high, api_max_retries: 1}" in path.read_text()
    config.set_value("model.reasoning_effort", None, reset=True, path=path)
    assert config.load(path).get("agent.reasoning_effort") == ""
    assert "reasoning_effort" not in path.read_text()


def test_templates_expand_at_read_and_unresolved_ones_are_listed(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_HOST", "http://127.0.0.1:8080")
    cfg = load(path, "model: {provider: custom, base_url: '${MY_HOST}/v1', default: '${NOPE}'}\n")
    assert cfg.get("model.base_url") == "http://127.0.0.1:8080/v1"
    assert cfg.shown["model"]["base_url"] == "${MY_HOST}/v1"
    assert cfg.unresolved == ["model.default: ${NOPE}"] and cfg.get("model.default") == "${NOPE}"
    monkeypatch.setenv("MY_HOST", "http://127.0.0.1:9090")
    assert config.load(path).get("model.base_url") == "http://127.0.0.1:9090/v1"  # re-expanded when the variable changes
    assert config.set_value("model.base_url", "${MY_HOST}/v2", path=path) == "http://127.0.0.1:9090/v2"
    assert path.read_text() == "model: {provider: custom, base_url: '${MY_HOST}/v2', default: '${NOPE}'}\n"


def test_switching_provider_keeps_the_url_with_the_provider_it_was_set_for(path: Path) -> None:
    load(path, "# mine\nmodel:\n  provider: custom\n  base_url: http://127.0.0.1:1/v1  # my box\n  default: m\n")
    config.set_value("model.provider", "openrouter", path=path)
    cfg = config.load(path)
    assert cfg.get("model.base_url") == "" and cfg.get("providers.custom.base_url") == "http://127.0.0.1:1/v1"
    assert path.read_text().startswith("# mine\n")
    config.set_value("model.provider", "custom", path=path)  # and back: custom finds its URL again
    from hermesd.engine.runtime import resolve

    assert resolve(config.load(path)).base_url == "http://127.0.0.1:1/v1"


def test_named_endpoints_from_providers_and_custom_providers(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hermesd.engine.runtime import resolve

    monkeypatch.setenv("MY_LLM_KEY", "sk-my-llm-1234")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-must-not-leak")
    cfg = load(path, """\
model: {provider: my-llm}
providers:
  my-llm: {api: 'http://127.0.0.1:7/v1/', key_env: MY_LLM_KEY, default_model: qwen3, transport: anthropic_messages}
custom_providers:
  - {name: Old Box, base_url: 'http://127.0.0.1:8/v1', model: llama}
""")
    r = resolve(cfg)
    assert (r.provider, r.base_url, r.api_key, r.model, r.api_mode) == (
        "my-llm", "http://127.0.0.1:7/v1", "sk-my-llm-1234", "qwen3", "anthropic_messages")
    r = resolve(cfg, provider="custom:old-box")
    assert (r.base_url, r.api_key, r.model) == ("http://127.0.0.1:8/v1", None, "llama")


def test_masking_is_recursive_and_hides_url_passwords() -> None:
    tree = {"providers": {"x": {"api_key": "sk-1", "headers": {"Authorization": "Bearer sk-2", "Accept": "json"}}},
            "tokens": ["a-secret", {"deep": "b-secret"}], "mirror": "https://me:pw@host/v1", "max_tokens": 5}
    assert config.masked(tree) == {
        "providers": {"x": {"api_key": "***", "headers": {"Authorization": "***", "Accept": "json"}}},
        "tokens": ["***", {"deep": "***"}], "mirror": "https://me:***@host/v1", "max_tokens": 5}


def test_doctor_reports_hermes_keys_it_ignores_as_ok_and_unusable_shapes_as_warnings(path: Path) -> None:
    from hermesd.engine import doctor

    cfg = load(path, "agent: {max_turns: 90, reasoning_effort: high}\nterminal: {backend: local}\n"
                     "custom_providers: {name: x}\nproviders: {bad: {base_url: 'ftp://x'}}\n")
    checks = {c.id: c for c in doctor.config_checks(cfg)}
    assert checks["config:hermes-keys"].status == "ok"
    assert checks["config:hermes-keys"].summary == "used by the Hermes agent, ignored here: agent.max_turns, terminal"
    warnings = [c.summary for c in doctor.config_checks(cfg) if c.status == "warn"]
    assert any("custom_providers must be a list" in w for w in warnings)
    assert any("bad: 'ftp://x' is not an http" in w for w in warnings)
    cfg = load(path, "model: {reasoning_effort: low}\nagent: {reasoning_effort: high}\n")
    assert [c.summary for c in doctor.config_checks(cfg) if c.status == "warn"] == [
        'model.reasoning_effort ("low") is ignored: agent.reasoning_effort, the Hermes key, is set too ("high"); remove one']


def test_a_hermes_file_survives_many_writes_with_only_the_intended_lines_changed(path: Path) -> None:
    from tests._unit_helpers import hermes_reference

    reference = hermes_reference()
    if reference is None:
        pytest.skip("the Hermes reference snapshot (../shared/hermes-reference) is not here")
    original = (reference / "config.example.yaml").read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    config.set_value("model.provider", "deepseek", path=path)  # openrouter's URL stays with openrouter
    config.set_value("model.provider", "openrouter", path=path)
    config.set_value("providers.zai.base_url", "https://api.z.ai/api/paas/v4", path=path)
    config.set_value("provider_routing", None, reset=True, path=path)  # the last key, above the closing comments
    config.set_value("openrouter.provider_preferences", {"sort": "price"}, path=path)
    config.set_value("agent.reasoning_effort", "high", path=path)  # unchanged value: no change at all
    import difflib

    changed = [line for line in difflib.unified_diff(original.splitlines(), path.read_text().splitlines(), n=0, lineterm="")
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == [
        "-  base_url: https://openrouter.ai/api/v1", "-providers: {}",
        "+providers:", "+  openrouter:", "+    base_url: https://openrouter.ai/api/v1",
        "+  zai:", "+    base_url: https://api.z.ai/api/paas/v4",
        "-  ignore:", "-  - deepinfra",
    ]
    cfg = config.load(path)
    assert cfg.parse_error is None and cfg.problems == []
    assert cfg.get("model.base_url") == "" and cfg.get("provider_routing") == {"sort": "price"}


def test_the_round_trip_writer_bounds_aliases_on_its_own(path: Path) -> None:
    from hermesd.settings import yaml_edit

    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    with pytest.raises(config.ConfigUnreadable, match="billion laughs"):
        yaml_edit.edit(bomb, path, config._check_size, lambda doc: None)
    assert yaml_edit.edit("a: &x [1]\nb: *x\n", path, config._check_size, lambda doc: doc.update(c=2)) == \
        "a: &x [1]\nb: *x\nc: 2\n"


def test_set_values_gives_a_url_written_with_a_provider_to_that_provider(path: Path) -> None:
    load(path, "model: {provider: openrouter, base_url: 'https://openrouter.ai/api/v1'}\n")
    config.set_values({"model.base_url": "http://127.0.0.1:11434/v1", "model.provider": "custom"}, path=path)
    cfg = config.load(path)
    assert cfg.get("model.base_url") == "http://127.0.0.1:11434/v1" and cfg.get("model.provider") == "custom"
    assert cfg.get("providers.openrouter.base_url") == "https://openrouter.ai/api/v1"
