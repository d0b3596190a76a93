"""hermesd: one daemon for every editor to reach large language models."""

__version__ = "0.1.0"
PROTOCOL_VERSION = 1
