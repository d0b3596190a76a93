"""One-shot command-line chats (C2): CPU of a child process, its baselines, its imports.

The baseline the issue names is simonw/llm (``llm`` on PyPI). It never goes
into the project's or the test venv: ``python -m bench.oneshot`` (or a full
``python -m bench``, on first need) installs a pinned ``llm`` into its own
venv under the bench cache (``$HERMESD_BENCH_CACHE``, default
``~/.cache/hermesd-bench/llm-venv``), and ``HERMESD_BENCH_LLM`` may name any
other ``llm`` executable. ``--quick`` never installs: without ``llm`` it
measures against the floor only, a bare httpx + httpx-sse script.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

LLM_VERSION = "0.36"
LLM_MODEL_ID = "bench-upstream"

# The least a Python one-shot streaming client can do: import httpx, post, print the deltas.
BARE_CLIENT = """
import json, sys
import httpx, httpx_sse
url, model, key = sys.argv[1:4]
body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
with httpx.Client() as client:
    with httpx_sse.connect_sse(client, "POST", url, json=body, headers={"Authorization": "Bearer " + key}) as events:
        for sse in events.iter_sse():
            if sse.data == "[DONE]":
                break
            for choice in json.loads(sse.data)["choices"]:
                sys.stdout.write(choice["delta"].get("content") or "")
sys.stdout.write("\\n")
"""


def cache_dir() -> Path:
    return Path(os.environ.get("HERMESD_BENCH_CACHE") or Path.home() / ".cache" / "hermesd-bench")


def llm_venv() -> Path:
    return cache_dir() / "llm-venv"


def find_llm() -> str | None:
    """``$HERMESD_BENCH_LLM``, else the bench's own llm venv, else None."""
    named = os.environ.get("HERMESD_BENCH_LLM")
    if named:
        return named
    exe = llm_venv() / "bin" / "llm"
    return str(exe) if exe.is_file() else None


def install_llm() -> str | None:
    """Create the bench's llm venv (idempotent) and return its ``llm``; None when that fails (offline)."""
    found = find_llm()
    if found:
        return found
    venv = llm_venv()
    print(f"installing llm {LLM_VERSION} into {venv} (bench baseline only) ...", file=sys.stderr, flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"llm=={LLM_VERSION}"], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"could not install llm ({exc}); C2 compares with the bare httpx script only", file=sys.stderr)
        return None
    return find_llm()


def llm_home(root: Path, base_url: str, model: str, key: str) -> dict[str, str]:
    """An ``LLM_USER_PATH`` whose extra-openai-models.yaml points ``bench-upstream`` at the upstream."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "extra-openai-models.yaml").write_text(
        f'- model_id: {LLM_MODEL_ID}\n  model_name: "{model}"\n  api_base: "{base_url}"\n  api_key_name: bench\n',
        encoding="utf-8",
    )
    (root / "keys.json").write_text('{"bench": "%s"}\n' % key, encoding="utf-8")
    return {"LLM_USER_PATH": str(root)}


def child_cpu(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, str, str]:
    """User + system CPU seconds of one child run to completion (``wait4``), its stdout and stderr.

    Output goes to files, not pipes: nothing in this process has to read while
    the child runs, and ``wait4`` reaps it with its resource usage.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} … exited {proc.returncode}: {stderr[-500:]}")
    return usage.ru_utime + usage.ru_stime, stdout, stderr


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)\s*$")


def import_breakdown(stderrs: list[str], top: int = 12) -> tuple[float, list[tuple[str, float]]]:
    """Median total import seconds over runs, and the top-level packages costing the most
    (self time summed per package, median over runs)."""
    runs: list[dict[str, int]] = []
    for stderr in stderrs:
        per_root: dict[str, int] = defaultdict(int)
        for line in stderr.splitlines():
            match = _IMPORT_LINE.match(line)
            if match:
                per_root[match.group(4).split(".")[0]] += int(match.group(1))
        runs.append(per_root)
    total = statistics.median(sum(run.values()) for run in runs) / 1e6
    names = {name for run in runs for name in run}
    medians = {name: statistics.median(run.get(name, 0) for run in runs) / 1e6 for name in names}
    return total, sorted(medians.items(), key=lambda item: -item[1])[:top]


if __name__ == "__main__":
    found = install_llm()
    print(found or "llm is not installed")
    sys.exit(0 if found else 1)
