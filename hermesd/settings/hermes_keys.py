"""The names the Hermes agent reads in the shared config.yaml (hermes-agent 0.13's DEFAULT_CONFIG and loaders).

A key in neither hermesd's list (:data:`hermesd.settings.config.USED_KEYS`) nor this
one is a typo or a leftover: doctor warns about it with the name meant.
A key only the agent reads is informational: the file is shared. Names only;
for sections the agent owns alone (``terminal``, ``display``...) every key
inside is the agent's.
"""

from __future__ import annotations

SECTIONS = frozenset({
    "_config_version", "agent", "approvals", "auxiliary", "bedrock", "browser", "checkpoints", "code_execution",
    "command_allowlist", "compression", "context", "credential_pool_strategies", "cron", "curator", "custom_providers",
    "dashboard", "delegation", "discord", "display", "fallback_model", "fallback_providers", "file_read_max_chars",
    "goals", "honcho", "hooks", "hooks_auto_accept", "human_delay", "kanban", "logging", "matrix", "mattermost",
    "mcp_servers", "memory", "model", "model_catalog", "network", "onboarding", "openrouter", "personalities",
    "platform_toolsets", "plugins", "prefill_messages_file", "privacy", "prompt_caching", "provider_routing",
    "providers", "quick_commands", "security", "sessions", "skills", "slack", "stt", "telegram", "terminal",
    "timezone", "tool_loop_guardrails", "tool_output", "toolsets", "tts", "updates", "voice", "web", "whatsapp",
})

# Keys of the sections hermesd shares with the agent, as the agent names them (hermesd's own are in USED_KEYS).
SHARED_SECTION_KEYS = {
    "model": {"default", "provider", "base_url", "api_key", "api_mode", "context_length"},
    "agent": {"max_turns", "gateway_timeout", "restart_drain_timeout", "api_max_retries", "service_tier",
              "tool_use_enforcement", "gateway_timeout_warning", "gateway_notify_interval",
              "gateway_auto_continue_freshness", "image_input_mode", "disabled_toolsets", "reasoning_effort"},
    "openrouter": {"response_cache", "response_cache_ttl", "min_coding_score"},
    "auxiliary": {"vision", "web_extract", "compression", "session_search", "skills_hub", "approval", "mcp",
                  "title_generation", "triage_specifier", "curator"},
    "context": {"engine"},
    "network": {"force_ipv4"},
    "plugins": {"enabled", "disabled"},
}
