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

export interface ChatParams {
  sessionId?: string;
  message: string;
  provider?: string;
  model?: string;
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
