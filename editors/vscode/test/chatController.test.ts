import { describe, expect, it, vi } from 'vitest';
import { ChatApi, ChatController, ChatEvent, toEntryError } from '../src/logic/chatController';
import { ChatParams, ChatResult, GetSessionResult, NewSessionResult } from '../src/protocol';

/** A fake daemon whose chat replies are released by the test. */
function fakeDaemon() {
  const chats: { params: ChatParams; resolve: (r: ChatResult) => void; reject: (e: unknown) => void }[] = [];
  let sessions = 0;
  const api: ChatApi & { cancel: ReturnType<typeof vi.fn> } = {
    newSession: vi.fn(async () => ({ sessionId: `s-${++sessions}`, provider: 'openrouter', model: 'openrouter/pareto-code' })),
    chat: vi.fn(
      (params: ChatParams) =>
        new Promise<ChatResult>((resolve, reject) => {
          chats.push({ params, resolve, reject });
        }),
    ),
    cancel: vi.fn(async () => ({ cancelled: true })),
  };
  return { api, chats };
}

function setup(current = { provider: 'openrouter', model: 'openrouter/pareto-code', label: 'openrouter/pareto-code' }) {
  const daemon = fakeDaemon();
  const events: ChatEvent[] = [];
  const controller = new ChatController(daemon.api, (e) => events.push(e), () => current);
  return { ...daemon, events, controller };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** A saved session of these messages, as hermes/getSession returns it. */
const saved = (messages: GetSessionResult['messages']): GetSessionResult => ({
  sessionId: 's-old',
  provider: 'openrouter',
  model: 'openrouter/pareto-code',
  messages,
});

describe('ChatController', () => {
  it("keeps the session's total and context meter in the daemon's words, and forgets them with the conversation", async () => {
    const { chats, events, controller } = setup();
    const done = controller.send('hello');
    await tick();
    chats[0].resolve({
      sessionId: 's-1',
      text: 'Hi',
      stopReason: 'end_turn',
      usage: { inputTokens: 10, outputTokens: 2, footer: 'pareto-code · 10 in / 2 out · $0.0042', context: 'context 12' },
      sessionUsage: {
        replies: 1, inputTokens: 10, outputTokens: 2, costUsd: 0.0042, estimatedReplies: 0, unknownReplies: 0,
        label: '1 reply · 10 in / 2 out · $0.0042', costText: '$0.0042',
      },
    });
    await done;
    const meter = { total: '1 reply · 10 in / 2 out · $0.0042', cost: '$0.0042', context: 'context 12' };
    expect(events.filter((e) => e.type === 'meter')).toEqual([{ type: 'meter', meter }]);
    expect(controller.meter).toEqual(meter);
    expect(controller.snapshot()[1].usage?.footer).toBe('pareto-code · 10 in / 2 out · $0.0042');
    controller.reset();
    expect(controller.meter).toEqual({});
    controller.load({
      ...saved([
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a', usage: { costSource: 'unknown', footer: 'm · cost unknown' } },
      ]),
      usage: { replies: 1, inputTokens: 0, outputTokens: 0, costUsd: 0, estimatedReplies: 0, unknownReplies: 1,
               label: '1 reply · 0 in / 0 out · cost unknown', costText: 'cost unknown' },
    });
    expect(controller.meter).toEqual({ total: '1 reply · 0 in / 0 out · cost unknown', cost: 'cost unknown', context: undefined });
    expect(controller.snapshot()[1].usage?.footer).toBe('m · cost unknown');
  });


  it('creates a session, streams deltas, and ends with the result', async () => {
    const { api, chats, events, controller } = setup();
    const done = controller.send('  hello  ');
    await tick();
    expect(api.newSession).toHaveBeenCalledTimes(1);
    expect(chats[0].params).toEqual({ sessionId: 's-1', message: 'hello', provider: 'openrouter', model: 'openrouter/pareto-code' });
    expect(controller.busy).toBe(true);

    controller.onDelta({ sessionId: 's-1', requestId: 3, seq: 0, text: 'Hi ' });
    controller.onDelta({ sessionId: 'other', requestId: 9, seq: 0, text: 'not mine' });
    controller.onDelta({ sessionId: 's-1', requestId: 3, seq: 1, text: 'there' });
    controller.onDelta({ sessionId: 's-1', requestId: 3, seq: 2, text: '!' });
    const appends = events.filter((e) => e.type === 'append');
    expect(appends.map((e) => (e as { text: string }).text)).toEqual(['Hi ', 'there', '!']);

    chats[0].resolve({
      sessionId: 's-1',
      text: 'Hi there!',
      provider: 'openrouter',
      model: 'openrouter/pareto-code',
      routedModel: 'qwen/qwen3-coder',
      stopReason: 'end_turn',
      usage: { inputTokens: 5, outputTokens: 3 },
    });
    const reply = await done;
    expect(reply).toMatchObject({ role: 'assistant', text: 'Hi there!', routedModel: 'qwen/qwen3-coder', streaming: false });
    expect(controller.busy).toBe(false);
    expect(controller.snapshot().map((e) => [e.role, e.text])).toEqual([
      ['user', 'hello'],
      ['assistant', 'Hi there!'],
    ]);
    expect(events.at(-1)).toEqual({ type: 'busy', busy: false });
  });

  it('reuses the session for the next message', async () => {
    const { api, chats, controller } = setup();
    const first = controller.send('one');
    await tick();
    chats[0].resolve({ sessionId: 's-1', text: 'a', stopReason: 'end_turn' });
    await first;
    const second = controller.send('two');
    await tick();
    expect(api.newSession).toHaveBeenCalledTimes(1);
    expect(chats[1].params.sessionId).toBe('s-1');
    chats[1].resolve({ sessionId: 's-1', text: 'b', stopReason: 'end_turn' });
    await second;
  });

  it('ignores empty messages and sends while busy', async () => {
    const { api, controller } = setup();
    expect(await controller.send('   ')).toBeUndefined();
    void controller.send('one');
    expect(await controller.send('two')).toBeUndefined();
    await tick();
    expect(api.chat).toHaveBeenCalledTimes(1);
  });

  it('does not send provider/model when none is configured', async () => {
    const { chats, controller } = setup({ provider: '', model: '', label: '' });
    void controller.send('x');
    await tick();
    expect(chats[0].params).toEqual({ sessionId: 's-1', message: 'x' });
  });

  it('stops with hermes/cancel and keeps the partial text', async () => {
    const { api, chats, controller } = setup();
    const done = controller.send('long');
    await tick();
    controller.onDelta({ sessionId: 's-1', requestId: 1, seq: 0, text: 'partial' });
    await controller.stop();
    expect(api.cancel).toHaveBeenCalledWith('s-1');
    chats[0].resolve({ sessionId: 's-1', text: 'partial', stopReason: 'cancelled' });
    expect(await done).toMatchObject({ text: 'partial', stopReason: 'cancelled', streaming: false });
  });

  it('shows an upstream error inline with the daemon hint', async () => {
    const { chats, controller } = setup();
    const done = controller.send('x');
    await tick();
    chats[0].resolve({
      sessionId: 's-1',
      text: '',
      stopReason: 'error',
      error: { kind: 'auth', message: 'key rejected (401)', hint: 'set OPENROUTER_API_KEY', status: 401 },
    });
    expect(await done).toMatchObject({ stopReason: 'error', error: { kind: 'auth', hint: 'set OPENROUTER_API_KEY' } });
  });

  it('turns a JSON-RPC error into an inline error', async () => {
    const { chats, controller } = setup();
    const done = controller.send('x');
    await tick();
    chats[0].reject(Object.assign(new Error('message over the size limit'), { code: -32602 }));
    expect(await done).toMatchObject({ stopReason: 'error', error: { kind: 'rpc -32602', message: 'message over the size limit' } });
  });

  it('reports a failure to create the session', async () => {
    const { api, controller } = setup();
    api.newSession = vi.fn(async () => {
      throw Object.assign(new Error('hermesd is not running.'), { hint: 'Run "Hermes: Restart Server"' });
    });
    expect(await controller.send('x')).toMatchObject({
      stopReason: 'error',
      error: { message: 'hermesd is not running.', hint: 'Run "Hermes: Restart Server"' },
    });
    expect(controller.busy).toBe(false);
  });

  it('reset cancels a running reply and forgets the session', async () => {
    const { api, chats, events, controller } = setup();
    const done = controller.send('x');
    await tick();
    controller.reset();
    expect(api.cancel).toHaveBeenCalledWith('s-1');
    expect(controller.snapshot()).toEqual([]);
    expect(controller.busy).toBe(false);
    chats[0].resolve({ sessionId: 's-1', text: 'late', stopReason: 'cancelled' });
    expect(await done).toBeUndefined();
    expect(controller.snapshot()).toEqual([]);
    expect(events.some((e) => e.type === 'reset')).toBe(true);
    void controller.send('y');
    await tick();
    expect(chats[1].params.sessionId).toBe('s-2');
  });

  it('stop pressed before the session exists cancels without sending', async () => {
    const { api, controller } = setup();
    let release!: () => void;
    api.newSession = vi.fn(
      () => new Promise<NewSessionResult>((resolve) => (release = () => resolve({ sessionId: 's-9', provider: '', model: '' }))),
    );
    const done = controller.send('x');
    await controller.stop();
    release();
    expect(await done).toMatchObject({ stopReason: 'cancelled' });
    expect(api.chat).not.toHaveBeenCalled();
  });

  it('ends a running reply when the server is lost', async () => {
    const { chats, controller } = setup();
    const done = controller.send('x');
    await tick();
    controller.serverLost('hermesd stopped unexpectedly');
    expect(controller.busy).toBe(false);
    expect(controller.snapshot()[1]).toMatchObject({ error: { kind: 'server', message: 'hermesd stopped unexpectedly' } });
    expect(controller.session).toBe('s-1'); // hermesd keeps sessions on disk
    chats[0].reject(new Error('Connection got disposed.'));
    expect(await done).toBeUndefined();
    expect(controller.snapshot()[1].error?.message).toBe('hermesd stopped unexpectedly');
  });

  it('starts a new session when the daemon has forgotten the old one', async () => {
    const { api, chats, controller } = setup();
    const first = controller.send('one');
    await tick();
    chats[0].resolve({ sessionId: 's-1', text: 'a', stopReason: 'end_turn' });
    await first;
    const second = controller.send('two');
    await tick();
    chats[1].reject(Object.assign(new Error("unknown session 's-1'; start one with hermes/newSession"), { code: -32602 }));
    await tick();
    expect(api.newSession).toHaveBeenCalledTimes(2);
    expect(chats[2].params).toMatchObject({ sessionId: 's-2', message: 'two' });
    controller.onDelta({ sessionId: 's-2', requestId: 5, seq: 0, text: 'b' });
    chats[2].resolve({ sessionId: 's-2', text: 'b', stopReason: 'end_turn' });
    expect(await second).toMatchObject({ text: 'b', stopReason: 'end_turn' });
    expect(controller.session).toBe('s-2');
  });

  it('does not retry other invalid-params errors', async () => {
    const { api, chats, controller } = setup();
    const done = controller.send('x');
    await tick();
    chats[0].reject(Object.assign(new Error('message: over the size limit of 1 MiB'), { code: -32602 }));
    expect(await done).toMatchObject({ stopReason: 'error' });
    expect(api.newSession).toHaveBeenCalledTimes(1);
  });
});

describe('ChatController context and history', () => {
  const file = { kind: 'file' as const, path: '/w/fib.py', language: 'python', text: 'def fib(n):\n    pass\n' };
  const env = { kind: 'file' as const, path: '/w/.env', text: 'TOKEN=x\n' };

  it('sends chips with the next message, once, and shows them on it', async () => {
    const { chats, events, controller } = setup();
    controller.addAttachments([file, env]);
    controller.addAttachments([file]); // the same file again replaces it
    expect(controller.chips().map((c) => [c.label, c.size])).toEqual([['.env', '8 B'], ['fib.py', '21 B']]);
    controller.removeAttachment(controller.chips()[0].id);
    const done = controller.send('explain');
    await tick();
    expect(chats[0].params.attachments).toEqual([file]);
    chats[0].resolve({ sessionId: 's-1', text: 'ok', stopReason: 'end_turn' });
    await done;
    expect(controller.chips()).toEqual([]);
    expect(controller.snapshot()[0].attachments).toEqual(['fib.py']);
    expect(events.some((e) => e.type === 'chips' && e.chips.length === 0)).toBe(true);
  });

  it('re-sends flagged attachments confirmed only when the user says yes', async () => {
    for (const answer of [true, false]) {
      const { api, chats, controller } = setup();
      api.confirm = vi.fn(async () => answer);
      controller.addAttachments([file, env]);
      const done = controller.send('look');
      await tick();
      chats[0].reject({ code: -32004, message: 'may hold secrets', data: { kind: 'needsConfirmation', attachments: [{ index: 1, path: '/w/.env', reason: 'named like a secrets file (.env)' }] } });
      await tick();
      if (answer) {
        expect(chats[1].params.attachments).toEqual([file, { ...env, confirmed: true }]);
        chats[1].resolve({ sessionId: 's-1', text: 'ok', stopReason: 'end_turn' });
        expect((await done)?.text).toBe('ok');
      } else {
        expect(chats).toHaveLength(1);
        const reply = await done;
        expect(reply?.error?.message).toMatch(/declined/);
        expect(controller.chips()).toHaveLength(2); // kept, to remove or send again
      }
    }
  });

  it("passes on the config.yaml values a chat ignored (the daemon's configWarnings), and nothing when there are none", async () => {
    const { api, chats, controller } = setup();
    const warnConfig = vi.fn();
    api.warnConfig = warnConfig;
    let done = controller.send('hi');
    await tick();
    const warning = 'model.temperature must be a number from 0.0 to 2.0 (got "hot"); ignored: the default is used';
    chats[0].resolve({ sessionId: 's-1', text: 'ok', stopReason: 'end_turn', configWarnings: [warning] });
    await done;
    expect(warnConfig).toHaveBeenCalledWith([warning]);
    done = controller.send('again');
    await tick();
    chats[1].resolve({ sessionId: 's-1', text: 'ok', stopReason: 'end_turn' });
    await done;
    expect(warnConfig).toHaveBeenCalledTimes(1);
  });

  it('reopens a saved conversation and continues it', async () => {
    const { chats, controller } = setup();
    controller.load({
      sessionId: 's-old',
      provider: 'openrouter',
      model: 'openrouter/pareto-code',
      messages: [
        { role: 'user', content: 'fix this', attachments: [{ kind: 'selection', path: '/w/fib.py', range: { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } }, text: 'x' }] },
        { role: 'assistant', content: 'done', model: 'openrouter/pareto-code', stopReason: 'end_turn' },
      ],
    });
    expect(controller.snapshot().map((e) => [e.role, e.text, e.attachments])).toEqual([
      ['user', 'fix this', ['fib.py:1-3']],
      ['assistant', 'done', undefined],
    ]);
    expect(controller.carriedRange).toEqual({ path: '/w/fib.py', range: { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } } });
    const done = controller.send('and again');
    await tick();
    expect(chats[0].params.sessionId).toBe('s-old');
    chats[0].resolve({ sessionId: 's-old', text: 'ok', stopReason: 'end_turn' });
    await done;
  });
});

describe('toEntryError', () => {
  it('a model chosen for the conversation goes with its messages until New Chat; the default otherwise', async () => {
    const { chats, controller } = setup();
    let sent = controller.send('one');
    await tick();
    expect([chats[0].params.provider, chats[0].params.model]).toEqual(['openrouter', 'openrouter/pareto-code']);
    chats[0].resolve({ sessionId: 's-1', text: 'a', stopReason: 'end_turn' });
    await sent;
    controller.chooseModel({ provider: 'custom', model: 'model-b', label: 'model-b' });
    expect(controller.nextModel()).toEqual({ provider: 'custom', model: 'model-b', label: 'model-b' });
    sent = controller.send('two');
    await tick();
    expect([chats[1].params.sessionId, chats[1].params.provider, chats[1].params.model]).toEqual(['s-1', 'custom', 'model-b']);
    chats[1].resolve({ sessionId: 's-1', text: 'b', stopReason: 'end_turn' });
    await sent;
    controller.reset();
    expect(controller.chosenModel).toBeUndefined();
    sent = controller.send('three');
    await tick();
    expect([chats[2].params.provider, chats[2].params.model]).toEqual(['openrouter', 'openrouter/pareto-code']);
    chats[2].resolve({ sessionId: 's-2', text: 'c', stopReason: 'end_turn' });
    await sent;
  });

  it('a reopened conversation keeps the model chosen for it (modelChosen)', () => {
    const { controller } = setup();
    controller.load({ sessionId: 's-9', provider: 'custom', model: 'model-b', modelChosen: true, messages: [] });
    expect(controller.nextModel()).toEqual({ provider: 'custom', model: 'model-b', label: '' });
    controller.load({ sessionId: 's-8', provider: 'custom', model: 'model-c', messages: [] });
    expect(controller.nextModel()).toEqual({ provider: 'openrouter', model: 'openrouter/pareto-code', label: 'openrouter/pareto-code' });
  });

  it("a reopened conversation shows the daemon's short labels of its model and its replies' (a path's file name)", () => {
    const { controller } = setup();
    const path = '/srv/models/SmolLM2-360M-Instruct-Q8_0.gguf';
    const label = 'SmolLM2-360M-Instruct-Q8_0';
    controller.load({
      sessionId: 's-7',
      provider: 'custom',
      model: path,
      modelLabel: label,
      modelChosen: true,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello', model: path, modelLabel: label, stopReason: 'end_turn' },
      ],
    });
    expect(controller.nextModel()).toEqual({ provider: 'custom', model: path, label });
    expect(controller.snapshot()[1]).toMatchObject({ model: path, modelLabel: label });
  });

  it('maps RequestCancelled', () => {
    expect(toEntryError({ code: -32800, message: 'cancelled' })).toEqual({ kind: 'cancelled', message: 'The request was cancelled.' });
  });
  it('handles non-errors', () => {
    expect(toEntryError('boom')).toEqual({ kind: 'request', message: 'boom' });
  });
});

describe('Retry after the daemon restarted', () => {
  const restarted = {
    code: -32005,
    message: 'the daemon restarted; your message was saved in the session; Retry to send it again',
    data: { kind: 'daemonRestarted', retryable: true, method: 'hermes/chat' },
  };

  it('keeps the error as the daemon worded it, marked retryable from its data', () => {
    expect(toEntryError(restarted)).toEqual({ kind: 'rpc -32005', message: restarted.message, hint: undefined, retryable: true });
    expect(toEntryError({ ...restarted, data: { retryable: 'yes' } }).retryable).toBeUndefined();
  });

  it('sends the same message and context again in the same session', async () => {
    const { chats, controller } = setup();
    controller.addAttachments([{ kind: 'file', path: '/w/a.py', text: 'x = 1\n', language: 'python' }]);
    const first = controller.send('explain');
    await tick();
    chats[0].reject(restarted);
    expect((await first)?.error).toMatchObject({ message: restarted.message, retryable: true });

    const again = controller.retry();
    await tick();
    expect(chats[1].params).toEqual(chats[0].params);
    chats[1].resolve({ sessionId: 's-1', text: 'done', stopReason: 'end_turn' } as ChatResult);
    expect(await again).toMatchObject({ text: 'done' });
    expect(controller.snapshot().map((e) => [e.role, e.text])).toEqual([
      ['user', 'explain'], ['assistant', ''], ['user', 'explain'], ['assistant', 'done'],
    ]);
    expect(await controller.retry()).toBeUndefined(); // answered: nothing left to retry
  });

  it('a saved reply the daemon marked retryable (interrupted) offers Retry, which sends its user message again in that session', async () => {
    const { chats, controller, events } = setup();
    const file = { kind: 'file' as const, path: '/w/a.py', text: 'x = 1\n', language: 'python' };
    const notice = 'interrupted: hermesd stopped before this reply ended; the text shown is what was saved';
    controller.load(saved([
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'the first reply', stopReason: 'end_turn' },
      { role: 'user', content: 'explain', attachments: [file] },
      { role: 'assistant', content: 'half a rep', stopReason: 'interrupted', notice, retryable: true },
    ]));
    expect(controller.snapshot().map((e) => e.retryable)).toEqual([undefined, undefined, undefined, true]);
    const again = controller.retry();
    await tick();
    expect(chats[0].params).toMatchObject({ sessionId: 's-old', message: 'explain', attachments: [file] });
    // Its Retry is spent: the webview is told to redraw the entry without it.
    expect(events).toContainEqual({ type: 'entry', entry: expect.objectContaining({ text: 'half a rep', notice }) });
    expect(controller.snapshot()[3].retryable).toBeUndefined();
    chats[0].resolve({ sessionId: 's-old', text: 'whole', stopReason: 'end_turn' } as ChatResult);
    expect(await again).toMatchObject({ text: 'whole' });
    expect(await controller.retry()).toBeUndefined();
  });

  it('an interrupted saved reply without the mark offers no Retry (the daemon decides)', async () => {
    const { chats, controller } = setup();
    controller.load(saved([
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'half', stopReason: 'interrupted', notice: 'interrupted: …' },
      { role: 'user', content: 'go on' },
      { role: 'assistant', content: 'done', stopReason: 'end_turn' },
    ]));
    expect(controller.snapshot().some((e) => e.retryable)).toBe(false);
    expect(await controller.retry()).toBeUndefined();
    expect(chats).toHaveLength(0);
  });

  it('offers nothing to retry after other errors', async () => {
    const { chats, controller } = setup();
    const first = controller.send('hi');
    await tick();
    chats[0].reject({ code: -32603, message: 'internal error E-12345678' });
    await first;
    expect(await controller.retry()).toBeUndefined();
    expect(chats).toHaveLength(1);
  });
});
