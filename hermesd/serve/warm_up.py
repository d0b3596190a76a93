"""Getting a fresh daemon ready for its first chat, off the path of ``initialize``.

What an editor waits for first is the ``initialize`` reply, so nothing of the
HTTP stack, the config or the provider registry is imported before it. Right
after ``initialized`` (or, with ``HERMESD_WARMUP=early``, while pygls loads)
one background thread imports and builds what the first chat needs.
"""

from __future__ import annotations

import atexit
import gc
import logging
import threading

log = logging.getLogger(__name__)

EXIT_WAIT_SECONDS = 2.0
_warm_lock = threading.Lock()
_warm_started = False


def start_warm_up() -> None:
    """Run :func:`_warm_up` in a background thread, once per process."""
    global _warm_started
    with _warm_lock:
        if _warm_started:
            return
        _warm_started = True
    # The plugin API's package, whole, before a second thread imports anything of it. Python before 3.14 takes a
    # submodule's import lock before its package's (CPython gh-83065): a thread importing `providers.discovery`
    # (as the warm-up does, through the chat engine) while another imports `providers` (whose __init__ imports
    # `providers.discovery`: completion's first config read, a first listing) deadlocked, and Python's detector
    # raised _DeadlockError in one of them (completion never registered, under load). Once `providers` is in
    # sys.modules whole, a submodule import takes no package lock.
    import providers  # noqa: F401

    thread = threading.Thread(target=_warm_up, name="hermesd-warm-up", daemon=True)
    thread.start()
    # An exit while it runs would finalize the interpreter under a thread in the middle of an
    # import or of OpenSSL loading the CA bundle (SIGSEGV): wait for it, but never for long.
    atexit.register(thread.join, EXIT_WAIT_SECONDS)


def _warm_up() -> None:
    """Import what the first chat needs and discover plugins, off the reply path."""
    try:
        # What a first chat needs, in the order it needs it: an editor often sends
        # that chat before this thread is done, and then shares the GIL with it.
        import httpx  # noqa: F401
        import httpx_sse  # noqa: F401

        import hermesd.engine.chat  # noqa: F401
        import hermesd.transports.chat_completions  # noqa: F401
        import providers
        from hermesd.settings import config as config_mod
        from hermesd.transports import clients

        clients.warm_up()
        config_mod.load()
        providers.list_providers()
        # Nearly everything allocated so far lives as long as the daemon: keep
        # the cyclic collector from walking it again at every full collection
        # (tens of ms each in the middle of a stream).
        gc.freeze()
        # Then what other first requests need: the picker's listing, Anthropic's
        # transport, and the CA bundle for the first https chat (a first chat to
        # a local http server skips it).
        import hermesd.engine.listing  # noqa: F401
        import hermesd.transports.anthropic_messages  # noqa: F401

        clients.tls_context()
        gc.freeze()
    except Exception:  # noqa: BLE001 - warm-up is an optimisation only
        log.debug("warm-up failed", exc_info=True)
