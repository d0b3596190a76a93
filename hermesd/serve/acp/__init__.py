"""The Agent Client Protocol on a shared-daemon connection (``hermesd acp``, docs/acp.md).

The official SDK (``agent-client-protocol``, import name ``acp``; pydantic)
parses and writes the messages; :mod:`.agent` maps each ACP method onto the
engine, as :mod:`hermesd.serve.handlers` does for hermes/*; :mod:`.prompt`
turns ACP content and saved sessions into hermesd's messages and back. The
SDK is imported on the first ACP connection only: it costs about a second,
and no editor or CLI path may pay it (tests/test_cold_imports.py).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hermesd.serve.daemon import Daemon


async def serve_connection(daemon: Daemon, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve one ACP client until it closes its end; its running prompts are then cancelled (text kept)."""
    from acp import run_agent

    from hermesd.serve.acp.agent import HermesAgent

    agent = HermesAgent(daemon, writer)
    try:
        await run_agent(agent, writer, reader)
    finally:
        agent.cancel_all()
