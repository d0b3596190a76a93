/**
 * One chat conversation: creates the daemon session, sends messages, folds the
 * streamed deltas into the transcript, stops and resets. Talks to the daemon
 * through the small ChatApi interface, so it has no vscode import and is
 * unit-tested with a fake daemon.
 */
import {
  Attachment,
  ChatDelta,
  ChatParams,
  ChatResult,
  CurrentModel,
  ErrorCodes,
  GetSessionResult,
  LspRange,
  NeedsConfirmationData,
  NewSessionResult,
} from '../protocol';
import { ChatEntry, Chip, EntryError, SessionMeter } from './chatTypes';

export interface ChatApi {
  newSession(): Promise<NewSessionResult>;
  chat(params: ChatParams): Promise<ChatResult>;
  cancel(sessionId: string): Promise<unknown>;
  /** Asks the user about attachments the daemon flagged (-32004); true sends them. */
  confirm?(found: NeedsConfirmationData['attachments']): Promise<boolean>;
  /** Values in config.yaml a chat ignored (the daemon's lines, defaults used): the user is told. */
  warnConfig?(warnings: string[]): void;
}

/** The selection a conversation carried: where "Apply…" puts a block by default. */
export interface CarriedRange {
  path: string;
  range: LspRange;
}

export function attachmentLabel(a: Attachment): string {
  const name = a.path ? a.path.split(/[\\/]/).pop() || a.path : a.kind;
  const lines = a.range ? `:${a.range.start.line + 1}-${a.range.end.line + 1}` : '';
  return a.kind === 'diagnostics' ? `problems: ${name}${lines}` : `${name}${lines}`;
}

export function formatSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') {
    return content;
  }
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('');
  }
  return '';
}

export type ChatEvent =
  | { type: 'reset' }
  | { type: 'chips'; chips: Chip[] }
  | { type: 'entry'; entry: ChatEntry }
  | { type: 'append'; id: number; text: string; reasoning: string }
  | { type: 'busy'; busy: boolean }
  | { type: 'meter'; meter: SessionMeter };

interface Running {
  entry: ChatEntry;
  sessionId?: string;
  generation: number;
  stopRequested: boolean;
}

/** hermes/chat's -32602 "unknown session 's-…'" error. */
export function isUnknownSession(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  return e?.code === -32602 && typeof e.message === 'string' && /unknown session/i.test(e.message);
}

/** Turns whatever a failed request threw into an inline error. */
export function toEntryError(err: unknown): EntryError {
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; code?: unknown; hint?: unknown; data?: { retryable?: unknown } };
    const message = typeof e.message === 'string' && e.message ? e.message : String(err);
    const hint = typeof e.hint === 'string' ? e.hint : undefined;
    if (e.code === -32800) {
      return { kind: 'cancelled', message: 'The request was cancelled.' };
    }
    const error: EntryError = { kind: typeof e.code === 'number' ? `rpc ${e.code}` : 'request', message, hint };
    if (e.data?.retryable === true) {
      error.retryable = true;
    }
    return error;
  }
  return { kind: 'request', message: String(err) };
}

export class ChatController {
  private entries: ChatEntry[] = [];
  private sessionId: string | undefined;
  private running: Running | undefined;
  private nextId = 1;
  private generation = 0;
  private pending: { id: number; attachment: Attachment }[] = [];
  /** The last message and its context, while its reply's error (or the daemon's mark on a saved reply) says it may be sent again. */
  private retryable: { text: string; attachments: Attachment[] } | undefined;
  private carried: CarriedRange | undefined;
  /** The model chosen for this conversation (hermes/selectModel with its sessionId): kept when the default changes. */
  private chosen: CurrentModel | undefined;
  /** The session's total and context meter, as the daemon worded them with its last reply (or on reopening). */
  private sessionMeter: SessionMeter = {};

  constructor(
    private readonly api: ChatApi,
    private readonly listener: (event: ChatEvent) => void,
    /** The model to use for the next message; empty fields are not sent. */
    private readonly currentModel: () => CurrentModel | undefined = () => undefined,
  ) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  get session(): string | undefined {
    return this.sessionId;
  }

  /** The model this conversation uses when it has one of its own; otherwise it follows the default. */
  get chosenModel(): CurrentModel | undefined {
    return this.chosen;
  }

  /** The daemon switched this conversation (hermes/selectModel's result with scope "session"). */
  chooseModel(current: CurrentModel): void {
    this.chosen = current;
  }

  /** The model the next message goes to: the conversation's own, else the default. */
  nextModel(): CurrentModel | undefined {
    return this.chosen ?? this.currentModel();
  }

  get meter(): SessionMeter {
    return { ...this.sessionMeter };
  }

  private setMeter(meter: SessionMeter): void {
    this.sessionMeter = meter;
    this.listener({ type: 'meter', meter: { ...meter } });
  }

  snapshot(): ChatEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  /** The context chips waiting for the next message. */
  chips(): Chip[] {
    return this.pending.map(({ id, attachment }) => ({
      id,
      label: attachmentLabel(attachment),
      size: formatSize(byteLength(attachment.text)),
      title: attachment.path,
    }));
  }

  /** Adds context for the next message; the same file (and kind and range) is replaced, not doubled. */
  addAttachments(attachments: Attachment[]): void {
    for (const attachment of attachments) {
      const same = (a: Attachment) => a.kind === attachment.kind && a.path === attachment.path && JSON.stringify(a.range) === JSON.stringify(attachment.range);
      this.pending = this.pending.filter((p) => !same(p.attachment));
      this.pending.push({ id: this.nextId++, attachment });
    }
    this.listener({ type: 'chips', chips: this.chips() });
  }

  removeAttachment(id: number): void {
    this.pending = this.pending.filter((p) => p.id !== id);
    this.listener({ type: 'chips', chips: this.chips() });
  }

  /** What the next message would carry (for hermes/previewRequest). */
  get attachments(): Attachment[] {
    return this.pending.map((p) => p.attachment);
  }

  /** Remembers the selection the conversation is about (Ask About Selection). */
  noteRange(carried: CarriedRange): void {
    this.carried = carried;
  }

  get carriedRange(): CarriedRange | undefined {
    return this.carried;
  }

  /** Shows a saved conversation; the next message continues it. */
  load(session: GetSessionResult): void {
    this.reset();
    this.sessionId = session.sessionId;
    if (session.modelChosen) {
      this.chosen = { provider: session.provider, model: session.model, label: session.modelLabel ?? '' };
    }
    let asked: { text: string; attachments: Attachment[] } | undefined;
    for (const m of session.messages) {
      if (m.role !== 'user' && m.role !== 'assistant') {
        continue;
      }
      const entry: ChatEntry = { id: this.nextId++, role: m.role, text: contentText(m.content) };
      if (m.role === 'user') {
        asked = { text: entry.text, attachments: (m.attachments ?? []).map((a) => ({ ...a })) };
      } else {
        Object.assign(entry, {
          model: m.model,
          modelLabel: m.modelLabel, // the daemon's short label (a path's file name), shown in place of the id
          routedModel: m.routedModel,
          stopReason: m.stopReason,
          notice: m.notice,
          usage: m.usage,
        });
        if (m.error) {
          entry.error = { kind: m.error.kind, message: m.error.message, hint: m.error.hint };
        }
        if (m.retryable === true && asked) {
          // The daemon's mark: this reply never ended; Retry sends the message before it again.
          entry.retryable = true;
          this.retryable = asked;
        }
      }
      if (m.attachments?.length) {
        entry.attachments = m.attachments.map(attachmentLabel);
        const selection = m.attachments.find((a) => a.kind === 'selection' && a.path && a.range);
        if (selection) {
          this.carried = { path: selection.path!, range: selection.range! };
        }
      }
      this.entries.push(entry);
    }
    const last = [...session.messages].reverse().find((m) => m.usage?.context);
    this.sessionMeter = { total: session.usage?.label, cost: session.usage?.costText, context: last?.usage?.context };
    this.listener({ type: 'reset' });
  }

  /** Sends again the message whose reply failed with a retryable error (the daemon restarted). */
  async retry(): Promise<ChatEntry | undefined> {
    const again = this.retryable;
    if (!again || this.running) {
      return undefined;
    }
    return this.send(again.text, again.attachments);
  }

  /** Sends a user message and resolves when the reply has ended. */
  async send(text: string, retrying?: Attachment[]): Promise<ChatEntry | undefined> {
    const message = text.trim();
    if (!message || this.running) {
      return undefined;
    }
    const generation = this.generation;
    const attachments = retrying ?? this.pending.map((p) => ({ ...p.attachment }));
    this.retryable = undefined;
    for (const old of this.entries.filter((e) => e.retryable)) {
      delete old.retryable; // sent again (or the conversation went on): its Retry is spent
      this.listener({ type: 'entry', entry: { ...old } });
    }
    const user: ChatEntry = { id: this.nextId++, role: 'user', text: message };
    if (attachments.length) {
      user.attachments = attachments.map(attachmentLabel);
      const selection = attachments.find((a) => a.kind === 'selection' && a.path && a.range);
      if (selection) {
        this.carried = { path: selection.path!, range: selection.range! };
      }
    }
    const reply: ChatEntry = { id: this.nextId++, role: 'assistant', text: '', streaming: true };
    this.entries.push(user, reply);
    const running: Running = { entry: reply, generation, stopRequested: false };
    this.running = running;
    this.listener({ type: 'entry', entry: { ...user } });
    this.listener({ type: 'entry', entry: { ...reply } });
    this.listener({ type: 'busy', busy: true });

    try {
      if (!this.sessionId) {
        const session = await this.api.newSession();
        if (generation !== this.generation) {
          return undefined;
        }
        this.sessionId = session.sessionId;
      }
      running.sessionId = this.sessionId;
      if (running.stopRequested) {
        // Stop was pressed while the session was being created.
        this.finish(reply, { stopReason: 'cancelled' });
        return { ...reply };
      }
      const params: ChatParams = { sessionId: this.sessionId, message };
      const current = this.nextModel();
      if (current?.provider && current.model) {
        params.provider = current.provider;
        params.model = current.model;
      }
      if (attachments.length) {
        params.attachments = attachments;
      }
      let result: ChatResult;
      try {
        result = await this.chatConfirming(params);
      } catch (err) {
        if (!isUnknownSession(err) || generation !== this.generation) {
          throw err;
        }
        // The daemon no longer knows the session (its data was removed):
        // carry on in a new one rather than failing the message.
        const session = await this.api.newSession();
        if (generation !== this.generation) {
          return undefined;
        }
        this.sessionId = session.sessionId;
        running.sessionId = session.sessionId;
        result = await this.api.chat({ ...params, sessionId: session.sessionId });
      }
      if (result.configWarnings?.length) {
        this.api.warnConfig?.(result.configWarnings);
      }
      if (generation !== this.generation) {
        return undefined;
      }
      if (attachments.length) {
        // Sent (and saved with the turn): the chips are done.
        this.pending = [];
        this.listener({ type: 'chips', chips: [] });
      }
      if (result.sessionUsage || result.usage?.context) {
        this.setMeter({ total: result.sessionUsage?.label, cost: result.sessionUsage?.costText, context: result.usage?.context });
      }
      this.finish(reply, {
        text: result.text ?? reply.text,
        reasoning: result.reasoning || reply.reasoning,
        provider: result.provider,
        model: result.model,
        modelLabel: result.modelLabel,
        routedModel: result.routedModel,
        stopReason: result.stopReason,
        notice: result.notice,
        usage: result.usage,
        error: result.error
          ? { kind: result.error.kind, message: result.error.message, hint: result.error.hint }
          : undefined,
      });
    } catch (err) {
      if (generation !== this.generation) {
        return undefined;
      }
      const error = toEntryError(err);
      if (error.retryable) {
        this.retryable = { text: message, attachments: attachments.map((a) => ({ ...a })) };
      }
      this.finish(reply, {
        stopReason: error.kind === 'cancelled' ? 'cancelled' : 'error',
        error: error.kind === 'cancelled' ? undefined : error,
      });
    }
    return { ...reply };
  }

  /** hermes/chat; attachments the daemon flags as possibly secret are sent only after the user says yes. */
  private async chatConfirming(params: ChatParams): Promise<ChatResult> {
    try {
      return await this.api.chat(params);
    } catch (err) {
      const e = err as { code?: unknown; data?: NeedsConfirmationData } | undefined;
      if (e?.code !== ErrorCodes.needsConfirmation || !params.attachments || !e.data?.attachments || !this.api.confirm) {
        throw err;
      }
      if (!(await this.api.confirm(e.data.attachments))) {
        throw { code: 'declined', message: 'Not sent: you declined to send the flagged files. Remove their chips and send again.' };
      }
      const confirmed = params.attachments.map((a, i) => (e.data!.attachments.some((f) => f.index === i) ? { ...a, confirmed: true } : a));
      return this.api.chat({ ...params, attachments: confirmed });
    }
  }

  private finish(entry: ChatEntry, fields: Partial<ChatEntry>): void {
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) {
        (entry as unknown as Record<string, unknown>)[key] = value;
      }
    }
    entry.streaming = false;
    this.running = undefined;
    this.listener({ type: 'entry', entry: { ...entry } });
    this.listener({ type: 'busy', busy: false });
  }

  /**
   * Routes a hermes/chatDelta notification; ignores other sessions'. The
   * daemon sends a request's deltas in seq order (docs/protocol.md), so each
   * is appended as it comes.
   */
  onDelta(delta: ChatDelta): void {
    const running = this.running;
    if (!running || !running.sessionId || delta.sessionId !== running.sessionId) {
      return;
    }
    const text = delta.text ?? '';
    const reasoning = delta.reasoning ?? '';
    if (!text && !reasoning) {
      return;
    }
    running.entry.text += text;
    if (reasoning) {
      running.entry.reasoning = (running.entry.reasoning ?? '') + reasoning;
    }
    this.listener({ type: 'append', id: running.entry.id, text, reasoning });
  }

  /** Asks the daemon to stop the running reply (hermes/cancel). */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) {
      return;
    }
    running.stopRequested = true;
    if (running.sessionId) {
      await this.api.cancel(running.sessionId);
    }
  }

  /** Forgets the conversation; a running reply is cancelled. */
  reset(): void {
    const running = this.running;
    if (running?.sessionId) {
      this.api.cancel(running.sessionId).catch(() => undefined);
    }
    this.generation += 1;
    this.running = undefined;
    this.retryable = undefined;
    this.sessionId = undefined;
    this.chosen = undefined;
    this.entries = [];
    this.carried = undefined;
    this.sessionMeter = {};
    this.listener({ type: 'reset' });
    this.listener({ type: 'busy', busy: false });
  }

  /**
   * The daemon went away: a running reply cannot finish. The session stays:
   * hermesd keeps sessions on disk, so the conversation goes on after a
   * restart (and send() starts a new one if the daemon forgot it).
   */
  serverLost(message: string): void {
    const running = this.running;
    if (running) {
      this.generation += 1;
      this.finish(running.entry, { stopReason: 'error', error: { kind: 'server', message } });
    }
  }
}
