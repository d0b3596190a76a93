import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as vscode from './mocks/vscode';
import { ModelPicker } from '../src/picker';
import { ModelState } from '../src/logic/modelState';
import { fakeClient } from './fakeClient';
import { anthropic, openrouter, openrouterModels } from './fixtures';

const tick = () => new Promise((r) => setTimeout(r, 0));

function setup() {
  const fake = fakeClient({
    'hermes/listProviders': () => ({ providers: [anthropic, openrouter], current: { provider: 'openrouter', model: 'qwen/qwen3-coder' } }),
    'hermes/getConfig': () => ({ path: '/home/u/.hermes/config.yaml', config: { openrouter: { min_coding_score: 0.65 } } }),
    'hermes/listModels': (p) => ({ ...openrouterModels, provider: p.provider }),
    'hermes/setConfig': (p) => ({ key: p.key, value: p.value }),
  });
  const models = new ModelState((m, p) => fake.client.request(m, p));
  const setScore = vi.fn(async () => undefined);
  const picker = new ModelPicker(fake.client, models, setScore);
  return { ...fake, models, setScore, picker };
}

beforeEach(() => vscode.resetMock());

describe('ModelPicker', () => {
  it('lists configured providers with models, pareto-code with its score, and marks the current model', async () => {
    const { picker, models } = setup();
    await models.refresh();
    const shown = picker.show();
    await tick();
    const qp = vscode.quickPicks[0] as unknown as vscode.FakeQuickPick<vscode.QuickPickItemLike>;
    const labels = qp.items.map((i) => i.label);
    expect(labels).toEqual([
      'OpenRouter',
      'openrouter/pareto-code',
      'anthropic/claude-sonnet-4.6',
      '$(check) qwen/qwen3-coder',
      'Anthropic (not configured)',
      '$(key) Anthropic needs ANTHROPIC_API_KEY',
    ]);
    expect(qp.items[0].kind).toBe(vscode.QuickPickItemKind.Separator);
    expect(qp.items[1].description).toBe('Pareto Code (router) · min coding score 0.65');
    expect(qp.activeItems[0].label).toBe('$(check) qwen/qwen3-coder');
    expect(qp.busy).toBe(false);
    qp.hide();
    await shown;
  });

  it('saves the choice with setConfig and offers the minimum score for Pareto Code', async () => {
    const { picker, models, calls, setScore } = setup();
    await models.refresh();
    vscode.window.showInformationMessage.mockResolvedValueOnce('Set Minimum Score…');
    const shown = picker.show();
    await tick();
    vscode.quickPicks[0].accept('openrouter/pareto-code');
    await shown;
    const writes = calls.filter((c) => c.method === 'hermes/setConfig').map((c) => c.params);
    expect(writes).toEqual([
      { key: 'model.provider', value: 'openrouter' },
      { key: 'model.default', value: 'openrouter/pareto-code' },
    ]);
    expect(models.value.current).toEqual({ provider: 'openrouter', model: 'openrouter/pareto-code' });
    expect(vscode.window.showInformationMessage.mock.calls[0][0]).toContain('scoring at least 0.65');
    expect(setScore).toHaveBeenCalledTimes(1);
  });

  it('explains the missing key of an unconfigured provider and can open its signup page', async () => {
    const { picker, models, calls } = setup();
    await models.refresh();
    vscode.window.showWarningMessage.mockResolvedValueOnce('Get a Key');
    const shown = picker.show();
    await tick();
    vscode.quickPicks[0].accept('$(key) Anthropic needs ANTHROPIC_API_KEY');
    await shown;
    expect(vscode.window.showWarningMessage.mock.calls[0][0]).toBe(
      'Anthropic needs ANTHROPIC_API_KEY. Set it in /home/u/.hermes/.env or in the environment VS Code starts from, then select the model again.',
    );
    expect(vscode.env.openExternal).toHaveBeenCalledTimes(1);
    expect(calls.some((c) => c.method === 'hermes/setConfig')).toBe(false);
    expect(calls.some((c) => c.method === 'hermes/listModels' && c.params.provider === 'anthropic')).toBe(false);
  });

  it('shows the daemon error when saving fails', async () => {
    const { picker, raw } = setup();
    const original = raw.request.getMockImplementation()!;
    raw.request.mockImplementation(async (method: string, params?: Record<string, unknown>) => {
      if (method === 'hermes/setConfig') {
        throw new Error('config.yaml line 3: cannot parse; write refused');
      }
      return original(method, params);
    });
    const shown = picker.show();
    await tick();
    vscode.quickPicks[0].accept('anthropic/claude-sonnet-4.6');
    await shown;
    expect(vscode.window.showErrorMessage).toHaveBeenCalledWith(
      'Hermes: could not save the model: config.yaml line 3: cannot parse; write refused',
    );
  });

  it('reloads when the daemon reports providersChanged, and ignores non-model rows', async () => {
    const { picker, calls, providersChanged } = setup();
    const shown = picker.show();
    await tick();
    providersChanged.fire({ reason: 'plugins-changed' });
    await tick();
    expect(calls.filter((c) => c.method === 'hermes/listProviders')).toHaveLength(2);
    vscode.quickPicks[0].accept('OpenRouter'); // a separator: nothing happens
    expect(vscode.quickPicks[0].visible).toBe(true);
    vscode.quickPicks[0].hide();
    await shown;
  });

  it('refresh button asks the daemon to re-read plugins and catalogs', async () => {
    const { picker, calls } = setup();
    const shown = picker.show();
    await tick();
    const qp = vscode.quickPicks[0];
    qp.triggerButton(qp.buttons[0]);
    await tick();
    expect(calls.some((c) => c.method === 'hermes/listProviders' && c.params.refresh === true)).toBe(true);
    expect(calls.some((c) => c.method === 'hermes/listModels' && c.params.refresh === true)).toBe(true);
    qp.hide();
    await shown;
  });
});
