"""The benchmark suite still runs: ``python -m bench --quick`` end to end.

Quick mode uses tiny counts, so its figures mean nothing; this only checks
that every benchmark ran and produced its rows. No timing assertions.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_quick_runs_every_benchmark(tmp_path: Path) -> None:
    output = tmp_path / "performance.md"
    env = {k: v for k, v in os.environ.items() if k != "HERMESD_WARMUP"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    report = output.read_text(encoding="utf-8")
    ids = set(re.findall(r"^\| (B\d) \|", report, flags=re.MULTILINE))
    assert ids == {f"B{i}" for i in range(1, 9)}, report
    assert re.search(r"^\| C1 \|", report, flags=re.MULTILINE) and re.search(r"^\| C1s \|", report, flags=re.MULTILINE)
    assert "crashed" not in report
    for i in range(1, 9):
        assert re.search(rf"^B{i} ", proc.stdout, flags=re.MULTILINE), proc.stdout
