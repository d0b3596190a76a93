/**
 * The chat transcript as the extension keeps it and the webview draws it,
 * and the messages exchanged with the webview. Shared by both bundles.
 */

export interface EntryError {
  kind: string;
  message: string;
  hint?: string;
  /** The daemon's error says the message may be sent again (`data.retryable`): the block offers Retry. */
  retryable?: boolean;
}

export interface ChatEntry {
  id: number;
  role: 'user' | 'assistant';
  text: string;
  reasoning?: string;
  /** The reply is still streaming. */
  streaming?: boolean;
  provider?: string;
  model?: string;
  /** The daemon's short label for `model` (a path's file name), when it differs. */
  modelLabel?: string;
  /** The model a router (Pareto Code) sent the request to. */
  routedModel?: string;
  stopReason?: string;
  /** The daemon's display-ready reason the reply ended early (interrupted, or cancelled as it stopped). */
  notice?: string;
  /** The daemon marked this saved reply retryable (it never ended: interrupted): it offers Retry. */
  retryable?: boolean;
  error?: EntryError;
  /** Tokens, cost and context of the reply; `footer` is the daemon's display-ready line for under it. */
  usage?: { inputTokens?: number; outputTokens?: number; footer?: string; context?: string };
  /** Labels of the context sent with a user message. */
  attachments?: string[];
}

/** A piece of context waiting to go with the next message. */
export interface Chip {
  id: number;
  label: string;
  /** "1.2 KB". */
  size: string;
  title?: string;
}

export interface HeaderInfo {
  /** "openrouter · openrouter/pareto-code". */
  model: string;
  /** What the daemon shows beside the model (`current.detail`), if anything. */
  detail?: string;
}

/** The session's usage as the view shows it: the daemon's words (`UsageTotals.label`, `Usage.context`). */
export interface SessionMeter {
  /** "2 replies · 1,234 in / 210 out · $0.0053". */
  total?: string;
  /** "$0.0053": the status bar's text. */
  cost?: string;
  /** "context 1,444 / 200,000 (1%), summary at 32,000". */
  context?: string;
}

export type ServerStatus =
  | { state: 'starting' }
  | { state: 'running'; version?: string }
  | { state: 'stopped'; message: string; notFound?: boolean };

export interface ViewState {
  entries: ChatEntry[];
  busy: boolean;
  header: HeaderInfo;
  server: ServerStatus;
  chips: Chip[];
  meter?: SessionMeter;
}

/** Extension → webview. */
export type ToWebview =
  | { type: 'state'; state: ViewState }
  | { type: 'entry'; entry: ChatEntry }
  | { type: 'append'; id: number; text: string; reasoning: string }
  | { type: 'busy'; busy: boolean }
  | { type: 'header'; header: HeaderInfo }
  | { type: 'server'; server: ServerStatus }
  | { type: 'chips'; chips: Chip[] }
  | { type: 'meter'; meter: SessionMeter }
  | { type: 'focusInput' };

export type ContextKind = 'file' | 'editors' | 'problems';

/** Webview → extension. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'send'; text: string }
  | { type: 'stop' }
  | { type: 'retry' }
  | { type: 'newChat' }
  | { type: 'copy'; text: string }
  | { type: 'insert'; text: string }
  | { type: 'apply'; text: string; language: string }
  | { type: 'addContext'; what: ContextKind }
  | { type: 'removeChip'; id: number }
  | { type: 'preview'; text: string }
  | { type: 'command'; command: WebviewCommand };

/** Extension commands the webview may run: exactly the view's buttons (anything else it posts is dropped). */
export const WEBVIEW_COMMANDS = [
  'hermes.selectModel',
  'hermes.runDoctor',
  'hermes.restartServer',
  'hermes.showLogs',
  'hermes.openConversation',
  'hermes.setServerPath',
] as const;
export type WebviewCommand = (typeof WEBVIEW_COMMANDS)[number];

export function isFromWebview(value: unknown): value is FromWebview {
  if (!value || typeof value !== 'object') {
    return false;
  }
  const msg = value as Record<string, unknown>;
  switch (msg.type) {
    case 'ready':
    case 'stop':
    case 'retry':
    case 'newChat':
      return true;
    case 'send':
    case 'copy':
    case 'insert':
    case 'preview':
      return typeof msg.text === 'string';
    case 'apply':
      return typeof msg.text === 'string' && typeof msg.language === 'string';
    case 'addContext':
      return msg.what === 'file' || msg.what === 'editors' || msg.what === 'problems';
    case 'removeChip':
      return typeof msg.id === 'number';
    case 'command':
      return (WEBVIEW_COMMANDS as readonly string[]).includes(msg.command as string);
    default:
      return false;
  }
}
