"""hermesd: one daemon for every editor to reach large language models."""

__version__ = "0.1.0"
PROTOCOL_VERSION = 2

# Before any hermesd module imports the plugin API: ``providers`` is ours here
# (see hermesd.aliases); the full alias set is installed by the entry points.
from hermesd import aliases as _aliases  # noqa: E402

_aliases.install_providers()
