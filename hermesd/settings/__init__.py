"""The user's settings: ``$HERMES_HOME/config.yaml`` and the keys.

``config`` (typed keys, validation, atomic writes), ``credentials`` (API keys
from the environment and ``.env``; the redaction of secrets), ``yaml_edit``
(the comment-keeping round-trip writer), ``config_watch`` (outside edits),
``urls`` (a URL's password, found and masked). May import the bottom layer
(``hermesd``, ``paths``, ``protocol``) and the plugin API; nothing of the engine or
the serving layers, and no JSON-RPC library.
"""
