"""The command line's rough edges, one test each: pipes, typos, messages, --json, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from hermesd import PROTOCOL_VERSION, __version__
from tests.conftest import write_config


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hermesd", *args], env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_a_reader_that_stops_early_gets_no_traceback(isolated_home, upstream):
    """``hermesd chat --preview hi | head -3``: the pipe closes before hermesd writes."""
    write_config(isolated_home, {"model": {"provider": "custom", "default": "m", "base_url": f"{upstream.url}/v1"}})
    proc = subprocess.Popen([sys.executable, "-m", "hermesd", "chat", "--preview", "hi"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    proc.stdout.close()  # the reader is gone before the first byte: the write must hit EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    shell = subprocess.run(f"{sys.executable} -m hermesd chat --preview hi | head -3", shell=True,
                           capture_output=True, text=True, timeout=60)
    assert len(shell.stdout.splitlines()) == 3 and "Traceback" not in shell.stderr


def test_an_unknown_provider_suggests_names_and_the_command(isolated_home):
    done = run_cli("models", "llamma")
    assert done.returncode == 2
    assert "unknown provider 'llamma' (did you mean" in done.stderr and "llamacpp" in done.stderr
    assert "run `hermesd providers`" in done.stderr and "hermes/listProviders" not in done.stderr


def test_config_get_suggests_the_key_meant(isolated_home):
    done = run_cli("config", "get", "model.defualt")
    assert done.returncode == 2 and "did you mean model.default?" in done.stderr


def test_config_unset_leaves_no_empty_section(isolated_home):
    write_config(isolated_home, {"model": {"provider": "custom"}, "openrouter": {"min_coding_score": 0.8}})
    done = run_cli("config", "unset", "openrouter.min_coding_score")
    assert done.returncode == 0, done.stderr
    text = (isolated_home / "config.yaml").read_text()
    assert "openrouter" not in text and yaml.safe_load(text) == {"model": {"provider": "custom"}}


def test_one_model_is_one_model(isolated_home, upstream):
    upstream.models = ["only-one"]
    done = run_cli("models", "custom", env={"CUSTOM_BASE_URL": f"{upstream.url}/v1"})
    assert done.stdout.strip() == "only-one" and "(1 model from live" in done.stderr


def test_an_unreadable_config_makes_chat_suggest_a_fix_that_works(isolated_home):
    (isolated_home / "config.yaml").write_text("model:\n  provider: custom\n   default: x\n")
    done = run_cli("chat", "hi")
    assert done.returncode == 3
    assert "config.yaml cannot be read" in done.stderr and "fix line 3 of" in done.stderr
    assert "config set" not in done.stderr
    refused = run_cli("config", "set", "model.default", "x")  # why `config set` must not be the advice
    assert refused.returncode == 3


async def test_a_refused_request_logs_one_line_not_a_traceback(start_daemon, tmp_path):
    daemon = await start_daemon()
    try:
        await daemon.request("hermes/setConfig", {"key": "openrouter.min_coding_score", "value": 7})
    except Exception as exc:  # noqa: BLE001 - the refusal is the point
        assert "min_coding_score" in str(exc)
    else:
        raise AssertionError("setConfig accepted 7")
    await daemon.request("hermes/listProviders")  # a later request: the refusal has been logged by now
    log = (tmp_path / "logs" / "hermesd.log").read_text()
    [line] = [l for l in log.splitlines() if "request refused" in l]
    assert "must be a number from 0.0 to 1.0" in line
    assert "Traceback" not in log


def test_json_on_every_command(isolated_home):
    path = run_cli("config", "path", "--json")
    assert json.loads(path.stdout) == {"path": str(isolated_home / "config.yaml")}
    set_ = run_cli("config", "set", "model.temperature", "0.5", "--json")
    assert json.loads(set_.stdout) == {"key": "model.temperature", "value": 0.5}
    unset = run_cli("config", "unset", "model.temperature", "--json")
    assert json.loads(unset.stdout) == {"key": "model.temperature", "value": None}


def test_version_names_the_protocol_and_help_the_exit_codes():
    version = run_cli("--version")
    assert version.stdout.strip() == f"hermesd {__version__} (protocol {PROTOCOL_VERSION})"
    helptext = run_cli("--help").stdout
    for code in ("0  success", "1  the operation failed", "2  usage error", "3  invalid or unreadable config"):
        assert code in helptext
