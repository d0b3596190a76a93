"""What the benchmarks read of a process: its resident memory and CPU time.

The LSP client the benchmarks drive the daemon with is the test suite's
(:mod:`tests.lsp_client`): one hand-written frame client for both.
"""

from __future__ import annotations

import os


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB (Linux ``/proc``)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of every live thread of a process, to the nanosecond (``/proc/PID/task/*/schedstat``).

    ``cpu_seconds`` counts in clock ticks (10 ms): too coarse for one short
    request. A thread that exits between two readings takes its time with it,
    so use this on a process whose threads live on (the daemon's pool threads do).
    """
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as handle:
                total += int(handle.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1e9
