"""``$HERMES_HOME/config.yaml``: defaults, parse errors, typed validation,
openrouter.min_coding_score, atomic writes, concurrent writers, masking."""

from __future__ import annotations

import math
import multiprocessing
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hermesd.settings import config
from hermesd.settings.config import ConfigError, ConfigUnreadable
from providers.pareto import DEFAULT_MIN_CODING_SCORE
from tests._unit_helpers import UnitEnv, config_writer, unit_env  # noqa: F401  (autouse fixture)

SCORE = "openrouter.min_coding_score"

EXPECTED_DEFAULTS = {
    "model.provider": "",
    "model.default": "",
    "model.base_url": "",
    "model.api_mode": "",
    "agent.reasoning_effort": "",
    "model.temperature": None,
    "model.max_tokens": None,
    "openrouter.min_coding_score": 0.65,
    "openrouter.response_cache": False,
    "openrouter.response_cache_ttl": 300,
    "provider_routing": {},
    "auxiliary.compression.provider": "",
    "auxiliary.compression.model": "",
    "context.budget_tokens": 32000,
    "context.keep_recent_messages": 6,
    "ollama.num_ctx": None,
    "network.timeout": 120.0,
    "network.connect_timeout": 10.0,
    "network.max_concurrent_requests": 100,
    "agent.api_max_retries": 3,
    "catalog.ttl_seconds": 3600,
    "daemon.idle_timeout": 300,
    "daemon.stop_grace": 5.0,
    "completion.provider": "",
    "completion.model": "",
    "completion.base_url": "",
    "completion.endpoint": "",
    "completion.template": "",
    "completion.max_tokens": 64,
    "completion.prefix_chars": 6000,
    "completion.suffix_chars": 2000,
    "completion.multiline": True,
    "completion.debounce_ms": 0,
    "completion.languages": {},
    "completion.templates": {},
    "completion.hosted_workspaces": {},
}
# hermesd's older names, read and written as the Hermes keys (docs/config.md).
EXPECTED_ALIASES = {
    "model.reasoning_effort": ("agent.reasoning_effort", ""),
    "openrouter.provider_preferences": ("provider_routing", {}),
    "auxiliary.provider": ("auxiliary.compression.provider", ""),
    "auxiliary.model": ("auxiliary.compression.model", ""),
    "network.max_retries": ("agent.api_max_retries", 2),  # retries after the first attempt
}


@pytest.fixture
def path(unit_env: UnitEnv) -> Path:
    return unit_env.config_path


def write(path: Path, text: str) -> bytes:
    path.write_text(text, encoding="utf-8")
    return path.read_bytes()


# -- defaults and loading ---------------------------------------------------------


def test_the_documented_keys_and_defaults() -> None:
    assert set(config.KEYS) == set(EXPECTED_DEFAULTS)
    assert {name: (a.canonical, config.load().get(name)) for name, a in config.ALIASES.items()} == EXPECTED_ALIASES
    for key, default in EXPECTED_DEFAULTS.items():
        assert config.KEYS[key].default == default, key
        assert config.KEYS[key].doc, key
    assert DEFAULT_MIN_CODING_SCORE == 0.65


def test_defaults_tree() -> None:
    tree = config.defaults()
    assert tree["model"]["provider"] == ""
    assert tree["openrouter"]["min_coding_score"] == 0.65
    tree["openrouter"]["provider_preferences"]["order"] = ["x"]
    assert config.defaults()["openrouter"]["provider_preferences"] == {}  # a fresh copy each time


def test_load_without_a_file_gives_the_defaults(path: Path) -> None:
    assert not path.exists()
    cfg = config.load(path)
    assert cfg.parse_error is None and cfg.problems == [] and cfg.raw == {}
    for key, default in EXPECTED_DEFAULTS.items():
        assert cfg.get(key) == default, key
        assert not cfg.has(key)
    assert not path.exists()  # loading never creates the file


def test_load_defaults_to_the_file_in_hermes_home(unit_env: UnitEnv) -> None:
    write(unit_env.config_path, "model:\n  default: from-home\n")
    assert config.load().get("model.default") == "from-home"
    assert config.load().path == unit_env.config_path


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "~\n"])
def test_empty_file_gives_the_defaults(path: Path, text: str) -> None:
    write(path, text)
    cfg = config.load(path)
    assert cfg.parse_error is None and cfg.get(SCORE) == 0.65


def test_load_reads_and_normalises_values(path: Path) -> None:
    write(
        path,
        "model:\n  provider: openrouter\n  default: openrouter/pareto-code\n"
        "  base_url: https://openrouter.ai/api/v1/\n  api_mode: responses\n  temperature: '0.5'\n"
        "openrouter:\n  min_coding_score: '0.8'\n  provider_preferences: {order: [a]}\n",
    )
    cfg = config.load(path)
    assert cfg.problems == []
    assert cfg.get("model.provider") == "openrouter"
    assert cfg.get("model.base_url") == "https://openrouter.ai/api/v1"
    assert cfg.get("model.api_mode") == "codex_responses"
    assert cfg.get("model.temperature") == 0.5
    assert cfg.get(SCORE) == 0.8 and isinstance(cfg.get(SCORE), float)
    assert cfg.get("openrouter.provider_preferences") == {"order": ["a"]}
    assert cfg.get("context.budget_tokens") == 32000  # untouched default


def test_a_bad_value_in_the_file_falls_back_to_the_default_and_is_reported(path: Path) -> None:
    write(path, "openrouter:\n  min_coding_score: 1.5\nnetwork:\n  max_retries: lots\n")
    cfg = config.load(path)
    assert cfg.get(SCORE) is None  # Hermes' rule: an unusable score means no floor, reported (test_pareto)
    assert cfg.get("network.max_retries") == 2
    assert len(cfg.problems) == 2
    assert any("openrouter.min_coding_score" in p and "1.5" in p and "no floor" in p for p in cfg.problems)
    assert any("network.max_retries" in p and '"lots"' in p for p in cfg.problems)


def test_unknown_keys_are_kept_when_loading(path: Path) -> None:
    write(path, "model:\n  default: m\n  future_key: 7\nplugin_section:\n  x: 1\n")
    cfg = config.load(path)
    assert cfg.get("model.future_key") == 7
    assert cfg.get("plugin_section.x") == 1
    assert cfg.values["plugin_section"] == {"x": 1}


# -- unreadable files -----------------------------------------------------------

BROKEN_YAML = [
    ("model:\n  default: gpt\n  provider: x: y\n", 3),
    ("model:\n  default: [a, b\nother: 1\n", 3),
    ("a: 1\n\tb: 2\n", 2),
    ("- just\n- a list\n", 1),
]


@pytest.mark.parametrize("text,line", BROKEN_YAML)
def test_invalid_yaml_reports_the_line_and_uses_defaults(path: Path, text: str, line: int) -> None:
    write(path, text)
    cfg = config.load(path)
    assert isinstance(cfg.parse_error, ConfigUnreadable)
    assert cfg.parse_error.line == line
    assert cfg.parse_error.path == path
    assert f"{path}:{line}" in str(cfg.parse_error)
    for key, default in EXPECTED_DEFAULTS.items():
        assert cfg.get(key) == default, key


@pytest.mark.parametrize("text,line", BROKEN_YAML)
def test_set_value_refuses_to_touch_an_unreadable_file(path: Path, text: str, line: int) -> None:
    before = write(path, text)
    mtime = path.stat().st_mtime_ns
    with pytest.raises(ConfigUnreadable) as info:
        config.set_value("model.default", "gpt-5", path=path)
    assert info.value.line == line
    with pytest.raises(ConfigUnreadable):
        config.set_value(SCORE, None, reset=True, path=path)
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == mtime
    assert not path.with_name("config.yaml.bak").exists()
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_undecodable_file_is_unreadable_and_untouched(path: Path) -> None:
    path.write_bytes(b"model:\n  default: \xff\xfe\n")
    before = path.read_bytes()
    assert config.load(path).parse_error is not None
    with pytest.raises(ConfigUnreadable):
        config.set_value("model.default", "x", path=path)
    assert path.read_bytes() == before


# -- validation messages ----------------------------------------------------------

# key -> (a bad value, the value as the message shows it, a phrase of the rule)
BAD_VALUES: dict[str, tuple[Any, str, str]] = {
    "model.provider": ("no-such-provider", '"no-such-provider"', "known provider name or alias"),
    "model.default": (5, "5", "must be a string"),
    "model.base_url": ("ftp://example.com", '"ftp://example.com"', "http:// or https:// URL"),
    "model.api_mode": ("grpc", '"grpc"', "must be one of chat_completions, codex_responses"),
    "agent.reasoning_effort": ("extreme", '"extreme"', "must be one of none, minimal, low"),
    "model.temperature": (2.5, "2.5", "must be a number from 0.0 to 2.0"),
    "model.max_tokens": (0, "0", "must be a whole number of at least 1 or null"),
    "openrouter.min_coding_score": (1.5, "1.5", "must be a number from 0.0 to 1.0"),
    "openrouter.response_cache": ("yes", '"yes"', "must be true or false"),
    "openrouter.response_cache_ttl": (0, "0", "must be a whole number from 1 to 86400"),
    "provider_routing": ("fast", '"fast"', "must be a mapping"),
    "auxiliary.compression.provider": ("nope", '"nope"', "known provider name or alias"),
    "auxiliary.compression.model": (["a"], '["a"]', "must be a string"),
    "context.budget_tokens": (999, "999", "must be a whole number of at least 1000"),
    "context.keep_recent_messages": (1, "1", "must be a whole number of at least 2"),
    "ollama.num_ctx": (2.5, "2.5", "must be a whole number of at least 1 or null"),
    "network.timeout": (0.5, "0.5", "must be a number from 1.0 to 3600.0"),
    "network.connect_timeout": (301, "301", "must be a number from 0.5 to 300.0"),
    "network.max_concurrent_requests": (0, "0", "must be a whole number from 1 to 1000"),
    "agent.api_max_retries": (12, "12", "must be a whole number from 1 to 11"),
    "catalog.ttl_seconds": (-1, "-1", "must be a whole number of at least 0"),
    "daemon.idle_timeout": (0, "0", "must be a whole number of at least 1"),
    "daemon.stop_grace": (301, "301", "must be a number from 0.0 to 300.0"),
    "completion.provider": ("nope", '"nope"', "known provider name or alias"),
    "completion.model": (3, "3", "must be a string"),
    "completion.base_url": ("ftp://x", '"ftp://x"', "http:// or https:// URL"),
    "completion.endpoint": ("grpc", '"grpc"', "must be one of (empty), completions, fim, infill, ollama, chat"),
    "completion.template": (["a"], '["a"]', "must be a string"),
    "completion.max_tokens": (0, "0", "must be a whole number from 1 to 4096"),
    "completion.prefix_chars": (-1, "-1", "must be a whole number from 0 to 200000"),
    "completion.suffix_chars": (1.5, "1.5", "must be a whole number from 0 to 200000"),
    "completion.multiline": ("yes", '"yes"', "must be true or false"),
    "completion.debounce_ms": (2001, "2001", "must be a whole number from 0 to 2000"),
    "completion.languages": (["python"], '["python"]', "must be a mapping"),
    "completion.templates": ("qwen", '"qwen"', "must be a mapping"),
    "completion.hosted_workspaces": (["/src"], '["/src"]', "must be a mapping"),
}


def test_every_key_has_a_validation_case() -> None:
    assert set(BAD_VALUES) == set(config.KEYS)


@pytest.mark.parametrize("key", sorted(BAD_VALUES))
def test_validation_message_names_key_rule_and_value(key: str) -> None:
    value, shown, rule = BAD_VALUES[key]
    with pytest.raises(ConfigError) as info:
        config.validate(key, value)
    message = str(info.value)
    assert message.startswith(key + " "), message
    assert rule in message, message
    assert f"(got {shown})" in message, message


@pytest.mark.parametrize("key", sorted(BAD_VALUES))
def test_refused_value_leaves_the_file_byte_identical(path: Path, key: str) -> None:
    before = write(path, "# my settings\nmodel:\n  default: mine   # keep\nextra: {a: 1}\n")
    with pytest.raises(ConfigError):
        config.set_value(key, BAD_VALUES[key][0], path=path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "key,value,stored",
    [
        ("model.provider", "or", "or"),
        ("model.provider", "  deepseek ", "deepseek"),
        ("model.provider", "", ""),
        ("model.base_url", "https://example.com/v1/", "https://example.com/v1"),
        ("model.base_url", "", ""),
        ("model.api_mode", "responses", "codex_responses"),
        ("model.api_mode", "anthropic_messages", "anthropic_messages"),
        ("model.reasoning_effort", "HIGH", "high"),
        ("model.reasoning_effort", "max", "max"),  # Hermes 0.19.0's efforts above xhigh
        ("model.reasoning_effort", "ultra", "ultra"),
        ("model.reasoning_effort", False, "none"),  # as Hermes reads YAML's off/no/false
        ("model.reasoning_effort", "disabled", "none"),
        ("model.temperature", 0, 0.0),
        ("model.temperature", "1.5", 1.5),
        ("model.temperature", None, None),
        ("model.max_tokens", "4096", 4096),
        ("model.max_tokens", 8.0, 8),
        ("model.max_tokens", None, None),
        ("context.budget_tokens", 1000, 1000),
        ("network.max_retries", 0, 0),
        ("catalog.ttl_seconds", 0, 0),
        ("openrouter.provider_preferences", {"order": ["anthropic"], "allow_fallbacks": False},
         {"order": ["anthropic"], "allow_fallbacks": False}),
    ],
)
def test_valid_values_are_normalised(key: str, value: Any, stored: Any) -> None:
    result = config.validate(key, value)
    assert result == stored and type(result) is type(stored)


@pytest.mark.parametrize("value", [True, False, float("nan"), float("inf"), "abc", [1]])
@pytest.mark.parametrize("key", ["model.temperature", "model.max_tokens", "network.timeout", "network.max_retries"])
def test_numeric_keys_refuse_non_numbers(key: str, value: Any) -> None:
    with pytest.raises(ConfigError):
        config.validate(key, value)


def test_unknown_key_is_refused_with_the_keys_meant_not_all_of_them(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        config.set_value("zzz.nonsense", 1, path=path)
    assert str(info.value) == ("unknown config key 'zzz.nonsense'; `hermesd config get` prints every key and its value"
                               " (also providers.NAME.base_url)")
    with pytest.raises(config.UnknownName, match=r"'network.timout' \(did you mean network.timeout"):
        config.set_value("network.timout", 5, path=path)
    with pytest.raises(ConfigError):
        config.set_value("model.nonsense", None, reset=True, path=path)
    assert not path.exists()


# -- openrouter.min_coding_score ------------------------------------------------------


@pytest.mark.parametrize(
    "value,stored",
    [(0, 0.0), (0.0, 0.0), (1, 1.0), (1.0, 1.0), (0.5, 0.5), ("0.5", 0.5), (" 0.25 ", 0.25), ("1", 1.0)],
)
def test_score_accepted_and_stored_as_a_float(path: Path, value: Any, stored: float) -> None:
    effective = config.set_value(SCORE, value, path=path)
    assert effective == stored and type(effective) is float
    raw = yaml.safe_load(path.read_text())
    assert raw["openrouter"]["min_coding_score"] == stored
    assert type(raw["openrouter"]["min_coding_score"]) is float  # "0.5" is not kept as a string
    cfg = config.load(path)
    assert cfg.get(SCORE) == stored and cfg.problems == []


def test_score_null_is_stored_and_means_no_floor(path: Path) -> None:
    assert config.set_value(SCORE, None, path=path) is None
    raw = yaml.safe_load(path.read_text())
    assert "min_coding_score" in raw["openrouter"] and raw["openrouter"]["min_coding_score"] is None
    cfg = config.load(path)
    assert cfg.has(SCORE) and cfg.get(SCORE) is None


def test_score_absent_means_the_default(path: Path) -> None:
    write(path, "openrouter:\n  provider_preferences: {}\n")
    cfg = config.load(path)
    assert not cfg.has(SCORE) and cfg.get(SCORE) == 0.65


def test_score_null_in_a_hand_written_file(path: Path) -> None:
    for text in ("openrouter:\n  min_coding_score: null\n", "openrouter:\n  min_coding_score:\n", "openrouter:\n  min_coding_score: ~\n"):
        write(path, text)
        cfg = config.load(path)
        assert cfg.get(SCORE) is None and cfg.problems == [], text


def test_score_string_in_a_hand_written_file(path: Path) -> None:
    write(path, 'openrouter:\n  min_coding_score: "0.5"\n')
    assert config.load(path).get(SCORE) == 0.5


SCORE_REFUSED = [1.5, -0.1, "abc", "", "  ", True, False, [], {}, [0.5], float("nan"), float("inf"), float("-inf"), "nan", "inf", 1.0000001]


@pytest.mark.parametrize("value", SCORE_REFUSED, ids=repr)
def test_score_refused_leaves_the_file_byte_identical(path: Path, value: Any) -> None:
    before = write(path, "# hand written\nopenrouter:\n  min_coding_score: 0.7  # mine\n")
    with pytest.raises(ConfigError) as info:
        config.set_value(SCORE, value, path=path)
    message = str(info.value)
    assert message.startswith("openrouter.min_coding_score must be a number from 0.0 to 1.0 (got ")
    assert path.read_bytes() == before
    assert not path.with_name("config.yaml.bak").exists()


@pytest.mark.parametrize("value", SCORE_REFUSED, ids=repr)
def test_score_refused_when_no_file_exists_creates_none(path: Path, value: Any) -> None:
    with pytest.raises(ConfigError):
        config.set_value(SCORE, value, path=path)
    assert not path.exists()


def test_score_message_example_from_the_issue() -> None:
    with pytest.raises(ConfigError) as info:
        config.validate(SCORE, 1.5)
    assert str(info.value) == "openrouter.min_coding_score must be a number from 0.0 to 1.0 (got 1.5)"


def test_reset_removes_the_key(path: Path) -> None:
    config.set_value(SCORE, 0.3, path=path)
    config.set_value("model.default", "keep-me", path=path)
    effective = config.set_value(SCORE, None, reset=True, path=path)
    assert effective == 0.65
    raw = yaml.safe_load(path.read_text())
    assert "min_coding_score" not in raw.get("openrouter", {})
    assert raw["model"]["default"] == "keep-me"
    cfg = config.load(path)
    assert not cfg.has(SCORE) and cfg.get(SCORE) == 0.65


def test_reset_of_an_absent_key_is_harmless(path: Path) -> None:
    assert config.set_value("model.default", None, reset=True, path=path) == ""
    assert config.load(path).raw in ({}, {"model": {}})


# -- writing ----------------------------------------------------------------------


def test_set_value_creates_the_file_and_returns_the_effective_value(unit_env: UnitEnv) -> None:
    assert config.set_value("model.default", "  gpt-5  ") == "gpt-5"
    assert yaml.safe_load(unit_env.config_path.read_text()) == {"model": {"default": "gpt-5"}}


def test_set_value_creates_a_missing_home(tmp_path: Path) -> None:
    path = tmp_path / "new" / "home" / "config.yaml"
    config.set_value("model.default", "x", path=path)
    assert config.load(path).get("model.default") == "x"


def test_unknown_keys_and_sections_survive_a_write(path: Path) -> None:
    write(
        path,
        "model:\n  default: old\n  future_key: 7\nplugin_section:\n  nested: {a: [1, 2]}\n"
        "openrouter:\n  experimental: true\n",
    )
    config.set_value("model.default", "new", path=path)
    config.set_value(SCORE, 0.9, path=path)
    raw = yaml.safe_load(path.read_text())
    assert raw == {
        "model": {"default": "new", "future_key": 7},
        "plugin_section": {"nested": {"a": [1, 2]}},
        "openrouter": {"experimental": True, "min_coding_score": 0.9},
    }


def test_invalid_values_already_in_the_file_are_kept_on_an_unrelated_write(path: Path) -> None:
    # The file is the user's: a write of one key does not "fix" another.
    write(path, "network:\n  max_retries: lots\n")
    config.set_value("model.default", "x", path=path)
    assert yaml.safe_load(path.read_text())["network"]["max_retries"] == "lots"


def test_writes_are_private_and_keep_a_backup(path: Path) -> None:
    first = write(path, "model:\n  default: first\n")
    os.chmod(path, 0o644)
    config.set_value("model.default", "second", path=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    backup = path.with_name("config.yaml.bak")
    assert backup.read_bytes() == first
    second = path.read_bytes()
    config.set_value("model.default", "third", path=path)
    assert backup.read_bytes() == second
    assert config.load(path).get("model.default") == "third"
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_first_write_has_no_backup(path: Path) -> None:
    config.set_value("model.default", "x", path=path)
    assert not path.with_name("config.yaml.bak").exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_goes_through_a_temp_file_and_rename(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(path, "model:\n  default: before\n")
    before = path.read_bytes()
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        seen.append((str(src), str(dst)))
        assert path.read_bytes() == before  # the old file is intact until the rename
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    config.set_value("model.default", "after", path=path)
    assert len(seen) == 1
    src, dst = seen[0]
    assert dst == str(path) and Path(src).parent == path.parent and src.endswith(".tmp")


def test_a_failed_write_leaves_the_old_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = write(path, "model:\n  default: before\n")

    def boom(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        config.set_value("model.default", "after", path=path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_concurrent_writers_lose_no_update(path: Path) -> None:
    write(path, "model:\n  default: shared\n")
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=config_writer, args=(list(sys.path), str(path), prefix, 20))
        for prefix in ("alpha", "beta")
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0]
    raw = yaml.safe_load(path.read_text())
    for prefix in ("alpha", "beta"):
        assert raw[prefix] == {f"k{i}": f"{prefix}-{i}" for i in range(20)}, prefix
    assert raw["model"] == {"default": "shared"}
    assert sum(len(raw[p]) for p in ("alpha", "beta")) == 40


# -- masking ----------------------------------------------------------------------


def test_masked_hides_secret_looking_values() -> None:
    tree = {
        "model": {"default": "gpt-5", "max_tokens": 100, "provider": "openrouter"},
        "custom": {
            "api_key": "sk-secret-1",
            "Access_Token": "tok-2",
            "client_secret": "sec-3",
            "password": "pw-4",
            "credentials": ["c-5", "c-6"],
            "empty_key": "",
            "key_count": 3,
        },
        "openrouter": {"min_coding_score": 0.65},
    }
    out = config.masked(tree)
    assert out["model"] == {"default": "gpt-5", "max_tokens": 100, "provider": "openrouter"}
    assert out["custom"]["api_key"] == "***"
    assert out["custom"]["Access_Token"] == "***"
    assert out["custom"]["client_secret"] == "***"
    assert out["custom"]["password"] == "***"
    assert out["custom"]["credentials"] == ["***", "***"]
    assert out["custom"]["empty_key"] == ""
    assert out["custom"]["key_count"] == 3
    assert out["openrouter"] == {"min_coding_score": 0.65}
    assert tree["custom"]["api_key"] == "sk-secret-1"  # the input is not modified
    assert "sk-secret" not in repr(out)


def test_nan_is_shown_in_messages() -> None:
    with pytest.raises(ConfigError) as info:
        config.validate(SCORE, float("nan"))
    assert "(got NaN)" in str(info.value)
    assert math.isnan(float("nan"))


def test_no_config_file_is_cached_until_one_appears(unit_env: UnitEnv) -> None:
    assert not unit_env.config_path.exists()
    first = config.load()
    assert config.load() is first  # every chat loads the config: the defaults are built once
    unit_env.config_path.write_text("network:\n  timeout: 7\n", encoding="utf-8")
    assert config.load().get("network.timeout") == 7.0
    unit_env.config_path.unlink()
    assert config.load().get("network.timeout") == 120.0


def test_a_dangling_config_symlink_is_reported_every_time(unit_env: UnitEnv) -> None:
    unit_env.config_path.parent.mkdir(parents=True, exist_ok=True)
    unit_env.config_path.symlink_to(unit_env.home / "gone.yaml")
    for _ in range(2):
        assert config.load().parse_error is not None


def test_without_a_config_file_pyyaml_is_not_imported(unit_env: UnitEnv) -> None:
    code = "import sys; from hermesd.settings import config; config.load(); print('yaml' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], env=os.environ.copy(), capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_an_unknown_effort_is_reported_by_doctor_with_the_choices(path: Path) -> None:
    """Never replaced silently: the provider default is used, and doctor says why and what to write."""
    from hermesd.engine import doctor

    write(path, "agent:\n  reasoning_effort: extreme\n")
    cfg = config.load(path)
    assert cfg.get("agent.reasoning_effort") == ""
    [check] = [c for c in doctor.config_checks(cfg) if c.id == "config:value"]
    assert check.status == "warn"
    assert check.summary.startswith('agent.reasoning_effort must be one of none, minimal, low, medium, high, xhigh, '
                                    'max, ultra or empty (got "extreme")'), check.summary
    assert "hermesd config set" in check.hint


def test_an_unknown_openrouter_sort_is_reported_and_not_sent(tmp_path) -> None:
    """Hermes 0.19.0 sends provider.sort only as throughput, latency or price (any case); another is dropped."""
    from hermesd.engine.runtime import openrouter_provider

    path = tmp_path / "config.yaml"
    write(path, "provider_routing:\n  sort: fastest\n  order: [a]\n")
    cfg = config.load(path)
    assert any("provider_routing.sort must be one of latency, price, throughput" in p and "fastest" in p
               for p in cfg.problems)
    assert openrouter_provider(cfg.get("provider_routing")) == {"order": ["a"]}
    write(path, "provider_routing:\n  sort: ' Price '\n")
    cfg = config.load(path)
    assert cfg.problems == [] and openrouter_provider(cfg.get("provider_routing")) == {"sort": "price"}
