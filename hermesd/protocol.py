"""The hermesd protocol as types: every request's params and result, every notification, every error code.

This module is the bottom of the daemon: it imports nothing of hermesd but
the version number, so the engine, the handlers and the transports can all
import it. The wire names are the camelCase forms of the snake_case field
names (``session_id`` -> ``sessionId``). An optional field is omitted from
the wire when it is ``None``, unless its metadata says null is a value
(``nullable``); a field whose absence differs from null defaults to
:data:`UNSET`.

``docs/protocol.schema.json`` and ``editors/vscode/src/protocol.ts`` are
generated from these definitions (``python -m hermesd.protocol --write``);
``tests/test_protocol.py`` fails when either is stale. To add a field, add it
here (with a default, so older clients keep working) and regenerate.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import types as _types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from hermesd import PROTOCOL_VERSION

# -- error codes -----------------------------------------------------------

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
UNAUTHORISED = -32001
CONFIG_UNREADABLE = -32002
STORAGE_FAILED = -32003
NEEDS_CONFIRMATION = -32004  # attachments that may hold secrets: data lists them (NeedsConfirmationData)
DAEMON_RESTARTED = -32005  # sent by the forwarder (hermesd.client.relay), not the daemon: data {kind, retryable, method}
REQUEST_CANCELLED = -32800

ERROR_CODES: dict[str, int] = {
    "parseError": PARSE_ERROR,
    "invalidRequest": INVALID_REQUEST,
    "methodNotFound": METHOD_NOT_FOUND,
    "invalidParams": INVALID_PARAMS,
    "internalError": INTERNAL_ERROR,
    "unauthorised": UNAUTHORISED,
    "configUnreadable": CONFIG_UNREADABLE,
    "storageFailed": STORAGE_FAILED,
    "needsConfirmation": NEEDS_CONFIRMATION,
    "daemonRestarted": DAEMON_RESTARTED,
    "requestCancelled": REQUEST_CANCELLED,
}

ChatErrorKind = Literal[
    "auth", "rate_limited", "quota", "context_length", "model_not_found", "network", "timeout",
    "bad_response", "plugin_error", "config_error", "storage", "spending_limit",
]
StopReason = Literal["end_turn", "max_tokens", "cancelled", "error"]
ChatRole = Literal["system", "developer", "user", "assistant", "tool"]
CheckStatus = Literal["ok", "warn", "fail", "skip"]


class _Unset:
    """The value of a field the client did not send, where null is a value of its own."""

    _instance: "_Unset | None" = None

    def __new__(cls) -> "_Unset":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


def doc(text: str, *, nullable: bool = False, default: Any = None) -> Any:
    """A field with its documentation (goes into the schema and protocol.ts)."""
    return field(default=default, metadata={"doc": text, "nullable": nullable})


def required(text: str) -> Any:
    """A field the message must carry."""
    return field(metadata={"doc": text})


class ParamsError(ValueError):
    """Params that break the protocol's types; the message names the field (sent as -32602)."""


# -- lifecycle ---------------------------------------------------------------


@dataclass
class HermesCapabilities:
    """The `capabilities.experimental.hermes` block of the initialize result."""

    protocol_version: float = required("the protocol version, major.minor (a minor adds optional fields and methods); "
                                       "a client refuses a daemon whose major version (its integer part) differs")
    methods: list[str] = required("the hermes/* methods this daemon answers")


# -- providers and models ----------------------------------------------------


@dataclass
class ListProvidersParams:
    """hermes/listProviders' params."""

    refresh: bool | None = doc("re-read the plugin directories first")


@dataclass
class ProviderOverride:
    """The profile this one replaced: a plugin loaded later registered the same name (later ones win)."""

    source: str = required("where the replaced profile came from")
    path: str = required("its file")


@dataclass
class ProviderInfo:
    """One provider of hermes/listProviders."""

    name: str = required("the provider's name")
    display_name: str = required("a name for people")
    configured: bool = required("a usable credential is present (or the provider needs none)")
    description: str = required("one line about the provider (may be empty)")
    aliases: list[str] = required("other names it answers to")
    api_mode: str = required("the API shape it speaks")
    auth_type: str = required("api_key, aws_sdk, oauth, ...")
    base_url: str = required("its endpoint (a keyless provider's: the URL in use; may be empty)")
    signup_url: str = required("where to get a key (may be empty)")
    key_env_vars: list[str] = required("the variables a key is read from, in order")
    source: str = required("bundled, user, legacy, entry_point or runtime")
    key_env_var: str | None = doc("the variable that holds the key in use")
    keyless: bool | None = doc("configured by its base URL alone; no key is needed or sent")
    overrides: ProviderOverride | None = doc("present when this profile replaced another of the same name")


@dataclass
class PluginErrorInfo:
    """A plugin that failed to load."""

    plugin: str = required("the plugin's directory name")
    message: str = required("what went wrong (secrets scrubbed)")
    path: str = required("the file")
    line: int | None = doc("the line")
    entry_point: str | None = doc("a pip-installed plugin: the entry point that failed (`group: name = module:attr`)")


@dataclass
class CurrentModel:
    """The configured provider and model (model.provider, model.default); either may be empty."""

    provider: str = required("the configured provider, or empty")
    model: str = required("the configured model, or empty")
    label: str = required("the daemon's short form of the model for narrow places")
    detail: str | None = doc("what else shapes the current model's answers, to show beside it (Pareto Code: its floor)")


@dataclass
class ListProvidersResult:
    """hermes/listProviders' result: the providers, the current model and any plugin load failures."""

    providers: list[ProviderInfo] = required("every provider, in registration order")
    current: CurrentModel = required("the configured provider and model")
    plugin_errors: list[PluginErrorInfo] = required("plugins that failed to load")


@dataclass
class ListModelsParams:
    """hermes/listModels' params."""

    provider: str = required("a provider name or alias")
    refresh: bool | None = doc("bypass the on-disk catalog cache")


@dataclass
class ModelInfo:
    """One model of a provider's catalog."""

    id: str = required("the model id to send")
    group: Literal["routers", "models"] = required("routers (curated, listed first) or models")
    label: str | None = doc("a name for people")
    description: str | None = doc("one line about it")


@dataclass
class ListModelsResult:
    """hermes/listModels' result: one provider's models and where the list came from."""

    provider: str = required("the provider's canonical name")
    models: list[ModelInfo] = required("its models, routers first")
    source: Literal["live", "cache", "fallback"] = required("where the list came from")
    fetched_at: str | None = doc("when the list was fetched (ISO 8601)")
    error: str | None = doc("why the live fetch failed, when it did")


@dataclass
class ListPickerParams:
    """hermes/listPicker's params."""

    refresh: bool | None = doc("bypass the on-disk catalog caches")


@dataclass
class PickerInput:
    """A value to ask for before selecting a row (Pareto Code's minimum coding score)."""

    param: str = required("the hermes/selectModel param to send the typed text in, as typed")
    prompt: str = required("the question")
    value: str = required("the current value, as text")
    placeholder: str = required("the input box's placeholder")


@dataclass
class PickerItem:
    """One row of the model picker, ready to display as it is."""

    kind: Literal["model", "setup", "notice"] = required(
        "model: choose it with hermes/selectModel; setup: open the setup list; notice: show its hint")
    id: str = required("the model id (empty for the setup entry)")
    provider: str = required("the provider's name (empty for the setup entry)")
    label: str = required("the row's text")
    group: str = required("the heading the row sits under; a new heading starts where it changes")
    description: str = required("text beside or below the label")
    configured: bool = required("choosing it works now; otherwise `hint` says what to do first")
    current: bool | None = doc("this is the configured model")
    hint: str | None = doc("what choosing it needs first (a key to set, and where)")
    input: PickerInput | None = doc("ask for this before selecting; send the text typed (empty: unchanged)")


@dataclass
class SetupProvider:
    """A provider with no credential yet, listed behind the picker's setup entry."""

    provider: str = required("the provider's name")
    label: str = required("the row's text")
    description: str = required("text beside the label: the key variable, or how it signs in")
    hint: str = required("how to set it up, in a sentence")
    key_env_var: str | None = doc("the variable to set")
    signup_url: str | None = doc("where to get a key")


@dataclass
class ListPickerResult:
    """The cross-provider picker, in display order; clients never sort, group or describe."""

    title: str = required("the picker's title")
    placeholder: str = required("the filter box's placeholder")
    current: CurrentModel = required("the configured provider and model")
    items: list[PickerItem] = required("the rows, in display order")
    setup_title: str = required("the title of the list behind the setup entry")
    setup: list[SetupProvider] = required("the providers behind the setup entry, in display order")
    errors: list[str] | None = doc("model lists that could not be fetched, one line each")


SelectScope = Literal["session", "default"]


@dataclass
class SelectModelParams:
    """hermes/selectModel's params; all are validated before anything is written."""

    provider: str = required("a provider name or alias")
    model: str = required("the model id")
    min_coding_score: float | str | None = field(default=UNSET, metadata={
        "doc": "openrouter.min_coding_score to write too (null: no floor); absent: unchanged", "nullable": True})
    session_id: str | None = doc("the conversation the choice is made in: its next turns use this model (saved in the session)")
    scope: SelectScope | None = doc(
        "session: that conversation only, config.yaml untouched; default: the default for new chats too "
        "(and the conversation, when sessionId is given). Absent: session with a sessionId, else default")


@dataclass
class SelectModelResult:
    """hermes/selectModel's result: the configuration (or the conversation) after the write."""

    current: CurrentModel = required("the provider and model after the write: the conversation's with scope session, else the configured ones")
    message: str = required("what was selected, in a sentence to show")
    min_coding_score: float | None = doc("openrouter.min_coding_score after the write (null: no floor)", nullable=True)
    hint: str | None = doc("what the choice still needs (a key to set), to show as a warning")
    signup_url: str | None = doc("where to get the key the hint names")
    scope: SelectScope | None = doc("what changed: session (the conversation only) or default (config.yaml)")
    session_id: str | None = doc("the conversation switched too, when sessionId was given")


# -- config ------------------------------------------------------------------


@dataclass
class ConfigErrorInfo:
    """A problem reading config.yaml."""

    message: str = required("what is wrong")
    line: int | None = doc("the line of config.yaml")


@dataclass
class GetConfigResult:
    """hermes/getConfig's result."""

    path: str = required("the config file")
    config: dict[str, Any] = required("the effective configuration, secrets masked")
    defaults: dict[str, Any] = required("the built-in defaults")
    errors: list[ConfigErrorInfo] = required("problems reading the file")
    current: CurrentModel = required("the configured provider and model")


@dataclass
class SetConfigParams:
    """hermes/setConfig's params: send `value` or `reset`."""

    key: str = required("a dotted config key such as model.default")
    value: Any = field(default=UNSET, metadata={"doc": "the new value (null is a value)", "nullable": True})
    reset: bool | None = doc("remove the key so its default applies")


@dataclass
class SetConfigResult:
    """hermes/setConfig's result."""

    key: str = required("the key written")
    value: Any = field(default=None, metadata={"doc": "its new effective value", "nullable": True})


@dataclass
class NoParams:
    """Params of a method that takes none (an empty object, or none at all)."""


@dataclass
class ConfigKeyInfo:
    """One config key and its rule, from config.KEYS."""

    key: str = required("the dotted key")
    type: Literal["string", "provider", "url", "enum", "number", "integer", "boolean", "mapping"] = required("the value's kind")
    default: Any = field(default=None, metadata={"doc": "the built-in default", "nullable": True})
    nullable: bool = field(default=False, metadata={"doc": "null is a value of its own (explained in doc)"})
    doc: str = field(default="", metadata={"doc": "what the key does"})
    min: float | None = field(default=None, metadata={"doc": "the smallest number allowed"})
    max: float | None = field(default=None, metadata={"doc": "the largest number allowed"})
    enum: list[str] | None = field(default=None, metadata={"doc": "the values allowed (empty string: the default)"})


@dataclass
class DescribeConfigResult:
    """hermes/describeConfig's result: what a client needs to offer and complete config keys."""

    keys: list[ConfigKeyInfo] = required("every key, in config.KEYS order")


# -- sessions and chat -------------------------------------------------------


@dataclass
class NewSessionParams:
    """hermes/newSession's params; absent fields take the configured values."""

    provider: str | None = doc("override the configured provider")
    model: str | None = doc("override the configured model")
    parent_session_id: str | None = doc("inherit this session's target and settings")
    system: str | None = doc("system prompt")


@dataclass
class NewSessionResult:
    """hermes/newSession's result."""

    session_id: str = required("the new session")
    provider: str = required("its provider")
    model: str = required("its model (empty when none is configured)")


@dataclass
class ChatMessage:
    """One message of a transcript sent in hermes/chat's `messages`."""

    role: ChatRole = required("who speaks")
    content: Any = required("text, or a list of content parts")


@dataclass
class LspPosition:
    """A position in a document, as LSP counts it."""

    line: int = required("zero-based line")
    character: int = required("zero-based character")


@dataclass
class LspRange:
    """A range of a document, as LSP counts it."""

    start: LspPosition = required("first position")
    end: LspPosition = required("position after the last character")


AttachmentKind = Literal["file", "selection", "diagnostics"]


@dataclass
class Attachment:
    """Context sent with a turn; the daemon checks, renders and saves it."""

    kind: AttachmentKind = required("file, selection or diagnostics")
    text: str = required("the content (a file's text, the selected text, the rendered diagnostics)")
    path: str | None = doc("the file it comes from")
    language: str | None = doc("its language id (fences the text)")
    range: LspRange | None = doc("the selection's range (LSP, zero-based)")
    confirmed: bool | None = doc("the user said yes to sending a file the daemon flagged as possibly secret")


@dataclass
class FlaggedAttachment:
    """An attachment the daemon will not send until the user confirms it."""

    index: int = required("its position in `attachments`")
    path: str = required("the file")
    reason: str = required("why it may hold secrets")


@dataclass
class NeedsConfirmationData:
    """The `data` of error -32004: re-send these attachments with `confirmed: true` once the user agrees."""

    kind: Literal["needsConfirmation"] = required("needsConfirmation")
    attachments: list[FlaggedAttachment] = required("the attachments that need the user's yes")


@dataclass
class ChatParams:
    """hermes/chat's and hermes/previewRequest's params."""

    session_id: str | None = doc("continue this session; absent: a new one")
    message: str | None = doc("the user's message (or send `messages`)")
    messages: list[ChatMessage] | None = doc("a whole transcript to send instead of appending `message`")
    provider: str | None = doc("override for this session")
    model: str | None = doc("override for this session")
    system: str | None = doc("system prompt")
    temperature: float | None = doc("sampling temperature")
    max_tokens: int | None = doc("output cap")
    attachments: list[Attachment] | None = doc("context for this turn (files, selections, diagnostics); saved with it")


@dataclass
class ChatError:
    """Why a reply failed, in a kind a client can act on."""

    kind: ChatErrorKind = required("what kind of failure")
    message: str = required("what happened")
    hint: str | None = doc("what to do")
    status: int | None = doc("the upstream HTTP status")
    retry_after: float | None = doc("seconds to wait (rate_limited)")
    provider: str | None = doc("the provider that failed")


@dataclass
class Target:
    """A provider and model."""

    provider: str = required("provider")
    model: str = required("model")


@dataclass
class FallbackAttempt:
    """A fallback entry that failed before the first token."""

    provider: str = required("provider tried")
    model: str = required("model tried")
    error: ChatError = required("why it failed")


CostSource = Literal["reported", "estimated", "unknown"]


@dataclass
class Usage:
    """What one reply used: the upstream's token counts, its cost, and how full the conversation is."""

    input_tokens: int | None = doc("prompt tokens, cached ones included")
    output_tokens: int | None = doc("reply tokens, reasoning included")
    reasoning_tokens: int | None = doc("reasoning tokens (part of outputTokens)")
    cache_read_tokens: int | None = doc("prompt tokens read from the provider's cache (part of inputTokens)")
    cache_write_tokens: int | None = doc("prompt tokens written to the provider's cache (part of inputTokens)")
    cost_usd: float | None = doc("what the reply cost in US dollars; absent when unknown")
    cost_source: CostSource | None = doc("reported (the upstream's own figure), estimated (tokens × catalog price, "
                                         "priceSource names it; 0 for a local server), unknown")
    price_source: str | None = doc("for estimated costs: the price's source and date, or `local server`")
    context_tokens: int | None = doc("the conversation's tokens after this reply (its input and output)")
    context_length: int | None = doc("the model's context window, from its catalog")
    summarize_at: int | None = doc("the session's summary threshold (context.budget_tokens), on the same scale")
    footer: str | None = doc("display-ready: one line to show under the reply (model, tokens, cost, context)")
    context: str | None = doc("display-ready: the context meter alone (`context 1,444 / 200,000 (1%), summary at 32,000`)")


@dataclass
class UsageTotals:
    """What a set of replies used and cost (a session, a day, a model)."""

    replies: int = required("replies counted (summaries included)")
    input_tokens: int = required("prompt tokens")
    output_tokens: int = required("reply tokens")
    cost_usd: float = required("reported and estimated costs added, in US dollars")
    estimated_replies: int = required("replies whose cost is an estimate")
    unknown_replies: int = required("replies whose cost is unknown (not in costUsd)")
    label: str = required("display-ready: replies, tokens and cost on one line")
    cost_text: str = required("display-ready: the cost alone (`$0.0053`, `$0.0053 (1 unknown)`, `cost unknown`), "
                              "for a status bar")


@dataclass
class ChatResult:
    """hermes/chat's result: the whole turn, once streaming is over."""

    session_id: str = required("the session")
    text: str = required("the whole reply text")
    stop_reason: StopReason = required("why the reply ended")
    provider: str | None = doc("the session's provider")
    model: str | None = doc("the session's model")
    model_label: str | None = doc("the model's short form to show (a path's file name); `model` stays the id")
    reasoning: str | None = doc("the streamed reasoning, if any")
    routed_model: str | None = doc("the model the upstream says it used, when it differs")
    answered_by: Target | None = doc("who this result came from")
    fallbacks: list[FallbackAttempt] | None = doc("attempts that failed before the first token")
    usage: Usage | None = doc("tokens, cost and context of this reply")
    session_usage: UsageTotals | None = doc("the session's totals, this reply included")
    error: ChatError | None = doc("present when stopReason is error (or kind storage)")
    notice: str | None = doc("display-ready: why the daemon ended this reply early (it is stopping); "
                             "the partial text is saved")
    config_warnings: list[str] | None = doc("values in config.yaml this chat ignored (defaults used), one line each")


@dataclass
class ChatDelta:
    """A piece of a streaming reply. Deltas of one request arrive in ``seq`` order."""

    session_id: str = required("the session")
    request_id: int | str = required("the JSON-RPC id of the hermes/chat request")
    seq: int = required("0, 1, 2, ... per request, with no gaps")
    text: str | None = doc("reply text")
    reasoning: str | None = doc("reasoning text")


@dataclass
class CancelParams:
    """hermes/cancel's params."""

    session_id: str = required("the session whose chat to stop")


@dataclass
class CancelResult:
    """hermes/cancel's result."""

    cancelled: bool = required("false when nothing was running")


@dataclass
class PreviewResult:
    """hermes/previewRequest's result: the HTTP request hermes/chat would send, secrets masked."""

    url: str = required("where the request would go")
    method: str = required("HTTP method")
    headers: dict[str, str] = required("headers, secrets masked")
    body: Any = required("the JSON body")
    provider: str = required("the provider")
    api_mode: str = required("the API shape")
    model_note: str | None = doc("where the model came from when none was configured (a server's list, the fallback)")
    fallbacks: list[FallbackPreview] | None = doc(
        "what hermes/chat would send next, in order, if the request before failed before its first token "
        "(fallback_providers / fallback_model; unusable entries left out, as the chat skips them)")


@dataclass
class FallbackPreview:
    """One step of the fallback chain in hermes/previewRequest's result."""

    where: str = required("the config entry (fallback_providers[0], fallback_model)")
    request: PreviewResult = required("the request it would send, secrets masked")


@dataclass
class ListSessionsParams:
    """hermes/listSessions' params."""

    limit: int | None = doc("page size, 1-500 (default 50)")
    cursor: str | None = doc("the previous page's nextCursor; absent: the first page")
    query: str | None = doc("only sessions whose title, provider or model contain this (at most 1,000 characters)")


@dataclass
class SessionSummary:
    """One saved conversation in hermes/listSessions."""

    session_id: str = required("the session")
    title: str = required("a short title")
    provider: str = required("its provider")
    model: str = required("its model")
    updated_at: str = required("last change (ISO 8601)")
    message_count: int = required("messages in it")
    description: str = required("display-ready: provider · the model's short label (empty when neither is set)")
    detail: str = required("display-ready: how long ago, and how many messages (\"5 min ago · 4 messages\")")
    parent_session_id: str | None = doc("the session it was forked from")
    usage: UsageTotals | None = doc("what its replies used and cost")


@dataclass
class ListSessionsResult:
    """hermes/listSessions' result: one page."""

    sessions: list[SessionSummary] = required("newest first")
    next_cursor: str | None = doc("pass as `cursor` for the next page; absent on the last page")


@dataclass
class GetSessionParams:
    """hermes/getSession's params."""

    session_id: str = required("the session")


@dataclass
class SessionMessage:
    """One turn of a saved conversation."""

    role: str = required("user, assistant or system")
    content: Any = required("the text")
    attachments: list[Attachment] | None = doc("the context sent with this turn")
    model: str | None = doc("the model that answered")
    model_label: str | None = doc("that model's short form to show (a path's file name), when it differs from `model`")
    routed_model: str | None = doc("the model a router chose")
    answered_by: Target | None = doc("a fallback that answered")
    stop_reason: str | None = doc("why the reply ended: a chat's stopReason, or interrupted (the daemon died "
                                  "before it ended; content is what was saved)")
    error: ChatError | None = doc("the error that ended this reply, when it failed")
    notice: str | None = doc("display-ready: why the reply ended early because of the daemon (interrupted, "
                             "or cancelled as it stopped); show it with the reply")
    retryable: bool | None = doc("true on the last message when that reply never ended (interrupted): the editor "
                                 "offers Retry, which sends the user message before it again in this session")
    usage: Usage | None = doc("on a reply: what it used and cost (costSource unknown for replies saved before "
                              "hermesd counted usage)")


@dataclass
class GetSessionResult:
    """hermes/getSession's result."""

    session_id: str = required("the session")
    provider: str = required("its provider")
    model: str = required("its model")
    messages: list[SessionMessage] = required("the transcript")
    system: str | None = doc("its system prompt")
    parent_session_id: str | None = doc("the session it was forked from")
    summary: str | None = doc("the summary of older turns")
    model_chosen: bool | None = doc("its model was chosen for it (hermes/selectModel with its sessionId): it keeps that model "
                                    "when the default changes")
    model_label: str | None = doc("the model's short form to show (a path's file name), when it differs from `model`")
    usage: UsageTotals | None = doc("what its replies used and cost")


UsageGrouping = Literal["day", "provider", "model"]


@dataclass
class UsageReportParams:
    """hermes/usageReport's params."""

    since: str | None = doc("how far back: `7d`, `24h`, `30d` or a date (`2026-12-01`); default 30d")
    by: UsageGrouping | None = doc("one row per day (default), provider or model")


@dataclass
class UsageRow:
    """One row of hermes/usageReport."""

    key: str = required("the day (YYYY-MM-DD), provider or model")
    totals: UsageTotals = required("what it used and cost")


@dataclass
class SpendingLimit:
    """One spending cap (usage.daily_limit_usd / usage.monthly_limit_usd) and how much of it is used."""

    period: Literal["day", "month"] = required("day or month")
    limit_usd: float = required("the cap")
    spent_usd: float = required("spent in this period so far (reported and estimated costs)")


@dataclass
class UsageReportResult:
    """hermes/usageReport's result, from the session index."""

    since: str = required("the first day counted (YYYY-MM-DD)")
    by: UsageGrouping = required("how rows are grouped")
    rows: list[UsageRow] = required("newest day first, else the costliest first")
    total: UsageTotals = required("every row added")
    today_usd: float = required("spent today (reported and estimated costs)")
    month_usd: float = required("spent this month")
    text: str = required("display-ready: the report as lines of text")
    limits: list[SpendingLimit] | None = doc("the spending caps set")


@dataclass
class PlanApplyParams:
    """hermes/planApply's params."""

    code: str = required("the reply's code block")
    path: str = required("the file it is applied to")
    text: str = required("the file's current text")
    range: LspRange | None = doc("the lines the block replaces (the editor's selection)")
    language: str | None = doc("the code block's language (diff, patch: applied as a unified diff)")


@dataclass
class PlanApplyResult:
    """hermes/planApply's result; the daemon writes nothing, the editor applies `text`."""

    mode: Literal["range", "diff", "file", "needsRange"] = required("how the block applies; needsRange: ask for a selection")
    path: str = required("the file")
    text: str | None = doc("the file's new text (absent for needsRange)")
    reason: str | None = doc("for needsRange: what the user should do")


@dataclass
class DoctorParams:
    """hermes/doctor's params."""

    providers: list[str] | None = doc("only these providers")
    probe: bool | None = doc("probe the catalogs (default true)")
    all: bool | None = doc("also list providers nobody set up (default: counted in one row)")
    work_done_token: int | str | None = doc("report $/progress under this token")


@dataclass
class DoctorCheck:
    """One check of hermes/doctor."""

    id: str = required("config, plugin:NAME, provider:NAME, ...")
    status: CheckStatus = required("ok, warn, fail or skip")
    summary: str = required("one line")
    hint: str | None = doc("what to do")
    provider: str | None = doc("the provider checked")


@dataclass
class DoctorResult:
    """hermes/doctor's result."""

    checks: list[DoctorCheck] = required("the checks, in order")


# -- inline completion (textDocument/inlineCompletion is LSP's own) ----------


@dataclass
class CompletionEventParams:
    """hermes/completionEvent's params: what became of a suggestion (send it as a notification)."""

    id: str = required("the suggestion's id: the argument of its item's command")
    event: Literal["shown", "accepted", "rejected"] = required("shown, accepted or rejected")


@dataclass
class CompletionStats:
    """Inline completion's counters for this connection (hermes/completionStats)."""

    requests: int = required("requests sent upstream")
    suggestions: int = required("suggestions returned (cache hits included)")
    cache_hits: int = required("answered from the cache, with no request")
    superseded: int = required("requests a newer keystroke replaced (their upstream stream closed)")
    refused: int = required("buffers not sent: the secret-file rule, or a hosted provider not opted in")
    errors: int = required("requests that failed (logged)")
    shown: int = required("suggestions the editor showed")
    accepted: int = required("suggestions the user accepted")
    rejected: int = required("suggestions the user dismissed")


# -- notifications -----------------------------------------------------------


@dataclass
class ConfigChanged:
    """hermes/configChanged's params: one key changed, by this daemon or on disk."""

    key: str = required("the key that changed")
    value: Any = field(default=None, metadata={"doc": "its new effective value", "nullable": True})
    label: str | None = doc("for model.default: the daemon's short label of the new model")


@dataclass
class ProvidersChanged:
    """hermes/providersChanged's params: list the providers again."""

    reason: str = required("plugins-changed")


# -- the method table --------------------------------------------------------


@dataclass(frozen=True)
class Method:
    """One row of the method table: the types a method's params parse into and its result is."""

    params: type
    result: type
    doc: str


METHODS: dict[str, Method] = {
    "hermes/listProviders": Method(ListProvidersParams, ListProvidersResult, "every provider and whether it is configured"),
    "hermes/listModels": Method(ListModelsParams, ListModelsResult, "one provider's models: live, cached or curated"),
    "hermes/listPicker": Method(ListPickerParams, ListPickerResult, "the model picker, display-ready"),
    "hermes/usageReport": Method(UsageReportParams, UsageReportResult, "tokens and cost by day, provider or model"),
    "hermes/selectModel": Method(SelectModelParams, SelectModelResult, "write provider, model (and score) in one atomic write"),
    "hermes/getConfig": Method(NoParams, GetConfigResult, "the effective configuration, secrets masked"),
    "hermes/setConfig": Method(SetConfigParams, SetConfigResult, "validate and write one key atomically"),
    "hermes/describeConfig": Method(NoParams, DescribeConfigResult, "every config key and its rule"),
    "hermes/newSession": Method(NewSessionParams, NewSessionResult, "a new conversation"),
    "hermes/chat": Method(ChatParams, ChatResult, "stream a reply as hermes/chatDelta; return the whole turn"),
    "hermes/cancel": Method(CancelParams, CancelResult, "stop a session's running chat"),
    "hermes/previewRequest": Method(ChatParams, PreviewResult, "exactly what hermes/chat would send, secrets masked"),
    "hermes/listSessions": Method(ListSessionsParams, ListSessionsResult, "saved conversations, newest first, a page at a time"),
    "hermes/planApply": Method(PlanApplyParams, PlanApplyResult, "what a reply's code block would make of a file; writes nothing"),
    "hermes/getSession": Method(GetSessionParams, GetSessionResult, "one conversation with its history"),
    "hermes/doctor": Method(DoctorParams, DoctorResult, "config, plugins, keys and catalog probes"),
    "hermes/completionEvent": Method(CompletionEventParams, CompletionStats,
                                     "a suggestion was shown, accepted or rejected (a notification; as a request: the counters)"),
    "hermes/completionStats": Method(NoParams, CompletionStats, "this connection's inline completion counters"),
}

NOTIFICATIONS: dict[str, type] = {
    "hermes/chatDelta": ChatDelta,
    "hermes/configChanged": ConfigChanged,
    "hermes/providersChanged": ProvidersChanged,
}


# -- converting --------------------------------------------------------------


def wire_name(name: str) -> str:
    """``session_id`` -> ``sessionId``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A type's field types, resolved once (every request is parsed through them)."""
    return typing.get_type_hints(cls)


@functools.cache
def _wire_fields(cls: type) -> tuple[tuple[str, str, bool], ...]:
    """A dataclass's fields as (name, wire name, None means absent), worked out once per type: every result
    and notification is converted through them."""
    return tuple((f.name, wire_name(f.name), not f.metadata.get("nullable") and f.default is not dataclasses.MISSING)
                 for f in dataclasses.fields(cls))


def to_wire(value: Any) -> Any:
    """A protocol object as JSON-ready data: camelCase names, absent fields omitted."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for name, wire, none_is_absent in _wire_fields(type(value)):
            item = getattr(value, name)
            if item is UNSET or (item is None and none_is_absent):
                continue
            out[wire] = to_wire(item)
        return out
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    return value


def parse(cls: type[Any], params: Any, where: str = "", *, strict: bool = False) -> Any:
    """``params`` as a ``cls``, or :class:`ParamsError` naming the field and its type.

    Unknown fields are ignored (a newer client may send more), unless
    ``strict`` (the tests check the daemon's own replies that way).
    """
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParamsError(f"`{where}` must be an object" if where else "params must be an object")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        name = wire_name(f.name)
        label = f"{where}.{name}" if where else name
        if name not in params:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ParamsError(f"`{label}` is required ({_describe(hints[f.name])})")
            continue
        kwargs[f.name] = _check(hints[f.name], params[name], label, bool(f.metadata.get("nullable")), strict)
    if strict:
        unknown = set(params) - {wire_name(f.name) for f in dataclasses.fields(cls)}
        if unknown:
            raise ParamsError(f"{where or cls.__name__} has fields the protocol does not define: {sorted(unknown)}")
    return cls(**kwargs)


def _check(tp: Any, value: Any, label: str, nullable: bool, strict: bool = False) -> Any:
    if value is None and (nullable or _allows_none(tp)):
        return None
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, _types.UnionType):
        options = [t for t in typing.get_args(tp) if t is not type(None)]
        if len(options) == 1:
            return _check(options[0], value, label, False, strict)
        for option in options:
            try:
                return _check(option, value, label, False, strict)
            except ParamsError:
                pass
        raise ParamsError(f"`{label}` must be {_describe(tp)}")
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ParamsError(f"`{label}` must be {_describe(tp)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ParamsError(f"`{label}` must be {_describe(tp)}")
        (item,) = typing.get_args(tp)
        return [_check(item, v, f"{label}[{i}]", False, strict) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"`{label}` must be an object")
        item = typing.get_args(tp)[1]
        return {k: _check(item, v, f"{label}.{k}", False, strict) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, label, strict=strict)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, tp) and not (tp is not bool and isinstance(value, bool)):
        return value
    raise ParamsError(f"`{label}` must be {_describe(tp)}")


def _allows_none(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, _types.UnionType) and type(None) in typing.get_args(tp)


_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, _types.UnionType):
        return " or ".join(_describe(t) for t in typing.get_args(tp) if t is not type(None))
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(v) for v in typing.get_args(tp))
    if origin is list:
        return "a list"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "an object"
    return _NAMES.get(tp, "a value")


# -- the generated files -----------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "docs" / "protocol.schema.json"
TS_PATH = ROOT / "editors" / "vscode" / "src" / "protocol.ts"


def _all_types() -> list[type]:
    seen: dict[type, None] = {HermesCapabilities: None}

    def visit(tp: Any) -> None:
        if dataclasses.is_dataclass(tp):
            if tp in seen:
                return
            seen[tp] = None
            for hint in _hints(tp).values():
                visit(hint)
        for arg in typing.get_args(tp):
            visit(arg)

    visit(HermesCapabilities)
    for method in METHODS.values():
        visit(method.params)
        visit(method.result)
    for note in NOTIFICATIONS.values():
        visit(note)
    visit(NeedsConfirmationData)  # an error's data, not a method's
    return list(seen)


def _schema_of(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if tp is Any:
        return {}
    if origin in (Union, _types.UnionType):
        options = [t for t in typing.get_args(tp) if t is not type(None)]
        return _schema_of(options[0]) if len(options) == 1 else {"anyOf": [_schema_of(t) for t in options]}
    if origin is Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin is list:
        return {"type": "array", "items": _schema_of(typing.get_args(tp)[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema_of(typing.get_args(tp)[1])}
    if dataclasses.is_dataclass(tp):
        return {"$ref": f"#/$defs/{tp.__name__}"}
    return {"type": {str: "string", int: "integer", float: "number", bool: "boolean"}[tp]}


def schema() -> dict[str, Any]:
    """The JSON Schema of every message, with the method table as ``x-`` keys."""
    defs: dict[str, Any] = {}
    for cls in _all_types():
        hints = _hints(cls)
        props: dict[str, Any] = {}
        required_names = []
        for f in dataclasses.fields(cls):
            prop = _schema_of(hints[f.name])
            if f.metadata.get("nullable") and prop:
                prop = {"anyOf": [prop, {"type": "null"}]}
            if f.metadata.get("doc"):
                prop = {**prop, "description": f.metadata["doc"]}
            props[wire_name(f.name)] = prop
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required_names.append(wire_name(f.name))
        entry: dict[str, Any] = {"type": "object", "properties": props}
        if required_names:
            entry["required"] = required_names
        if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
            entry["description"] = " ".join(cls.__doc__.split())
        defs[cls.__name__] = entry
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/hermesd/hermesd/docs/protocol.schema.json",
        "title": "hermesd protocol",
        "description": "Generated by `python -m hermesd.protocol --write` from hermesd/protocol.py; do not edit.",
        "x-protocolVersion": PROTOCOL_VERSION,
        "x-methods": {
            name: {"params": {"$ref": f"#/$defs/{m.params.__name__}"},
                   "result": {"$ref": f"#/$defs/{m.result.__name__}"}, "description": m.doc}
            for name, m in METHODS.items()
        },
        "x-notifications": {name: {"params": {"$ref": f"#/$defs/{cls.__name__}"}} for name, cls in NOTIFICATIONS.items()},
        "x-errorCodes": ERROR_CODES,
        "$defs": defs,
    }


def _ts_type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " | ".join(_ts_type(p) for p in prop["anyOf"])
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    kind = prop.get("type")
    if kind == "array":
        inner = _ts_type(prop["items"])
        return f"({inner})[]" if "|" in inner else f"{inner}[]"
    if kind == "object":
        return f"Record<string, {_ts_type(prop.get('additionalProperties', {}))}>"
    return {"string": "string", "integer": "number", "number": "number", "boolean": "boolean", "null": "null"}.get(kind, "unknown")


def typescript(spec: dict[str, Any] | None = None) -> str:
    """editors/vscode/src/protocol.ts, from the schema."""
    spec = spec or schema()
    lines = [
        "// Generated by `python -m hermesd.protocol --write` from hermesd/protocol.py; do not edit.",
        "// The protocol's prose is docs/protocol.md; its JSON Schema is docs/protocol.schema.json.",
        "/* eslint-disable */",
        "",
        f"export const PROTOCOL_VERSION = {spec['x-protocolVersion']};",
        "",
        "export const Methods = {",
        *(f"  {name.split('/', 1)[1]}: {json.dumps(name)}," for name in spec["x-methods"]),
        "} as const;",
        "",
        "export const Notifications = {",
        *(f"  {name.split('/', 1)[1]}: {json.dumps(name)}," for name in spec["x-notifications"]),
        "} as const;",
        "",
        "export const ErrorCodes = {",
        *(f"  {name}: {code}," for name, code in spec["x-errorCodes"].items()),
        "} as const;",
    ]
    for name, entry in spec["$defs"].items():
        lines.append("")
        if entry.get("description"):
            lines.append(f"/** {entry['description']} */")
        props = entry["properties"]
        if not props:
            lines.append(f"export type {name} = Record<string, never>;")
            continue
        lines.append(f"export interface {name} {{")
        for prop_name, prop in props.items():
            optional = "" if prop_name in entry.get("required", ()) else "?"
            if prop.get("description"):
                lines.append(f"  /** {prop['description']} */")
            lines.append(f"  {prop_name}{optional}: {_ts_type(prop)};")
        lines.append("}")
    lines.append("")
    return "\n".join(lines)


def generated() -> dict[Path, str]:
    """The generated files' paths and their content."""
    spec = schema()
    return {SCHEMA_PATH: json.dumps(spec, indent=2, ensure_ascii=False) + "\n", TS_PATH: typescript(spec)}


def main(argv: list[str]) -> int:
    """``--write`` regenerates the files; ``--check`` exits 1 naming a stale one."""
    stale = [path for path, text in generated().items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    if "--write" in argv:
        for path, text in generated().items():
            path.write_text(text, encoding="utf-8")
        return 0
    for path in stale:
        print(f"{path} is stale: run `python -m hermesd.protocol --write`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
