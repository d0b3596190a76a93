/**
 * Types of the hermesd JSON-RPC protocol (docs/protocol.md), version 1.
 * Only what the extension uses; field names are the wire names.
 */

export const PROTOCOL_VERSION = 1;

export const Methods = {
  listProviders: 'hermes/listProviders',
  listModels: 'hermes/listModels',
  getConfig: 'hermes/getConfig',
  setConfig: 'hermes/setConfig',
  newSession: 'hermes/newSession',
  chat: 'hermes/chat',
  cancel: 'hermes/cancel',
  previewRequest: 'hermes/previewRequest',
  listSessions: 'hermes/listSessions',
  getSession: 'hermes/getSession',
  planApply: 'hermes/planApply',
  doctor: 'hermes/doctor',
} as const;

export const Notifications = {
  chatDelta: 'hermes/chatDelta',
  configChanged: 'hermes/configChanged',
  providersChanged: 'hermes/providersChanged',
} as const;

export interface ProviderInfo {
  name: string;
  displayName?: string;
  description?: string;
  aliases?: string[];
  apiMode?: string;
  authType?: string;
  baseUrl?: string;
  signupUrl?: string;
  keyEnvVars?: string[];
  configured: boolean;
  keyEnvVar?: string;
  source?: string;
}

export interface PluginError {
  plugin: string;
  path?: string;
  line?: number;
  message: string;
}

export interface CurrentModel {
  provider: string;
  model: string;
  /** The daemon's short form of `model` for narrow places (a path's file name, a long id shortened). */
  label?: string;
}

export interface ListProvidersResult {
  providers: ProviderInfo[];
  pluginErrors?: PluginError[];
  current: CurrentModel;
}

export interface ModelInfo {
  id: string;
  label?: string;
  description?: string;
  group?: string;
}

export interface ListModelsResult {
  provider: string;
  models: ModelInfo[];
  source: 'live' | 'cache' | 'fallback' | string;
  fetchedAt?: string;
  error?: string;
}

export interface GetConfigResult {
  path: string;
  config: Record<string, unknown>;
  defaults?: Record<string, unknown>;
  errors?: { message: string; line?: number }[];
}

export interface SetConfigParams {
  key: string;
  value: unknown;
  reset?: boolean;
}

export interface NewSessionResult {
  sessionId: string;
  provider: string;
  model: string;
}

export interface LspRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/** Context sent with a turn; the daemon checks, renders and saves it. */
export interface Attachment {
  kind: 'file' | 'selection' | 'diagnostics';
  path?: string;
  language?: string;
  range?: LspRange;
  text: string;
  /** The user said yes to sending a file the daemon flagged as possibly secret. */
  confirmed?: boolean;
}

/** -32004: attachments that may hold secrets; `data.attachments` lists them. */
export const NEEDS_CONFIRMATION = -32004;

export interface NeedsConfirmation {
  kind: 'needsConfirmation';
  attachments: { index: number; path: string; reason: string }[];
}

export interface ChatParams {
  sessionId?: string;
  message: string;
  provider?: string;
  model?: string;
  attachments?: Attachment[];
}

export interface SessionRow {
  sessionId: string;
  title: string;
  provider: string;
  model: string;
  updatedAt: string;
  messageCount: number;
  parentSessionId?: string;
}

export interface ListSessionsResult {
  sessions: SessionRow[];
  nextCursor?: string;
}

export interface SessionMessage {
  role: string;
  content: unknown;
  attachments?: Attachment[];
  model?: string;
  routedModel?: string;
  stopReason?: string;
  error?: ChatError;
}

export interface GetSessionResult {
  sessionId: string;
  provider: string;
  model: string;
  messages: SessionMessage[];
}

export interface PlanApplyResult {
  mode: 'range' | 'diff' | 'file' | 'needsRange';
  path: string;
  text?: string;
  reason?: string;
}

export type StopReason = 'end_turn' | 'max_tokens' | 'cancelled' | 'error';

export interface ChatError {
  kind: string;
  message: string;
  hint?: string;
  status?: number;
  retryAfter?: number;
}

export interface ChatResult {
  sessionId: string;
  text: string;
  reasoning?: string;
  provider?: string;
  model?: string;
  routedModel?: string;
  usage?: { inputTokens?: number; outputTokens?: number };
  stopReason: StopReason | string;
  error?: ChatError;
}

export interface ChatDelta {
  sessionId: string;
  requestId: number | string;
  seq: number;
  text?: string;
  reasoning?: string;
}

export interface ConfigChanged {
  key: string;
  value: unknown;
  /** For model.default: the daemon's short label of the new model. */
  label?: string;
}

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  id: string;
  status: CheckStatus | string;
  summary: string;
  hint?: string;
  provider?: string;
}

export interface DoctorResult {
  checks: DoctorCheck[];
}

/** The `capabilities.experimental.hermes` block of the initialize result. */
export interface HermesCapabilities {
  protocolVersion?: number;
  methods?: string[];
}

/** The id of the Pareto Code router, always listed first by OpenRouter. */
export const PARETO_MODEL_ID = 'openrouter/pareto-code';
export const MIN_SCORE_KEY = 'openrouter.min_coding_score';
