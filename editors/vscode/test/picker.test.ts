import { beforeEach, describe, expect, it } from 'vitest';
import * as vscode from './mocks/vscode';
import { ModelPicker } from '../src/picker';
import { ModelState } from '../src/logic/modelState';
import { ListPickerResult } from '../src/protocol';
import { fakeClient } from './fakeClient';

const tick = () => new Promise((r) => setTimeout(r, 0));

/** A hermes/listPicker result as the daemon sends it with no key set. */
const listing: ListPickerResult = {
  title: 'Hermes: Select Model',
  placeholder: 'Type to filter the models of every configured provider',
  current: { provider: '', model: '', label: '' },
  items: [
    {
      kind: 'model', id: 'openrouter/pareto-code', provider: 'openrouter', label: 'openrouter/pareto-code', group: 'Recommended',
      description: 'daemon text', configured: false, hint: 'OpenRouter needs OPENROUTER_API_KEY: set it.',
      input: { param: 'minCodingScore', prompt: 'the daemon question', value: '0.65', placeholder: '0.65 (current)' },
    },
    { kind: 'model', id: 'm1', provider: 'p1', label: 'm1', group: 'P1', description: '', configured: true, current: true },
    { kind: 'setup', id: '', provider: '', label: 'Set up another provider…', group: 'More providers', description: '2 more', configured: false },
  ],
  setupTitle: 'Hermes: Set up another provider',
  setup: [
    { provider: 'anthropic', label: 'Anthropic', description: 'needs ANTHROPIC_API_KEY', hint: 'Anthropic needs ANTHROPIC_API_KEY.', keyEnvVar: 'ANTHROPIC_API_KEY', signupUrl: 'https://console.anthropic.com/' },
  ],
};

function setup() {
  const fake = fakeClient({
    'hermes/listPicker': () => listing,
    'hermes/selectModel': (p) => ({
      current: { provider: p.provider, model: p.model },
      message: `Using ${p.model}.`,
      ...(p.provider === 'openrouter' ? { hint: 'OpenRouter needs OPENROUTER_API_KEY: set it.', signupUrl: 'https://openrouter.ai/keys' } : {}),
    }),
  });
  const models = new ModelState((m, p) => fake.client.request(m, p));
  const picker = new ModelPicker(fake.client, models);
  return { ...fake, models, picker };
}

beforeEach(() => vscode.resetMock());

describe('ModelPicker', () => {
  it('renders the daemon rows in order, a separator wherever the group changes', async () => {
    const { picker } = setup();
    const shown = picker.show();
    await tick();
    const qp = vscode.quickPicks[0] as unknown as vscode.FakeQuickPick<vscode.QuickPickItemLike>;
    expect(qp.items.map((i) => [i.label, i.description])).toEqual([
      ['Recommended', undefined],
      ['openrouter/pareto-code', 'daemon text'],
      ['P1', undefined],
      ['$(check) m1', ''],
      ['More providers', undefined],
      ['Set up another provider…', '2 more'],
    ]);
    expect(qp.items[0].kind).toBe(vscode.QuickPickItemKind.Separator);
    expect(qp.title).toBe('Hermes: Select Model');
    expect(qp.activeItems[0].label).toBe('$(check) m1');
    qp.hide();
    await shown;
  });

  it('asks the daemon\'s question, sends the text as typed with selectModel, and shows the hint', async () => {
    const { picker, calls, models } = setup();
    vscode.window.showInputBox.mockResolvedValueOnce('0.8');
    vscode.window.showWarningMessage.mockResolvedValueOnce('Get a Key');
    const shown = picker.show();
    await tick();
    vscode.quickPicks[0].accept('openrouter/pareto-code');
    await shown;
    expect((vscode.window.showInputBox.mock.calls[0][0] as unknown as { prompt: string }).prompt).toBe('the daemon question');
    expect(calls.filter((c) => c.method === 'hermes/selectModel').map((c) => c.params)).toEqual([
      { provider: 'openrouter', model: 'openrouter/pareto-code', minCodingScore: '0.8' },
    ]);
    expect(calls.some((c) => c.method === 'hermes/setConfig')).toBe(false);
    expect(models.value.current).toEqual({ provider: 'openrouter', model: 'openrouter/pareto-code' });
    expect(vscode.window.showWarningMessage.mock.calls[0][0]).toBe('Hermes: OpenRouter needs OPENROUTER_API_KEY: set it.');
    expect(vscode.env.openExternal).toHaveBeenCalledTimes(1);
  });

  it('selects nothing when the question is cancelled', async () => {
    const { picker, calls } = setup();
    const shown = picker.show();
    await tick();
    vscode.quickPicks[0].accept('openrouter/pareto-code');
    await shown;
    expect(calls.some((c) => c.method === 'hermes/selectModel')).toBe(false);
  });

  it('lists the providers to set up behind the setup entry, with their hint', async () => {
    const { picker, calls } = setup();
    vscode.window.showQuickPick.mockImplementationOnce(async (items: unknown) => (items as unknown[])[0]);
    const shown = picker.show();
    await tick();
    vscode.quickPicks[0].accept('Set up another provider…');
    await shown;
    expect(vscode.window.showWarningMessage.mock.calls[0][0]).toBe('Hermes: Anthropic needs ANTHROPIC_API_KEY.');
    expect(calls.some((c) => c.method === 'hermes/selectModel')).toBe(false);
  });

  it('shows the daemon error when saving fails', async () => {
    const { picker, raw } = setup();
    const original = raw.request.getMockImplementation()!;
    raw.request.mockImplementation(async (method: string, params?: Record<string, unknown>) => {
      if (method === 'hermes/selectModel') {
        throw new Error('config.yaml line 3: cannot parse; write refused');
      }
      return original(method, params);
    });
    const shown = picker.show();
    await tick();
    vscode.quickPicks[0].accept('$(check) m1');
    await shown;
    expect(vscode.window.showErrorMessage).toHaveBeenCalledWith('Hermes: config.yaml line 3: cannot parse; write refused');
  });

  it('shows a notice row\'s hint and selects nothing (a local server that did not answer)', async () => {
    const { picker, raw, calls } = setup();
    const original = raw.request.getMockImplementation()!;
    const down = 'server not reachable at http://127.0.0.1:8080/v1: start it, or run `hermesd setup local`';
    raw.request.mockImplementation(async (method: string, params?: Record<string, unknown>) => {
      if (method === 'hermes/listPicker') {
        return { ...listing, items: [{ kind: 'notice', id: '', provider: 'custom', label: down, group: 'Custom endpoint',
                                        description: '', configured: false, hint: down }] };
      }
      return original(method, params);
    });
    const shown = picker.show();
    await tick();
    vscode.quickPicks[0].accept(down);
    await shown;
    expect(vscode.window.showWarningMessage.mock.calls[0][0]).toBe(`Hermes: ${down}`);
    expect(calls.some((c) => c.method === 'hermes/selectModel')).toBe(false);
  });

  it('offers the sign-up link when the daemon refuses a provider without its key', async () => {
    const { picker, raw } = setup();
    const original = raw.request.getMockImplementation()!;
    raw.request.mockImplementation(async (method: string, params?: Record<string, unknown>) => {
      if (method === 'hermes/selectModel') {
        throw Object.assign(new Error('OpenRouter needs OPENROUTER_API_KEY, and none is set: nothing was changed'),
                            { code: -32602, data: { signupUrl: 'https://openrouter.ai/keys' } });
      }
      return original(method, params);
    });
    const shown = picker.show();
    await tick();
    vscode.quickPicks[0].accept('$(check) m1');
    await shown;
    expect(vscode.window.showWarningMessage.mock.calls[0]).toEqual(
      ['Hermes: OpenRouter needs OPENROUTER_API_KEY, and none is set: nothing was changed', 'Get a Key']);
    expect(vscode.window.showErrorMessage).not.toHaveBeenCalled();
  });

  it('reloads on providersChanged; the refresh button asks for fresh catalogs', async () => {
    const { picker, calls, providersChanged } = setup();
    const shown = picker.show();
    await tick();
    providersChanged.fire({ reason: 'plugins-changed' });
    await tick();
    expect(calls.filter((c) => c.method === 'hermes/listPicker')).toHaveLength(2);
    const qp = vscode.quickPicks[0];
    qp.accept('P1'); // a separator: nothing happens
    expect(qp.visible).toBe(true);
    qp.triggerButton(qp.buttons[0]);
    await tick();
    expect(calls.some((c) => c.method === 'hermes/listPicker' && c.params.refresh === true)).toBe(true);
    qp.hide();
    await shown;
  });

  it('with a conversation open, switches that conversation only, and Make Default makes it the default too', async () => {
    const fake = fakeClient({
      'hermes/listPicker': () => listing,
      'hermes/selectModel': (p) => ({
        current: { provider: p.provider, model: p.model, label: p.model },
        message: p.scope === 'default' ? `Using ${p.model}.` : `Using ${p.model} in this conversation.`,
        scope: p.scope ?? (p.sessionId ? 'session' : 'default'),
        sessionId: p.sessionId,
      }),
    });
    const models = new ModelState((m, p) => fake.client.request(m, p));
    const chosen: unknown[] = [];
    const conversation = { session: 's-7', chooseModel: (c: unknown) => chosen.push(c) };
    const picker = new ModelPicker(fake.client, models, conversation);
    const selects = () => fake.calls.filter((c) => c.method === 'hermes/selectModel').map((c) => c.params);

    let shown = picker.show();
    await tick();
    vscode.quickPicks[0].accept('$(check) m1');
    await shown;
    expect(selects()).toEqual([{ provider: 'p1', model: 'm1', sessionId: 's-7' }]);
    expect(chosen).toEqual([{ provider: 'p1', model: 'm1', label: 'm1' }]);
    expect(models.value.current).toBeUndefined(); // the default is not touched
    expect(vscode.window.showInformationMessage.mock.calls[0]).toEqual(['Hermes: Using m1 in this conversation.', 'Make Default']);

    vscode.window.showInformationMessage.mockResolvedValueOnce('Make Default');
    shown = picker.show();
    await tick();
    vscode.quickPicks[1].accept('$(check) m1');
    await shown;
    expect(selects().slice(1)).toEqual([
      { provider: 'p1', model: 'm1', sessionId: 's-7' },
      { provider: 'p1', model: 'm1', sessionId: 's-7', scope: 'default' },
    ]);
    expect(models.value.current).toEqual({ provider: 'p1', model: 'm1', label: 'm1' });
  });

  it('with no conversation open, the choice is the default (no sessionId)', async () => {
    const { picker, calls } = setup();
    const shown = picker.show();
    await tick();
    vscode.quickPicks[0].accept('$(check) m1');
    await shown;
    expect(calls.filter((c) => c.method === 'hermes/selectModel').map((c) => c.params)).toEqual([{ provider: 'p1', model: 'm1' }]);
    expect(vscode.window.showInformationMessage).not.toHaveBeenCalled();
  });
});
