"""Issue 27, security round 3 part 2: what a local file, a diff, a query or a config value can make hermesd do.

Attaching a file runs no code of the folder's, planApply cannot stall the
daemon, secret files are recognised by their real file, a listSessions
query never breaks SQLite, key-shaped values are masked under any name, and
entry-point plugins run only once enabled. End-to-end tests run the real
daemon over stdio; after each, every file the test left and everything it
printed is scanned for the canary key.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pygls.exceptions import JsonRpcException

from tests.conftest import CANARY_KEY, write_config
from tests.test_hardening import _no_canary_anywhere  # noqa: F401  (autouse: every file and output scanned)


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _file(path: Path) -> dict[str, Any]:
    return {"kind": "file", "path": str(path), "text": path.read_text(encoding="utf-8")}


async def _flagged(daemon: Any, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The attachments previewRequest asks the user about (-32004's data), or [] when it needs no yes."""
    try:
        await daemon.request("hermes/previewRequest", {"provider": "deepseek", "model": "m", "message": "look",
                                                       "attachments": attachments})
    except JsonRpcException as exc:
        assert exc.code == -32004, exc
        return exc.data["attachments"]
    return []


# -- item 1: attaching a file runs no command of the folder's -------------------------------------


@pytest.mark.asyncio
async def test_attaching_from_a_repo_with_a_planted_fsmonitor_runs_nothing(start_daemon: Any, tmp_path: Path) -> None:
    """A folder whose .git/config someone else wrote (an extracted archive) names a command as core.fsmonitor:
    git runs it whenever it reads the index, as check-ignore does. The ignore check still works."""
    repo = tmp_path / "extracted"
    repo.mkdir()
    _git("init", "-q", ".", cwd=repo)
    (repo / ".gitignore").write_text("local.cfg\n")
    (repo / "notes.txt").write_text("plain notes\n")
    (repo / "local.cfg").write_text("password = hunter2\n")
    _git("add", ".gitignore", "notes.txt", cwd=repo)  # an index: what makes git ask the fsmonitor
    marker = tmp_path / "fsmonitor-ran"
    hook = tmp_path / "planted-hook"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    for name, value in (("core.fsmonitor", str(hook)), ("core.hooksPath", str(tmp_path)), ("core.pager", str(hook))):
        _git("config", name, value, cwd=repo)

    daemon = await start_daemon()
    flagged = await _flagged(daemon, [_file(repo / "notes.txt"), _file(repo / "local.cfg")])
    assert flagged == [{"index": 1, "path": str(repo / "local.cfg"), "reason": "ignored by git"}]  # git did run
    assert not marker.exists()


# -- item 2: planApply is linear, bounded, cancellable, and never starves the other requests ----------------


def big_diff(lines: int = 90_000, every: int = 60, shift: int = 0) -> tuple[str, str, str]:
    """A file of ``lines`` distinct lines, a diff changing one line in every ``every`` (its line numbers off by
    ``shift``, as a model's often are), and the file as the diff makes it: about 3.5 MiB together."""
    rows = [f"value_{i} = compute({i})  # row\n" for i in range(lines)]
    parts, changed = ["--- a/big.py\n+++ b/big.py\n"], list(rows)
    for at in range(5, lines - 5, every):
        changed[at] = rows[at].replace("# row", "# changed")
        parts.append(f"@@ -{at + shift},3 +{at + shift},3 @@\n {rows[at - 1]}-{rows[at]}+{changed[at]} {rows[at + 1]}")
    return "".join(parts), "".join(rows), "".join(changed)


@pytest.mark.asyncio
async def test_large_plans_answer_within_their_limits_and_never_starve_get_config(start_daemon: Any) -> None:
    """Six 3.5 MiB plans at once (the default pool has six threads on two cores), then getConfig: it answers
    while they still run. Before, each plan took minutes (the file's stripped copy rebuilt and searched whole
    for every hunk) and getConfig waited behind them."""
    diff, text, expected = big_diff(shift=3)
    assert len(diff.encode()) + len(text.encode()) > 3 * 1024 * 1024
    daemon = await start_daemon()
    await daemon.request("hermes/getConfig")  # warm: the second one only reads and masks the file
    plans = [daemon.send("hermes/planApply", {"code": diff, "path": "/w/big.py", "text": text}) for _ in range(6)]
    config = daemon.send("hermes/getConfig")
    await asyncio.wait_for(asyncio.shield(config), 60)  # before: queued behind the plans for minutes
    assert not all(plan.done() for plan in plans)  # answered while plans still ran (two at a time)
    for outcome in await asyncio.wait_for(asyncio.gather(*plans, return_exceptions=True), 120):
        if isinstance(outcome, JsonRpcException):  # a loaded machine: the deadline, named
            assert outcome.code == -32602 and "the limit" in outcome.message, outcome
        else:
            assert outcome == {"mode": "diff", "path": "/w/big.py", "text": expected}


@pytest.mark.parametrize("case, limit", [("hunks", "the limit is 2000"), ("lines", "the limit is 200000 lines"),
                                         ("bytes", "exceed 4 MiB, the limit")])
@pytest.mark.asyncio
async def test_plans_past_a_limit_are_refused_naming_it(start_daemon: Any, case: str, limit: str) -> None:
    if case == "hunks":
        diff, text, _ = big_diff(lines=40_000, every=12)  # 3,333 hunks
        params = {"code": diff, "path": "/w/big.py", "text": text}
    elif case == "lines":
        params = {"code": "x\n", "path": "/w/blank.py", "text": "\n" * 300_000}
    else:
        params = {"code": "x" * (2 * 1024 * 1024), "path": "/w/a.py", "text": "y" * (2 * 1024 * 1024 + 1)}
    daemon = await start_daemon()
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("hermes/planApply", params)
    assert caught.value.code == -32602 and limit in caught.value.message


def test_a_plan_stops_at_the_next_hunk_once_cancelled_or_past_its_deadline() -> None:
    from hermesd.engine import apply

    diff, text, expected = big_diff(lines=3_000, every=30)
    checks: list[int] = []

    def cancelled() -> bool:
        checks.append(1)
        return len(checks) > 5  # the client's $/cancelRequest arrives during the fifth hunk

    with pytest.raises(apply.Cancelled):
        apply.apply_diff(diff, text, "big.py", apply.Budget(cancelled=cancelled))
    assert len(checks) == 6
    with pytest.raises(apply.ApplyError, match="took over 0 s, the limit"):
        apply.apply_diff(diff, text, "big.py", apply.Budget(seconds=0))
    assert apply.apply_diff(diff, text, "big.py") == expected


@pytest.mark.asyncio
async def test_a_cancelled_plan_is_answered_as_cancelled_and_the_daemon_keeps_serving(start_daemon: Any) -> None:
    diff, text, expected = big_diff(shift=3)
    daemon = await start_daemon()
    plan = daemon.send("hermes/planApply", {"code": diff, "path": "/w/big.py", "text": text}, msg_id="plan-1")
    await asyncio.sleep(0)  # the request is written before the cancel that names it
    daemon.cancel_request("plan-1")
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(plan, 30)
    assert caught.value.code == -32800
    small = "--- a/f.py\n+++ b/f.py\n@@ -1 +1 @@\n-a\n+b\n"
    assert (await daemon.request("hermes/planApply", {"code": small, "path": "/w/f.py", "text": "a\n"}))["text"] == "b\n"


# -- item 3: the secret-attachment rule goes by the real file ------------------------------------------------

PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.mark.asyncio
async def test_secret_files_are_recognised_by_their_real_file_and_content(start_daemon: Any, tmp_path: Path,
                                                                        isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / ".env").write_text("DEEPSEEK_API_KEY=" + CANARY_KEY + "\n")
    (isolated_home / "config.yaml").write_text("model:\n  provider: deepseek\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").symlink_to(isolated_home / ".env")  # the name the client sends is harmless
    (work / "readme.md").symlink_to(work / "credentials.yml")
    files = {name: work / name for name in ("credentials.yml", ".envrc", ".netrc", ".pgpass", "deploy.txt", "app.py")}
    for name, path in files.items():
        path.write_text(PRIVATE_KEY if name == "deploy.txt" else f"{name} contents\n")
    sent = [
        {"kind": "file", "path": str(work / "notes.txt"), "text": "(the .env, read through the link)"},
        _file(files["credentials.yml"]), _file(isolated_home / "config.yaml"), _file(files[".envrc"]),
        _file(files[".netrc"]), _file(files[".pgpass"]), _file(files["deploy.txt"]), _file(files["app.py"]),
        {"kind": "selection", "text": "key:\n" + PRIVATE_KEY},
        {"kind": "file", "path": str(work / "readme.md"), "text": "linked"},
    ]
    daemon = await start_daemon()
    flagged = await _flagged(daemon, sent)
    reasons = {f["index"]: f["reason"] for f in flagged}
    assert sorted(reasons) == [0, 1, 2, 3, 4, 5, 6, 8, 9]  # app.py (7) alone is sent without asking
    assert reasons[0] == "named like a secrets file (.env)"  # by its target
    assert reasons[1] == reasons[9] == "named like a secrets file (credentials*)"
    assert reasons[2] == "in $HERMES_HOME, where hermesd and Hermes keep keys"
    assert [reasons[i] for i in (3, 4, 5)] == [f"named like a secrets file ({n})" for n in (".envrc", ".netrc", ".pgpass")]
    assert reasons[6] == reasons[8] == "holds a private key"
    assert [f["path"] for f in flagged if f["index"] == 8] == ["(selection)"]
    confirmed = [{**a, "confirmed": True} for a in sent]
    assert await _flagged(daemon, confirmed) == []


# -- item 4: a listSessions query is capped and never an internal error --------------------------------------


@pytest.mark.asyncio
async def test_a_huge_or_wildcard_session_query_is_refused_or_answered_never_an_internal_error(
        start_daemon: Any) -> None:
    daemon = await start_daemon()
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("hermes/listSessions", {"query": "x" * 50_000})
    assert caught.value.code == -32602 and "the limit is 1000" in caught.value.message
    for query in ("%" * 1000, "_" * 1000, "\\" * 1000, "\U0001f600" * 1000):
        assert (await daemon.request("hermes/listSessions", {"query": query}))["sessions"] == []
    assert "config" in await daemon.request("hermes/getConfig")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=1000)
       | st.text(alphabet="%_\\\U0010ffff", min_size=900, max_size=1000))
def test_any_query_within_the_limit_is_answered(tmp_path: Path, query: str) -> None:
    from hermesd.engine import session_index
    from hermesd.engine.sessions import SessionStore, Settings

    store = SessionStore(tmp_path / "sessions")
    if not any(store.root.glob("*.jsonl")):
        store.add_messages(store.create(provider="p", model="m", settings=Settings()),
                           {"role": "user", "content": "100% of the_title"})
    paging = session_index.page_params(limit=None, cursor=None, query=query)
    rows = store.page(**paging).sessions
    wanted = paging["query"]
    if wanted is None or wanted.isascii():  # LIKE folds ASCII case only
        fields = ("100% of the_title", "p", "m")
        assert len(rows) == (wanted is None or any(wanted.lower() in f.lower() for f in fields))


# -- item 5: secret names and key-shaped values are masked in every output ----------------------------------

SHAPED = "sk-proj-harmless0name1value2"  # a key's shape under names that say nothing of keys
GITHUB = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
LEAKY_PLUGIN = f"""import logging
logging.getLogger("leaky").warning("loading with {SHAPED}")
raise RuntimeError("cannot start: {SHAPED}")
"""


@pytest.mark.asyncio
async def test_auth_names_and_key_shaped_values_are_masked_everywhere(start_daemon: Any, isolated_home: Path,
                                                                     tmp_path: Path, upstream: Any) -> None:
    write_config(isolated_home, {"model": {"provider": "deepseek", "default": "deepseek-chat"},
                                 "auth": ["plain-words-but-secret"], "creds": {"user": "me"},
                                 "tools": {"label": SHAPED, "note": GITHUB}})
    plugin = isolated_home / "plugins" / "model-providers" / "leaky"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text(LEAKY_PLUGIN)
    daemon = await start_daemon(env={"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"})
    replies = [await daemon.request("hermes/getConfig")]
    shown = replies[0]["config"]
    assert shown["auth"] == ["***"] and shown["creds"] == {"user": "***"}
    assert shown["tools"] == {"label": "***", "note": "***"}
    replies.append(await daemon.request("hermes/previewRequest", {"message": f"is {SHAPED} valid?"}))
    assert replies[-1]["headers"]["Authorization"] == "Bearer ***"
    assert replies[-1]["body"]["messages"][-1]["content"] == "is *** valid?"
    replies.append(await daemon.request("hermes/listProviders"))
    [error] = replies[-1]["pluginErrors"]
    assert "cannot start: ***" in error["message"]
    replies.append(await daemon.request("hermes/doctor", {"probe": False}))
    assert any("cannot start: ***" in c["summary"] for c in replies[-1]["checks"])
    cli = [subprocess.run([sys.executable, "-m", "hermesd", "config", "get", key], capture_output=True, text=True,
                          timeout=60, check=True).stdout for key in ("auth", "tools", "tools.label", "")]
    assert cli[2].strip() == "***" and "plain-words" not in "".join(cli)
    logs = [p.read_text() for p in (tmp_path / "logs").glob("hermesd.log*")]
    assert any("loading with ***" in log for log in logs), logs  # the plugin's log line was written
    outputs = json.dumps(replies) + "".join(cli) + "".join(logs)
    for secret in (SHAPED, GITHUB, "plain-words-but-secret", CANARY_KEY):
        assert secret not in outputs


# -- item 6: entry-point plugins run only once enabled; those installed before are grandfathered ------------

EP_MODULE = """import pathlib
pathlib.Path({marker!r}).write_text("imported")
from providers import register_provider
from providers.base import ProviderProfile
def register(ctx):
    ctx.register_provider(ProviderProfile(name={name!r}, base_url="http://127.0.0.1:9/v1", env_vars=("X_API_KEY",)))
"""


def _install(site: Path, dist: str, name: str, marker: Path) -> None:
    from tests._unit_helpers import write_distribution

    module = name.replace("-", "_") + "_plugin"
    (site / f"{module}.py").write_text(EP_MODULE.format(marker=str(marker), name=name))
    write_distribution(site, dist, entry_points=f"[hermes_agent.plugins]\n{name} = {module}\n")


@pytest.mark.asyncio
async def test_entry_point_plugins_run_only_once_enabled_and_earlier_ones_are_grandfathered(
        start_daemon: Any, tmp_path: Path, isolated_home: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    old_marker, new_marker = tmp_path / "oldie-ran", tmp_path / "newbie-ran"
    _install(site, "old-hermes-plugin", "oldie", old_marker)
    first = await start_daemon(env=env)  # the first run with the rule: what is installed now is grandfathered
    assert "oldie" in [p["name"] for p in (await first.request("hermes/listProviders"))["providers"]]

    _install(site, "some-dependency", "newbie", new_marker)  # a package installed later (a dependency's, say)
    daemon = await start_daemon(env=env)
    listing = await daemon.request("hermes/listProviders")
    names = [p["name"] for p in listing["providers"]]
    assert "oldie" in names and "newbie" not in names and not new_marker.exists()  # never imported
    [error] = listing["pluginErrors"]
    assert error["plugin"] == "newbie" and error["entryPoint"].startswith("hermes_agent.plugins: newbie = ")
    assert "not enabled" in error["message"] and "`hermesd plugins enable newbie`" in error["message"]
    checks = (await daemon.request("hermes/doctor", {"probe": False}))["checks"]
    [check] = [c for c in checks if c["id"] == "plugin:newbie"]
    assert check["status"] == "warn" and check["hint"].endswith("hermesd plugins enable newbie")

    cli_env = {**os.environ, **env}
    refused = subprocess.run([sys.executable, "-m", "hermesd", "plugins", "enable", "newbee"], env=cli_env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "(did you mean newbie?)" in refused.stderr
    enabled = subprocess.run([sys.executable, "-m", "hermesd", "plugins", "enable", "newbie"], env=cli_env,
                             capture_output=True, text=True, timeout=60)
    assert enabled.returncode == 0, enabled.stderr
    import yaml

    assert yaml.safe_load((isolated_home / "config.yaml").read_text())["plugins"]["enabled"] == ["newbie"]
    listing = await daemon.request("hermes/listProviders", {"refresh": True})
    assert "newbie" in [p["name"] for p in listing["providers"]] and listing["pluginErrors"] == []
    assert new_marker.exists()
