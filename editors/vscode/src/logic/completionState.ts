/**
 * Inline completion's one-line state for the status bar: on, off, snoozed,
 * not set up, server down, or the daemon's last error. Pure, so that what the
 * user reads is tested without VS Code. What to complete and when is the
 * daemon's: the only choices made here are the user's own switch and snooze.
 */

export const SNOOZE_MS = 5 * 60 * 1000;

export interface CompletionInputs {
  /** The user's switch: Toggle Inline Completion for this window, else `hermes.completion.enabled`. */
  enabled: boolean;
  /** Epoch ms until which completion is snoozed (0: not snoozed). */
  snoozedUntil: number;
  now: number;
  /** The connection: running, starting or stopped (with the client's reason). */
  server: { state: 'running' | 'starting' | 'stopped'; message?: string };
  /** The daemon registered `textDocument/inlineCompletion` with this window. */
  registered: boolean;
  /** The daemon's message for the last completion request that failed (cleared by the next success). */
  lastError?: string;
}

export type CompletionKind = 'on' | 'off' | 'snoozed' | 'unconfigured' | 'down' | 'error';

export interface CompletionLine {
  kind: CompletionKind;
  /** Status-bar text (a codicon and a word or two). */
  text: string;
  /** The one line that says what is going on and what to do. */
  tooltip: string;
  /** Requests go to the daemon only in this state. */
  active: boolean;
}

function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** The state line, most pressing reason first. */
export function completionLine(input: CompletionInputs): CompletionLine {
  if (!input.enabled) {
    return {
      kind: 'off',
      text: '$(circle-slash) Hermes',
      tooltip: 'Hermes completion is off in this window (Toggle Inline Completion, or hermes.completion.enabled). Click to turn it on.',
      active: false,
    };
  }
  if (input.snoozedUntil > input.now) {
    return {
      kind: 'snoozed',
      text: '$(clock) Hermes',
      tooltip: `Hermes completion is snoozed until ${clock(input.snoozedUntil)}. Click to resume or turn it off.`,
      active: false,
    };
  }
  if (input.server.state === 'stopped') {
    return {
      kind: 'down',
      text: '$(warning) Hermes',
      tooltip: `Hermes completion: the server is not running (${input.server.message ?? 'stopped'}).`,
      active: false,
    };
  }
  if (input.server.state === 'starting') {
    return { kind: 'down', text: '$(loading~spin) Hermes', tooltip: 'Hermes completion: hermesd is starting…', active: false };
  }
  if (!input.registered) {
    return {
      kind: 'unconfigured',
      text: '$(circle-outline) Hermes',
      tooltip:
        'Hermes completion is not set up: set completion.provider and completion.model (hermesd setup local, or Hermes: Run Doctor).',
      active: false,
    };
  }
  if (input.lastError) {
    return { kind: 'error', text: '$(error) Hermes', tooltip: `Hermes completion: ${input.lastError}`, active: true };
  }
  return {
    kind: 'on',
    text: '$(sparkle) Hermes',
    tooltip: 'Hermes completion is on: Tab accepts, Ctrl+Right accepts a word. Click to snooze or turn it off.',
    active: true,
  };
}
