/**
 * One chat conversation: creates the daemon session, sends messages, folds the
 * streamed deltas into the transcript, stops and resets. Talks to the daemon
 * through the small ChatApi interface, so it has no vscode import and is
 * unit-tested with a fake daemon.
 */
import { ChatDelta, ChatParams, ChatResult, CurrentModel, NewSessionResult } from '../protocol';
import { ChatEntry, EntryError } from './chatTypes';

export interface ChatApi {
  newSession(): Promise<NewSessionResult>;
  chat(params: ChatParams): Promise<ChatResult>;
  cancel(sessionId: string): Promise<unknown>;
}

export type ChatEvent =
  | { type: 'reset' }
  | { type: 'entry'; entry: ChatEntry }
  | { type: 'append'; id: number; text: string; reasoning: string }
  | { type: 'busy'; busy: boolean };

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
    const e = err as { message?: unknown; code?: unknown; hint?: unknown };
    const message = typeof e.message === 'string' && e.message ? e.message : String(err);
    const hint = typeof e.hint === 'string' ? e.hint : undefined;
    if (e.code === -32800) {
      return { kind: 'cancelled', message: 'The request was cancelled.' };
    }
    return { kind: typeof e.code === 'number' ? `rpc ${e.code}` : 'request', message, hint };
  }
  return { kind: 'request', message: String(err) };
}

export class ChatController {
  private entries: ChatEntry[] = [];
  private sessionId: string | undefined;
  private running: Running | undefined;
  private nextId = 1;
  private generation = 0;

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

  snapshot(): ChatEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  /** Sends a user message and resolves when the reply has ended. */
  async send(text: string): Promise<ChatEntry | undefined> {
    const message = text.trim();
    if (!message || this.running) {
      return undefined;
    }
    const generation = this.generation;
    const user: ChatEntry = { id: this.nextId++, role: 'user', text: message };
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
      const current = this.currentModel();
      if (current?.provider && current.model) {
        params.provider = current.provider;
        params.model = current.model;
      }
      let result: ChatResult;
      try {
        result = await this.api.chat(params);
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
      if (generation !== this.generation) {
        return undefined;
      }
      this.finish(reply, {
        text: result.text ?? reply.text,
        reasoning: result.reasoning || reply.reasoning,
        provider: result.provider,
        model: result.model,
        routedModel: result.routedModel,
        stopReason: result.stopReason,
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
      this.finish(reply, {
        stopReason: error.kind === 'cancelled' ? 'cancelled' : 'error',
        error: error.kind === 'cancelled' ? undefined : error,
      });
    }
    return { ...reply };
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
    this.sessionId = undefined;
    this.entries = [];
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
