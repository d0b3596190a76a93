"""Inline completion (``textDocument/inlineCompletion``): fill-in-the-middle from a model of the user's choosing.

Pure parts first, I/O last: :mod:`.settings` reads the ``completion.*`` keys,
:mod:`.templates` knows each model family's FIM tokens, :mod:`.context` cuts
the prefix and suffix out of a document, :mod:`.requests` builds the exact
HTTP request per endpoint kind, :mod:`.postprocess` cleans what the model
wrote, :mod:`.fetch` sends a request and reads its text, and :mod:`.service`
ties them together with debounce, supersede and a cache. None knows of JSON-RPC
(docs/completion.md).
"""
