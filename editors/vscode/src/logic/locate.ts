/**
 * Finding hermesd's server (the `hermesd-lsp` executable) the way
 * Python-tool extensions find their tools:
 * `hermes.server.path` when the user set it, else beside the interpreter
 * selected in the Python extension (ms-python.python), else pipx and
 * `pip install --user` locations, else PATH. Every place looked at is
 * recorded, so "not found" can say exactly what was tried. No vscode import:
 * the Python extension comes in through a getter, so tests pass a fake.
 */
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_SERVER_PATH, INSTALL_HINT, LookupEnv, expandHome, findExecutable } from './server';

export const PYTHON_EXTENSION_ID = 'ms-python.python';
/** The executable searched for: a name only this project's distribution installs. */
const EXE = DEFAULT_SERVER_PATH;
/** Bare names that mean "the default, search for it": both console scripts hermesd-lsp installs. */
const DEFAULT_NAMES = new Set([DEFAULT_SERVER_PATH, 'hermesd']);

/** The part of the Python extension's API we use (its `environments` export). */
export interface PythonEnvironments {
  getActiveEnvironmentPath(resource?: unknown): { id: string; path: string } | undefined;
  resolveEnvironment(
    environment: { id: string; path: string } | string,
  ): Promise<{ executable?: { uri?: { fsPath: string }; sysPrefix?: string } } | undefined>;
  /** Fires when the user selects another interpreter. */
  onDidChangeActiveEnvironmentPath?: (listener: (event: unknown) => unknown) => { dispose(): unknown };
}

export interface PythonExtensionLike {
  isActive: boolean;
  activate(): PromiseLike<unknown>;
  exports: { environments?: PythonEnvironments } | undefined;
}

export interface LocateOptions {
  /** hermes.server.path as set by the user ("", the default "hermesd-lsp" or plain "hermesd": not set). */
  setting?: string;
  /** vscode.extensions.getExtension('ms-python.python'), or a fake. */
  pythonExtension?: () => PythonExtensionLike | undefined;
  /** The workspace folder whose interpreter counts. */
  resource?: unknown;
  env?: LookupEnv & { PIPX_BIN_DIR?: string; PIPX_HOME?: string };
  home?: string;
  platform?: NodeJS.Platform;
  isExecutable?: (file: string) => boolean;
}

export interface LocateResult {
  /** The executable to run, and where it was found ("hermes.server.path", "the Python extension's interpreter", ...). */
  found?: { command: string; source: string };
  /** One line per place looked at, in order. */
  tried: string[];
  /** Whether the Python extension is installed (so "Select Interpreter" can be offered). */
  pythonExtension: boolean;
}

/**
 * The setting's value when the user chose one; undefined for empty or a bare
 * default name ("hermesd-lsp", or "hermesd", the name used before the rename).
 */
export function explicitSetting(setting: string | undefined): string | undefined {
  const raw = typeof setting === 'string' ? setting.trim() : '';
  return raw && !DEFAULT_NAMES.has(raw) ? raw : undefined;
}

/** The interpreter the Python extension has selected for `resource`, or why there is none. */
export async function selectedInterpreter(
  extension: PythonExtensionLike | undefined,
  resource?: unknown,
): Promise<{ python?: string; why?: string }> {
  if (!extension) {
    return { why: `the Python extension (${PYTHON_EXTENSION_ID}) is not installed` };
  }
  try {
    if (!extension.isActive) {
      await extension.activate();
    }
    const environments = extension.exports?.environments;
    if (!environments) {
      return { why: 'the Python extension offers no environments API (too old?)' };
    }
    const active = environments.getActiveEnvironmentPath(resource);
    if (!active?.path) {
      return { why: 'the Python extension has no interpreter selected' };
    }
    const resolved = await environments.resolveEnvironment(active);
    return { python: resolved?.executable?.uri?.fsPath || active.path };
  } catch (err) {
    return { why: `the Python extension failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export async function locateServer(options: LocateOptions = {}): Promise<LocateResult> {
  const env = options.env ?? process.env;
  const home = options.home ?? os.homedir();
  const platform = options.platform ?? process.platform;
  const pathApi = platform === 'win32' ? path.win32 : path.posix;
  const find = (command: string) => findExecutable(command, env, platform, options.isExecutable);
  const extension = options.pythonExtension?.();
  const result: LocateResult = { tried: [], pythonExtension: extension !== undefined };

  const setting = explicitSetting(options.setting);
  if (setting) {
    // The user's choice wins; quietly running another hermesd would hide their mistake.
    const command = find(expandHome(setting, home));
    if (command) {
      result.found = { command, source: 'hermes.server.path' };
    } else {
      result.tried.push(`hermes.server.path "${setting}": not found or not executable`);
    }
    return result;
  }
  result.tried.push('hermes.server.path: not set');

  const interpreter = await selectedInterpreter(extension, options.resource);
  if (interpreter.python) {
    const bin = pathApi.dirname(interpreter.python);
    const command = find(pathApi.join(bin, EXE));
    if (command) {
      result.found = { command, source: `the Python extension's interpreter (${interpreter.python})` };
      return result;
    }
    result.tried.push(`the Python extension's interpreter ${interpreter.python}: no ${EXE} in ${bin}`);
  } else {
    result.tried.push(interpreter.why ?? 'the Python extension: no interpreter');
  }

  const userBin = env.PIPX_BIN_DIR || pathApi.join(home, '.local', 'bin');
  // pipx names the venv after the distribution, hermesd-lsp, which is also the executable's name.
  const pipxVenv = pathApi.join(env.PIPX_HOME || pathApi.join(home, '.local', 'pipx'), 'venvs', EXE, platform === 'win32' ? 'Scripts' : 'bin', EXE);
  for (const candidate of [pathApi.join(userBin, EXE), pipxVenv]) {
    const command = find(candidate);
    if (command) {
      result.found = { command, source: `pipx / pip --user (${candidate})` };
      return result;
    }
  }
  result.tried.push(`pipx and pip --user: no ${pathApi.join(userBin, EXE)} or ${pipxVenv}`);

  const onPath = find(EXE);
  if (onPath) {
    result.found = { command: onPath, source: 'PATH' };
    return result;
  }
  const dirs = (env.PATH ?? '').split(platform === 'win32' ? ';' : ':').filter(Boolean).length;
  result.tried.push(`PATH (${dirs} ${dirs === 1 ? 'directory' : 'directories'}): no ${EXE}`);
  return result;
}

/** The not-found message: every place tried, and the ways out. */
export function notFoundText(tried: string[]): string {
  return (
    `Hermes could not start its server: hermesd was not found. Tried: ${tried.map((t, i) => `(${i + 1}) ${t}`).join('; ')}. ` +
    `Install it ${INSTALL_HINT}. Then select the interpreter it went into, ` +
    `or set "hermes.server.path" to its hermesd-lsp executable.`
  );
}
