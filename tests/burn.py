"""CPU burners: one busy process per core, so tests run on a machine as busy as a user's can be.

A race in hermesd (or in a test's synchronisation) often shows only when
the daemon does not get a core the moment it wants one. ``pytest --burn``
(tests/conftest.py) keeps the burners running for the whole session;
``python -m tests.burn CMD ARGS...`` runs any other command beside them.
Either way they are stopped when it ends, and a burner whose parent died
(a killed pytest) stops by itself within a second.
"""

from __future__ import annotations

import os
import subprocess
import sys

# Spins for half a second at a time, then checks that its parent still lives: no orphan keeps a core.
_BURNER = """
import os, time
parent = os.getppid()
while os.getppid() == parent:
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        pass
"""


def start(count: int | None = None) -> list[subprocess.Popen]:
    """``count`` burners (default: one per core), at the same priority as the tests."""
    count = count or os.cpu_count() or 1
    return [subprocess.Popen([sys.executable, "-c", _BURNER], stdin=subprocess.DEVNULL) for _ in range(count)]


def stop(burners: list[subprocess.Popen]) -> None:
    """Kill and reap every burner."""
    for proc in burners:
        proc.kill()
    for proc in burners:
        proc.wait()


def main(argv: list[str]) -> int:
    """Run ``argv`` beside one burner per core; its exit status is ours."""
    if not argv:
        print("usage: python -m tests.burn COMMAND [ARGS...]   (e.g. python -m pytest tests/test_x.py)", file=sys.stderr)
        return 2
    burners = start()
    try:
        return subprocess.call(argv)
    except KeyboardInterrupt:
        return 130
    finally:
        stop(burners)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
