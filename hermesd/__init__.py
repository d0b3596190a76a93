"""hermesd: one daemon for every editor to reach large language models."""

__version__ = "0.1.0"
PROTOCOL_VERSION = 2.1

# Before any hermesd module imports the plugin API: ``providers`` is ours here
# (see hermesd.aliases); the full alias set is installed by the entry points.
from hermesd import aliases as _aliases  # noqa: E402

_aliases.install_providers()

# httpx's package imports its optional command line (click, rich, pygments:
# ~65 ms) whenever those happen to be installed beside it, falling back to a
# stub ``main`` when they are not. hermesd never runs httpx's command line, so
# it takes the fallback in its own processes: the first chat of a cold daemon
# or CLI does not wait for a terminal UI library (bench C1, C2).
import sys as _sys  # noqa: E402

_sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
