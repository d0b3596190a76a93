"""Anthropic's native Messages API.

The daemon appends ``/v1/messages`` to the base URL itself. The catalog needs
Anthropic's own auth headers (``x-api-key`` plus ``anthropic-version``), not a
Bearer token, and is cursor-paginated, hence the ``fetch_models`` override.
"""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlencode

from providers import register_provider
from providers.base import ProviderProfile

_DEFAULT_ENDPOINT = "https://api.anthropic.com"
_API_VERSION = "2023-06-01"
_PAGE_SIZE = 1000
_MAX_PAGES = 20  # a runaway cursor must not loop forever


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would otherwise replay ``x-api-key`` to any host."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None



class AnthropicProfile(ProviderProfile):
    """Native Anthropic: ``x-api-key`` auth and a paginated catalog."""

    def fetch_models(
        self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0
    ) -> list[str] | None:
        """Every model id from ``/v1/models``, or None (no key, or any failure)."""
        if not api_key:
            return None
        root = (base_url or self.base_url or _DEFAULT_ENDPOINT).strip().rstrip("/")
        if not root.startswith(("http://", "https://")):
            return None
        endpoint = root if root.endswith("/v1") else root + "/v1"
        headers = {
            **self.default_headers,
            "x-api-key": api_key,
            "anthropic-version": _API_VERSION,
            "accept": "application/json",
        }
        opener = urllib.request.build_opener(_NoRedirect)  # per call: proxy settings are read here
        models: list[str] = []
        after: str | None = None
        try:
            for _ in range(_MAX_PAGES):
                params = {"limit": str(_PAGE_SIZE)}
                if after:
                    params["after_id"] = after
                request = urllib.request.Request(f"{endpoint}/models?{urlencode(params)}", headers=headers)
                with opener.open(request, timeout=timeout) as response:
                    page = json.loads(response.read().decode("utf-8"))
                if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                    return None
                models.extend(
                    item["id"]
                    for item in page["data"]
                    if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]
                )
                last_id = page.get("last_id")
                if page.get("has_more") is not True or not isinstance(last_id, str) or last_id == after:
                    break
                after = last_id
        except (OSError, ValueError):  # URLError/HTTPError/timeouts are OSErrors; bad JSON is a ValueError
            return None
        return list(dict.fromkeys(models))  # de-duplicated, order kept


register_provider(
    AnthropicProfile(
        name="anthropic",
        aliases=("claude",),
        api_mode="anthropic_messages",
        display_name="Anthropic",
        description="Anthropic: Claude models through the native Messages API",
        signup_url="https://console.anthropic.com/settings/keys",
        env_vars=("ANTHROPIC_API_KEY", "ANTHROPIC_TOKEN", "ANTHROPIC_BASE_URL"),
        base_url=_DEFAULT_ENDPOINT,
        auth_type="api_key",
        supports_vision=True,
        default_aux_model="claude-haiku-4-5-20251001",
        fallback_models=(
            "claude-sonnet-4-6",
            "claude-opus-4-6",
            "claude-opus-4-5-20251101",
            "claude-sonnet-4-5-20250929",
            "claude-haiku-4-5-20251001",
        ),
    )
)
