"""``textDocument/inlineCompletion`` over one connection: capabilities, dynamic registration, thin handlers.

The daemon reads no buffer until completion is configured: ``initialize``
advertises no document sync to a client that can register it later, and
when ``completion.provider`` and ``completion.model`` are set (at start or
any time after, from any client or an edit of config.yaml) each connection
registers incremental sync and ``textDocument/inlineCompletion`` with its
client (``client/registerCapability``); unsetting them unregisters both. A
client that cannot register them dynamically gets them statically and is
answered with no items while completion is off. Each connection keeps its
own documents (pygls' workspace) and its own :class:`~hermesd.engine.completion.service.Completions`,
so two editors on the shared daemon never see each other's buffers. The
work is in :mod:`hermesd.engine.completion`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from lsprotocol import types

if TYPE_CHECKING:
    from hermesd.engine.completion.service import Completions

log = logging.getLogger(__name__)

SELECTOR = [{"scheme": "file"}, {"scheme": "untitled"}]
SYNC_IDS = {types.TEXT_DOCUMENT_DID_OPEN: "hermes-completion-open", types.TEXT_DOCUMENT_DID_CHANGE: "hermes-completion-change",
            types.TEXT_DOCUMENT_DID_CLOSE: "hermes-completion-close"}
INLINE_ID = "hermes-completion-inline"
ACCEPTED_COMMAND = "hermes.completionAccepted"  # each item's command: run by the editor on accept


class State:
    """One connection's completion: what its client can register, what is registered, its Completions."""

    def __init__(self) -> None:
        self.dynamic_sync = False
        self.dynamic_inline = False
        self.registered = False
        self._completions: Completions | None = None
        self._changing: asyncio.Lock | None = None

    @property
    def completions(self) -> Completions:
        if self._completions is None:
            from hermesd.engine.completion.service import Completions

            self._completions = Completions()
        return self._completions


def initialize(params: types.InitializeParams, capabilities: types.ServerCapabilities, state: State) -> None:
    """What ``initialize`` advertises: nothing for a client that registers later; statically otherwise."""
    text = params.capabilities.text_document if params.capabilities else None
    state.dynamic_sync = bool(text and text.synchronization and text.synchronization.dynamic_registration)
    state.dynamic_inline = bool(text and text.inline_completion and text.inline_completion.dynamic_registration)
    if state.dynamic_sync:
        capabilities.text_document_sync = types.TextDocumentSyncOptions(open_close=False,
                                                                        change=types.TextDocumentSyncKind.None_)
    else:
        capabilities.text_document_sync = types.TextDocumentSyncOptions(open_close=True,
                                                                        change=types.TextDocumentSyncKind.Incremental)
    capabilities.inline_completion_provider = None if state.dynamic_inline else types.InlineCompletionOptions()


def _configured() -> bool:
    from hermesd.engine.completion.settings import of
    from hermesd.settings import config as config_mod

    try:
        return of(config_mod.load()).enabled
    except Exception:  # noqa: BLE001 - an unreadable config: completion stays as it was
        log.debug("completion: config unreadable", exc_info=True)
        return False


async def sync_registration(ls: Any) -> None:
    """Register (or unregister) sync and inline completion to match config.yaml; one change at a time."""
    state: State = ls.completion
    if not (state.dynamic_sync or state.dynamic_inline):
        return
    if state._changing is None:
        state._changing = asyncio.Lock()
    async with state._changing:
        # Imported here, on the loop's thread: imported in the worker thread while the loop's thread
        # imports the providers package (warm-up, the first listing), the two deadlocked and the
        # registration died (importlib's _DeadlockError; seen in i36's code-server e2e).
        import hermesd.engine.completion.settings  # noqa: F401
        import hermesd.settings.config  # noqa: F401

        want = await asyncio.to_thread(_configured)
        if want == state.registered:
            return
        registrations = []
        if state.dynamic_sync:
            for method, reg_id in SYNC_IDS.items():
                options: dict[str, Any] = {"documentSelector": SELECTOR}
                if method == types.TEXT_DOCUMENT_DID_CHANGE:
                    options["syncKind"] = types.TextDocumentSyncKind.Incremental.value
                registrations.append((reg_id, method, options))
        if state.dynamic_inline:
            registrations.append((INLINE_ID, types.TEXT_DOCUMENT_INLINE_COMPLETION, {"documentSelector": SELECTOR}))
        try:
            if want:
                await ls.client_register_capability_async(types.RegistrationParams(registrations=[
                    types.Registration(id=i, method=m, register_options=o) for i, m, o in registrations]))
            else:
                await ls.client_unregister_capability_async(types.UnregistrationParams(unregisterations=[
                    types.Unregistration(id=i, method=m) for i, m, _ in registrations]))
                for uri in list(ls.workspace.text_documents):
                    ls.workspace.remove_text_document(uri)
                    state.completions.forget(uri)
            state.registered = want
        except Exception:  # noqa: BLE001 - a client that refuses keeps working without completion
            log.warning("the client refused to %s inline completion", "register" if want else "unregister", exc_info=True)


def path_of(uri: str) -> str:
    """A file URI's path (what the secret-file rule reads); other schemes as they are."""
    parts = urlsplit(uri)
    return unquote(parts.path) if parts.scheme == "file" else uri


async def inline_completion(ls: Any, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    """The suggestion at the cursor, or no items (completion off, a refused buffer, a superseded request)."""
    document = ls.workspace.text_documents.get(params.text_document.uri)
    if document is None:
        return types.InlineCompletionList(items=[])
    offset = document.offset_at_position(params.position)
    invoked = params.context is not None and params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    suggestion = await ls.completion.completions.complete(
        document.uri, document.source, offset, language=document.language_id or "", path=path_of(document.uri),
        invoked=invoked)
    if suggestion is None:
        return types.InlineCompletionList(items=[])
    here = types.Range(start=params.position, end=params.position)
    accepted = types.Command(title="hermes: suggestion accepted", command=ACCEPTED_COMMAND, arguments=[suggestion.id])
    return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=suggestion.text, range=here,
                                                                        command=accepted)])


def did_close(ls: Any, params: types.DidCloseTextDocumentParams) -> None:
    ls.completion.completions.forget(params.text_document.uri)
