"""What hermesd does, as plain modules that know nothing of JSON-RPC.

``chat`` (typed ``ChatParams`` in, ``ChatResult`` out) with ``fallback``,
``runtime`` (which provider, URL and key a request resolves to), ``sessions``
and ``session_index``, ``attachments``, ``apply``, ``catalog``, ``listing``,
``local`` (model servers on this machine), ``doctor``, ``setup``, ``suggest``,
``errors``. The request builders (``hermesd/wire/``), the HTTP transports
(``hermesd/transports/``) and the Hermes compatibility modules
(``hermesd/compat/``) belong to this layer too. May import ``settings/`` and
the bottom layer; never ``serve/``, ``client/`` or pygls/lsprotocol. A new
front end (ACP, inline completion) calls these the way ``serve/handlers`` does.
"""
