import { describe, expect, it, vi } from 'vitest';
import { PythonExtensionLike, explicitSetting, locateServer, notFoundText, selectedInterpreter } from '../src/logic/locate';

const exists = (files: string[]) => (file: string) => files.includes(file);

/** A fake of ms-python.python's API: getActiveEnvironmentPath / resolveEnvironment, as its docs describe them. */
function fakePython(
  active: { id: string; path: string } | undefined,
  resolved?: string,
  { isActive = true }: { isActive?: boolean } = {},
) {
  const environments = {
    getActiveEnvironmentPath: vi.fn((_resource?: unknown) => active),
    resolveEnvironment: vi.fn(async (_env: unknown) =>
      resolved === undefined ? undefined : { executable: { uri: { fsPath: resolved }, sysPrefix: resolved.replace(/\/bin\/python.*$/, '') } },
    ),
  };
  const extension: PythonExtensionLike & { activate: ReturnType<typeof vi.fn> } = {
    isActive,
    activate: vi.fn(async () => {
      extension.isActive = true;
    }),
    exports: { environments },
  };
  return { extension, environments };
}

const base = { home: '/home/u', platform: 'linux' as const, env: { PATH: '/usr/bin:/bin' } };

describe('locateServer', () => {
  it('uses hermes.server.path when the user set it, and nothing else', async () => {
    const { extension } = fakePython({ id: 'v', path: '/venv/bin/python' }, '/venv/bin/python');
    const found = await locateServer({ ...base, setting: '~/tools/hermesd', pythonExtension: () => extension, isExecutable: exists(['/home/u/tools/hermesd', '/venv/bin/hermesd']) });
    expect(found.found).toEqual({ command: '/home/u/tools/hermesd', source: 'hermes.server.path' });
    const wrong = await locateServer({ ...base, setting: '/nope/hermesd', pythonExtension: () => extension, isExecutable: exists(['/venv/bin/hermesd']) });
    expect(wrong.found).toBeUndefined();
    expect(wrong.tried).toEqual(['hermes.server.path "/nope/hermesd": not found or not executable']);
  });

  it("finds hermesd-lsp beside the Python extension's selected interpreter, for the workspace folder", async () => {
    const { extension, environments } = fakePython({ id: 'venv', path: '/work/.venv' }, '/work/.venv/bin/python3.11', { isActive: false });
    const result = await locateServer({ ...base, resource: 'folder-uri', pythonExtension: () => extension, isExecutable: exists(['/work/.venv/bin/hermesd-lsp', '/usr/bin/hermesd-lsp']) });
    expect(extension.activate).toHaveBeenCalled();
    expect(environments.getActiveEnvironmentPath).toHaveBeenCalledWith('folder-uri');
    expect(environments.resolveEnvironment).toHaveBeenCalledWith({ id: 'venv', path: '/work/.venv' });
    expect(result.found).toEqual({ command: '/work/.venv/bin/hermesd-lsp', source: "the Python extension's interpreter (/work/.venv/bin/python3.11)" });
    expect(result.pythonExtension).toBe(true);
  });

  it('treats the default "hermesd-lsp", plain "hermesd" and an empty setting as unset', async () => {
    expect(explicitSetting('hermesd-lsp')).toBeUndefined();
    expect(explicitSetting('hermesd')).toBeUndefined();
    expect(explicitSetting('  ')).toBeUndefined();
    expect(explicitSetting('/opt/bin/hermesd')).toBe('/opt/bin/hermesd');
    for (const setting of ['hermesd-lsp', 'hermesd', '']) {
      const result = await locateServer({ ...base, setting, isExecutable: exists(['/bin/hermesd-lsp', '/bin/hermesd']) });
      expect(result.found).toEqual({ command: '/bin/hermesd-lsp', source: 'PATH' });
    }
  });

  it('searches for hermesd-lsp only: a lone hermesd (the registry has another program of that name) is not picked up', async () => {
    const { extension } = fakePython({ id: 'v', path: '/venv/bin/python' }, '/venv/bin/python');
    const result = await locateServer({
      ...base,
      pythonExtension: () => extension,
      isExecutable: exists(['/venv/bin/hermesd', '/home/u/.local/bin/hermesd', '/usr/bin/hermesd']),
    });
    expect(result.found).toBeUndefined();
    expect(result.tried.at(-1)).toBe('PATH (2 directories): no hermesd-lsp');
  });

  it('then pipx and pip --user, then PATH', async () => {
    const pipx = await locateServer({ ...base, isExecutable: exists(['/home/u/.local/pipx/venvs/hermesd-lsp/bin/hermesd-lsp', '/usr/bin/hermesd-lsp']) });
    expect(pipx.found?.command).toBe('/home/u/.local/pipx/venvs/hermesd-lsp/bin/hermesd-lsp');
    const user = await locateServer({ ...base, env: { ...base.env, PIPX_BIN_DIR: '/opt/pipx-bin' }, isExecutable: exists(['/opt/pipx-bin/hermesd-lsp']) });
    expect(user.found?.command).toBe('/opt/pipx-bin/hermesd-lsp');
    const local = await locateServer({ ...base, isExecutable: exists(['/home/u/.local/bin/hermesd-lsp']) });
    expect(local.found?.command).toBe('/home/u/.local/bin/hermesd-lsp');
  });

  it('says exactly what it tried when nothing is found', async () => {
    const { extension } = fakePython({ id: 'sys', path: '/usr/bin/python3' }, '/usr/bin/python3');
    const result = await locateServer({ ...base, pythonExtension: () => extension, isExecutable: exists([]) });
    expect(result.found).toBeUndefined();
    expect(result.tried).toEqual([
      'hermes.server.path: not set',
      "the Python extension's interpreter /usr/bin/python3: no hermesd-lsp in /usr/bin",
      'pipx and pip --user: no /home/u/.local/bin/hermesd-lsp or /home/u/.local/pipx/venvs/hermesd-lsp/bin/hermesd-lsp',
      'PATH (2 directories): no hermesd-lsp',
    ]);
    const text = notFoundText(result.tried);
    expect(text).toContain('Hermes could not start its server: hermesd was not found. Tried: (1) hermes.server.path: not set; (2)');
    expect(text).toContain('Install it from a checkout of hermesd: "pip install ." there');
    expect(text).toContain('"hermes.server.path" to its hermesd-lsp executable');
    const without = await locateServer({ ...base, isExecutable: exists([]) });
    expect(without.tried[1]).toBe('the Python extension (ms-python.python) is not installed');
    expect(without.pythonExtension).toBe(false);
  });
});

describe('selectedInterpreter', () => {
  it('reports an extension without an interpreter, an old API, and a failing one', async () => {
    expect(await selectedInterpreter(fakePython(undefined).extension)).toEqual({ why: 'the Python extension has no interpreter selected' });
    expect(await selectedInterpreter({ isActive: true, activate: async () => undefined, exports: {} })).toEqual({
      why: 'the Python extension offers no environments API (too old?)',
    });
    const broken = fakePython({ id: 'x', path: '/x' });
    broken.environments.resolveEnvironment.mockRejectedValueOnce(new Error('boom'));
    expect(await selectedInterpreter(broken.extension)).toEqual({ why: 'the Python extension failed: boom' });
    // resolveEnvironment knows nothing more: the active path is the interpreter.
    expect(await selectedInterpreter(fakePython({ id: 'p', path: '/p/bin/python' }).extension)).toEqual({ python: '/p/bin/python' });
  });
});
