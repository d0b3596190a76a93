import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as vscode from './mocks/vscode';
import { askAboutSelection, changeSetting, setConfigKey, Services, valueChoices } from '../src/commands';
import { ModelState } from '../src/logic/modelState';
import { fakeClient, Handler } from './fakeClient';

beforeEach(() => vscode.resetMock());

const CONFIG = { openrouter: { min_coding_score: 0.65, response_cache: false } };

function services(setConfig: Handler = (p) => ({ key: p.key, value: p.value }), config: unknown = CONFIG) {
  const fake = fakeClient({
    'hermes/listProviders': () => ({ providers: [], current: { provider: 'openrouter', model: 'openrouter/pareto-code' } }),
    'hermes/getConfig': () => ({ path: '/h/config.yaml', config }),
    'hermes/setConfig': setConfig,
    'hermes/describeConfig': () => ({
      keys: [{ key: 'openrouter.min_coding_score', type: 'number', default: 0.65, nullable: true, min: 0, max: 1,
        doc: 'Pareto Code router floor; null: no floor (strongest coder)' },
      { key: 'openrouter.response_cache', type: 'boolean', default: false, doc: "ask OpenRouter to cache responses" }],
    }),
  });
  const models = new ModelState((m, p) => fake.client.request(m, p));
  const chat = { send: vi.fn(async (_text: string) => undefined), noteRange: vi.fn() };
  return { fake, models, chat, services: { client: fake.client, models, chat, doctor: {} } as unknown as Services };
}

describe('Set Minimum Coding Score', () => {
  it('prefills the value, shows the daemon\'s description, and sends the text as typed', async () => {
    const s = services();
    vscode.window.showInputBox.mockResolvedValueOnce('none');
    await setConfigKey(s.services, 'openrouter.min_coding_score');
    const options = vscode.window.showInputBox.mock.calls[0][0] as unknown as { value: string; prompt: string };
    expect(options.value).toBe('0.65');
    expect(options.prompt).toBe('Pareto Code router floor; null: no floor (strongest coder)');
    expect(s.fake.calls.at(-1)).toEqual({ method: 'hermes/setConfig', params: { key: 'openrouter.min_coding_score', value: 'none' } });
  });

  it('shows the daemon error as it comes', async () => {
    const s = services(() => {
      throw new Error('openrouter.min_coding_score must be a number from 0.0 to 1.0 (got 1.5)');
    });
    vscode.window.showInputBox.mockResolvedValueOnce('1.5');
    await setConfigKey(s.services, 'openrouter.min_coding_score');
    expect(vscode.window.showErrorMessage).toHaveBeenCalledWith(
      'Hermes: openrouter.min_coding_score must be a number from 0.0 to 1.0 (got 1.5)',
    );
  });

  it('does nothing when cancelled', async () => {
    const s = services();
    await setConfigKey(s.services, 'openrouter.min_coding_score');
    expect(s.fake.calls.some((c) => c.method === 'hermes/setConfig')).toBe(false);
  });
});

describe('Change Setting', () => {
  it('offers a boolean key as a true/false choice, the current value first, and sends the choice', async () => {
    const s = services();
    vscode.window.showQuickPick.mockImplementationOnce(async (items: unknown) => (items as { label: string }[])[1]);
    vscode.window.showQuickPick.mockImplementationOnce(async (items: unknown) => {
      expect(items).toEqual(['false', 'true']);
      return 'true';
    });
    await changeSetting(s.services);
    expect(vscode.window.showInputBox).not.toHaveBeenCalled();
    expect(s.fake.calls.at(-1)).toEqual({ method: 'hermes/setConfig', params: { key: 'openrouter.response_cache', value: 'true' } });
  });

  it('puts an unset boolean key\'s default first', async () => {
    const s = services(undefined, {});
    vscode.window.showQuickPick.mockResolvedValueOnce(undefined);
    await setConfigKey(s.services, 'openrouter.response_cache');
    expect(vscode.window.showQuickPick.mock.calls[0][0]).toEqual(['false', 'true']);
  });

  it('offers an enum as its values (null too when nullable), and types everything else', () => {
    expect(valueChoices({ key: 'k', type: 'enum', enum: ['a', 'b'], nullable: true }, 'b')).toEqual(['b', 'a', 'null']);
    expect(valueChoices({ key: 'k', type: 'boolean' }, undefined)).toEqual(['true', 'false']);
    expect(valueChoices({ key: 'k', type: 'number' }, 1)).toBeUndefined();
    expect(valueChoices(undefined, 1)).toBeUndefined();
  });
});

describe('Ask About Selection', () => {
  function editor(text: string, start: [number, number], end: [number, number]) {
    return {
      document: {
        uri: vscode.Uri.file('/work/proj/src/util.py'),
        fileName: '/work/proj/src/util.py',
        isUntitled: false,
        languageId: 'python',
        getText: () => text,
      },
      selection: {
        isEmpty: false,
        start: { line: start[0], character: start[1] },
        end: { line: end[0], character: end[1] },
      },
    };
  }

  it('sends the selected code with file name, language and lines', async () => {
    const s = services();
    vscode.window.activeTextEditor = editor('def f():\n    return 1\n', [4, 0], [6, 0]);
    vscode.window.showInputBox.mockResolvedValueOnce('Is this right?');
    await askAboutSelection(s.services);
    expect(s.chat.send).toHaveBeenCalledWith(
      'Is this right?\n\nFrom `util.py` (python), lines 5-6:\n\n```python\ndef f():\n    return 1\n```\n',
    );
    // Apply… in this conversation then replaces that selection.
    expect(s.chat.noteRange).toHaveBeenCalledWith({
      path: '/work/proj/src/util.py',
      range: { start: { line: 4, character: 0 }, end: { line: 6, character: 0 } },
    });
  });

  it('uses the workspace-relative path inside a folder', async () => {
    const s = services();
    vscode.window.activeTextEditor = editor('x = 1', [0, 0], [0, 5]);
    vscode.workspace.getWorkspaceFolder.mockReturnValueOnce({ name: 'proj' } as never);
    vscode.workspace.asRelativePath.mockReturnValueOnce('src/util.py');
    vscode.window.showInputBox.mockResolvedValueOnce('');
    await askAboutSelection(s.services);
    expect(s.chat.send.mock.calls[0][0]).toMatch(/^Explain this code\.\n\nFrom `src\/util.py` \(python\), line 1:/);
  });

  it('asks for a selection first', async () => {
    const s = services();
    vscode.window.activeTextEditor = undefined;
    await askAboutSelection(s.services);
    expect(vscode.window.showInformationMessage).toHaveBeenCalledWith('Hermes: select some code first.');
    expect(s.chat.send).not.toHaveBeenCalled();
  });
});
