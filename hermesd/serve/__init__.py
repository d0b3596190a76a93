"""The daemon: JSON-RPC connections over stdio, TCP and the shared per-user socket.

``daemon`` (the state every connection shares, and the connection interface
the handlers use), ``handlers`` (one short function per ``hermes/*``
method), ``server`` (one connection: pygls adapted), ``outbox`` (writes to a
client), ``warm_up``, ``stdio``, ``tcp``, ``shared`` (the per-user daemon's
socket), ``logs``. The only layer that imports pygls and lsprotocol. May
import ``engine/``, ``settings/``, ``client/`` (the handshake it answers) and
the bottom layer; a new protocol front end (ACP) would be a sibling package at
this level.
"""
