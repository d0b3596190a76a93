"""doctor tells the truth (issue 33, item 2): typos warn with the key meant, an unknown provider fails,
a fresh install is told what to do, and providers nobody set up are counted, not listed."""

from __future__ import annotations

import json

from tests._unit_helpers import BUNDLED_NAMES
from tests.conftest import write_config
from tests.test_cli_polish import run_cli


def _rows(done) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for check in json.loads(done.stdout)["checks"]:
        rows.setdefault(check["id"], []).append(check)
    return rows


def test_a_typo_config_warns_with_the_key_meant_and_an_unknown_provider_fails(isolated_home):
    path = isolated_home / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("model:\n  provider: custmo\n  foo_bar: 1\n  max_tokns: 3\nnetwrok: {timeout: 5}\n"
                    "terminal: {backend: local}\nagent: {max_turns: 90}\n")
    done = run_cli("doctor", "--no-probe")
    assert done.returncode == 1, done.stdout
    assert "[FAIL] model.provider is 'custmo', which no plugin provides (did you mean custom?)" in done.stdout
    lines = done.stdout.splitlines()
    assert "[ok  ] used by the Hermes agent, ignored here: terminal, agent.max_turns" in lines
    assert ("[warn] netwrok is not a key hermesd or the Hermes agent reads (did you mean network?); it has no effect"
            in lines)
    assert any(line.startswith("[warn] model.max_tokns is not a key hermesd or the Hermes agent reads (did you mean "
                               "model.max_tokens") for line in lines)
    assert any(line.startswith("[warn] model.foo_bar is not a key") for line in lines)
    as_json = _rows(run_cli("doctor", "--no-probe", "--json"))
    assert [c["status"] for c in as_json["config:unknown-key"]] == ["warn", "warn", "warn"]


def test_a_fresh_install_is_told_what_to_do_and_sees_no_wall_of_providers(isolated_home):
    done = run_cli("doctor", "--no-probe")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "[warn] nothing is configured yet: no provider has a key or a local server"
    assert "`hermesd setup local`" in lines[1] and "OPENROUTER_API_KEY" in lines[1]
    assert not any(": no key set" in line for line in lines)
    hidden = [line for line in lines if "providers not set up" in line]
    assert len(hidden) == 1 and hidden[0].startswith(f"[skip] {len(BUNDLED_NAMES)} providers not set up")
    every = _rows(run_cli("doctor", "--no-probe", "--all", "--json"))
    assert len([k for k in every if k.startswith("provider:")]) == len(BUNDLED_NAMES) and "providers:hidden" not in every


def test_a_local_only_user_sees_the_local_provider_and_one_line_for_the_rest(isolated_home, upstream):
    write_config(isolated_home, {"model": {"provider": "custom", "default": "m", "base_url": f"{upstream.url}/v1"}})
    rows = _rows(run_cli("doctor", "--json"))
    assert [k for k in rows if k.startswith("provider:")] == ["provider:custom"]
    assert rows["provider:custom"][0]["status"] == "ok"
    assert "setup" not in rows and rows["providers:hidden"][0]["summary"].startswith(f"{len(BUNDLED_NAMES) - 1} providers not set up")


def test_nous_has_one_truth_in_doctor_providers_and_the_picker(isolated_home):
    [nous] = _rows(run_cli("doctor", "nous", "--json"))["provider:nous"]
    assert nous["status"] == "skip" and nous["summary"].startswith("no key set (NOUS_API_KEY)")
    assert "needs NOUS_API_KEY" in nous["hint"]
    listed = [line for line in run_cli("providers").stdout.splitlines() if line.startswith("  nous ")]
    assert len(listed) == 1 and listed[0].endswith("needs NOUS_API_KEY")
    keyed = _rows(run_cli("doctor", "nous", "--no-probe", "--json", env={"NOUS_API_KEY": "sk-nous-test-123456"}))
    assert keyed["provider:nous"][0]["status"] == "ok"


def test_a_provider_named_in_the_providers_section_is_not_unknown(isolated_home, upstream):
    write_config(isolated_home, {"model": {"provider": "mylocal", "default": "m"},
                                 "providers": {"mylocal": {"base_url": f"{upstream.url}/v1"}}})
    done = run_cli("doctor", "--no-probe")
    assert done.returncode == 0, done.stdout
    assert "which no plugin provides" not in done.stdout
    assert run_cli("chat", "hi").returncode == 0
