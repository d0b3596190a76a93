#!/usr/bin/env python3
"""The dependency matrix: hermesd's daemon and transport end-to-end tests against the
lowest and the newest releases of its direct dependencies that pyproject.toml allows.

    python3 scripts/dependency_matrix.py              # both legs (./scripts/test runs this)
    python3 scripts/dependency_matrix.py newest       # one leg

Each leg is a venv of its own under ~/.cache/hermesd-test/ (HERMESD_TEST_CACHE):

- ``lowest``: every direct dependency at the lowest release its bound allows (uv's
  ``--resolution lowest-direct``); resolved again only when pyproject.toml changes.
- ``newest``: every dependency at the newest release on the registry, resolved afresh on
  every run (``--upgrade --refresh``), so a release is seen the day it appears.

The test tools (pytest and the rest of the ``test`` extra) resolve to their newest
releases in both. Each leg prints the resolved versions of the direct dependencies beside
the main environment's; a failing leg names the packages whose versions differ from it.
When both legs pass, hermesd/tested_versions.py is rewritten with the range they cover
(`hermesd doctor` warns outside it). Standard library only: it runs before anything else.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("HERMESD_TEST_CACHE") or Path.home() / ".cache" / "hermesd-test")
LEGS = ("lowest", "newest")
EXTRAS = "test,bedrock"
# All four transports (chat completions, anthropic messages, the Responses API through the
# openai SDK, bedrock converse), config and runtime resolution, and the daemon over stdio;
# no editor, Hermes-reference or real-model tests. About two minutes a leg.
TESTS = (
    "tests/test_daemon_e2e.py",
    "tests/test_transport_wire.py",
    "tests/test_reliability_upstream.py",
    "tests/test_config.py",
    "tests/test_runtime.py",
    "tests/test_wire.py",
    "tests/test_secrets.py",
    "tests/test_acp_e2e.py",  # agent-client-protocol's lower bound
)
# The 16 MiB oversized-reply cases are CPU-bound in the fake upstream (it encodes the reply five times for
# the Responses API before its headers): with two legs sharing 2 cores they outlast their 1.5 s timeout.
# They test hermesd's own size limit, not a dependency; the main suite runs them.
DESELECT = "not test_oversized_reply_is_cut_at_the_limit"
GENERATED = ROOT / "hermesd" / "tested_versions.py"
_VERSIONS = "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"


def say(text: str) -> None:
    print(f"[matrix] {text}", flush=True)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_dependencies() -> tuple[list[str], list[str]]:
    """(requirements, names) of the runtime dependencies and the bedrock extra, from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["bedrock"]
    return reqs, [canonical(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) for r in reqs]


@functools.cache
def uv() -> str:
    """The uv binary (./scripts/test installs the `uv` package).

    Found once, before the legs' threads start: uv's finder reads ``sysconfig``, whose first use is not
    thread-safe (two threads at once can see its variables half built and get None)."""
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return find_uv_bin()
    except ImportError:
        found = shutil.which("uv")
        if not found:
            raise SystemExit("[matrix] uv is not installed: pip install uv")
        return found


def run(*cmd: str, log=None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, check=True, stdout=log, stderr=log and subprocess.STDOUT)


def versions(python: str | Path) -> dict[str, str]:
    """Every installed distribution's version in the environment of ``python``, by canonical name."""
    out = subprocess.run([str(python), "-c", _VERSIONS], check=True, capture_output=True, text=True).stdout
    return {canonical(k): v for k, v in json.loads(out).items()}


def prepare(leg: str, reqs: list[str], log) -> Path:
    """The leg's venv with its resolution installed exactly (uv pip sync), hermesd editable on top."""
    venv = CACHE / f"matrix-{leg}"
    python = venv / "bin" / "python"
    if not python.exists():
        run(uv(), "venv", "-q", "--python", sys.executable, str(venv), log=log)
    lock = venv / "requirements.txt"
    compile_cmd = [uv(), "pip", "compile", "-q", "--python", str(python), "pyproject.toml",
                   "--extra", "test", "--extra", "bedrock", "--no-header", "-o", str(lock)]
    if leg == "newest":
        run(*compile_cmd, "--upgrade", "--refresh", log=log)
    else:
        # The direct dependencies' lowest releases, then the test tools resolved around them.
        stamp = hashlib.sha256("\n".join(reqs).encode()).hexdigest()
        stamp_file = venv / "lowest.stamp"
        if not lock.exists() or not stamp_file.exists() or stamp_file.read_text() != stamp:
            pins = subprocess.run([uv(), "pip", "compile", "-q", "--python", str(python), "--no-header",
                                   "--resolution", "lowest-direct", "-"], input="\n".join(reqs), cwd=ROOT,
                                  check=True, stdout=subprocess.PIPE, stderr=log, text=True).stdout
            _, names = direct_dependencies()
            constraints = venv / "lowest-direct.txt"
            constraints.write_text("".join(line + "\n" for line in pins.splitlines()
                                           if "==" in line and canonical(line.split("==")[0]) in names))
            run(*compile_cmd, "-c", str(constraints), "--upgrade", log=log)
            stamp_file.write_text(stamp)
    # Bytecode compiled now, as pip does: with PYTHONDONTWRITEBYTECODE set, openai 3.x's ~2,000 modules
    # would compile from source at each daemon's first Responses chat, past the tests' timeouts.
    run(uv(), "pip", "sync", "-q", "--compile-bytecode", "--python", str(python), str(lock), log=log)
    # hatchling's editable install imports `editables` at startup (not a dependency of the project's own).
    run(uv(), "pip", "install", "-q", "--compile-bytecode", "--python", str(python), "--no-deps", "-e", ".", "editables", log=log)
    return python


def table(names: list[str], envs: dict[str, dict[str, str]]) -> str:
    """The direct dependencies' versions, one column per environment."""
    cols = ["package", *envs]
    rows = [[n, *(env.get(n, "-") for env in envs.values())] for n in names]
    widths = [max(len(r[i]) for r in [cols, *rows]) for i in range(len(cols))]
    return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [cols, *rows])


def differences(names: list[str], leg: dict[str, str], main: dict[str, str]) -> str:
    """The packages in ``leg`` whose version differs from the main environment's, direct dependencies first."""
    changed = [n for n in sorted(leg, key=lambda n: (n not in names, n))
               if leg[n] != main.get(n) and n not in ("hermesd-lsp", "editables")]
    return ", ".join(f"{n} {leg.get(n, 'absent')} (main: {main.get(n, 'absent')})" for n in changed)


def since_last_pass(leg: str, found: dict[str, str]) -> str:
    """The direct dependencies whose version differs from hermesd/tested_versions.py's end for ``leg``:
    for the newest leg, the release that appeared since it last passed."""
    tested: dict = {}
    exec(GENERATED.read_text(), tested)  # the file the last passing run wrote (no import: hermesd need not be importable here)
    end = 0 if leg == "lowest" else 1
    changed = [f"{n} {found.get(n, 'absent')} (last passed: {ends[end]})" for n, ends in tested["TESTED"].items()
               if found.get(n) != ends[end]]
    return ", ".join(changed) or "none"


def write_tested(names: list[str], lowest: dict[str, str], newest: dict[str, str]) -> None:
    """hermesd/tested_versions.py: the range both legs passed, per direct dependency."""
    body = "".join(f'    "{n}": ("{lowest[n]}", "{newest[n]}"),\n' for n in names if n in lowest and n in newest)
    text = (
        '"""The releases of hermesd\'s direct dependencies that the dependency matrix passed: (lowest, newest).\n\n'
        "Written by scripts/dependency_matrix.py when both of its legs pass; do not edit. `hermesd doctor`\n"
        'warns when an installed version lies outside its range."""\n\n'
        f"TESTED: dict[str, tuple[str, str]] = {{\n{body}}}\n"
        'OPTIONAL = ("botocore",)  # the bedrock extra\'s\n'
    )
    if not GENERATED.exists() or GENERATED.read_text() != text:
        GENERATED.write_text(text)
        say(f"wrote {GENERATED.relative_to(ROOT)}")


def run_leg(leg: str, reqs: list[str]) -> tuple[int, dict[str, str], str]:
    """(pytest's exit code, the leg's versions, a one-line timing); its output goes to matrix-<leg>.log."""
    started = time.monotonic()
    log_path = CACHE / f"matrix-{leg}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        try:
            python = prepare(leg, reqs, log)
        except subprocess.CalledProcessError as exc:
            return 1, {}, f"failed to resolve or install ({' '.join(map(str, exc.cmd[:5]))} ...)"
        installed = time.monotonic() - started
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        rc = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-k", DESELECT, *TESTS],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    return rc, versions(python), f"{time.monotonic() - started:.0f}s (install {installed:.0f}s)"


def main(argv: list[str]) -> int:
    legs = [leg for leg in argv if leg in LEGS] or list(LEGS)
    reqs, names = direct_dependencies()
    main_env = versions(sys.executable)
    envs: dict[str, dict[str, str]] = {"main": main_env}
    failed: list[str] = []
    say(f"{' and '.join(legs)}, side by side, in {CACHE}/matrix-*: {len(TESTS)} test files each")
    uv()  # in this thread, before the pool (see uv)
    with ThreadPoolExecutor(len(legs)) as pool:  # the tests mostly wait on sockets and daemons: two legs share 2 cores well
        results = dict(zip(legs, pool.map(lambda leg: run_leg(leg, reqs), legs)))
    for leg, (rc, found, timing) in results.items():
        log_path = CACHE / f"matrix-{leg}.log"
        lines = log_path.read_text(errors="replace").splitlines()
        if found:
            envs[leg] = found
        if rc == 0:
            say(f"{leg}: passed in {timing}: {lines[-1] if lines else ''}")
            continue
        failed.append(leg)
        print("\n".join(lines[-60:]))
        say(f"{leg}: FAILED in {timing}; the whole output is {log_path}")
        if found:
            say(f"{leg}: packages that differ from the main environment: {differences(names, found, main_env)}")
            say(f"{leg}: direct dependencies not at the release this leg last passed: {since_last_pass(leg, found)}")
    say("resolved versions of the direct dependencies:\n" + table(names, envs))
    if failed:
        say(f"FAILED: {', '.join(failed)} (a leg's message above names what differs from the main environment)")
        return 1
    if set(legs) == set(LEGS):
        write_tested(names, envs["lowest"], envs["newest"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
