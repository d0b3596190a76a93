"""The client side of the shared daemon: what runs in the editor's process and the CLI's before any daemon code.

``forwarder`` (``hermesd --stdio``: reach or start the per-user daemon),
``relay`` (its frames both ways, and a new daemon when the old one goes) and ``remote`` (``hermesd chat`` through that daemon). May import
the standard library and the bottom layer only (``hermesd``, ``aliases``,
``framing``, ``paths``): a new editor window costs a Python start and no more
(bench C1s). The daemon is started by its entry point's name (``python -m
hermesd --daemon``), never by importing the layers above. ``serve/`` imports
this package for the handshake both ends speak.
"""
