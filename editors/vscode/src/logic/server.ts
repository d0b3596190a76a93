/**
 * Finding and supervising the hermesd process: command line from the
 * settings, PATH lookup, protocol check, restart backoff. No vscode import.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HermesCapabilities, PROTOCOL_VERSION } from '../protocol';

export const DEFAULT_SERVER_PATH = 'hermesd';
export const INSTALL_COMMAND = 'pip install hermesd';

export interface ServerSettings {
  path?: string;
  args?: unknown;
}

export interface ServerCommand {
  command: string;
  args: string[];
}

/** Expands a leading "~" to the home directory. */
export function expandHome(p: string, home = os.homedir()): string {
  if (p === '~') {
    return home;
  }
  if (p.startsWith('~/') || p.startsWith('~\\')) {
    return path.join(home, p.slice(2));
  }
  return p;
}

/** The command line for `hermesd --stdio` from hermes.server.path / .args. */
export function serverCommand(settings: ServerSettings, home?: string): ServerCommand {
  const raw = typeof settings.path === 'string' ? settings.path.trim() : '';
  const command = expandHome(raw || DEFAULT_SERVER_PATH, home);
  const args = Array.isArray(settings.args) ? settings.args.filter((a): a is string => typeof a === 'string') : [];
  if (!args.includes('--stdio')) {
    args.push('--stdio');
  }
  return { command, args };
}

export interface LookupEnv {
  PATH?: string;
  PATHEXT?: string;
}

function defaultIsExecutable(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (process.platform === 'win32') {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where `command` would be found: itself when it is a path, else the first
 * match on PATH. Undefined when it cannot be found or is not executable.
 */
export function findExecutable(
  command: string,
  env: LookupEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  isExecutable: (file: string) => boolean = defaultIsExecutable,
): string | undefined {
  const pathApi = platform === 'win32' ? path.win32 : path.posix;
  const exts =
    platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';').filter(Boolean)] : [''];
  const hasSeparator = command.includes('/') || (platform === 'win32' && command.includes('\\'));
  if (hasSeparator || pathApi.isAbsolute(command)) {
    return exts.map((ext) => command + ext).find(isExecutable);
  }
  const dirs = (env.PATH ?? '').split(platform === 'win32' ? ';' : ':').filter(Boolean);
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = pathApi.join(dir, command + ext);
      if (isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** Reads the protocol version; an error message when it is not ours. */
export function checkProtocol(experimental: unknown): string | undefined {
  const hermes = (experimental as { hermes?: HermesCapabilities } | undefined)?.hermes;
  if (!hermes || typeof hermes.protocolVersion !== 'number') {
    return 'The server did not announce a hermes protocol version: is "hermes.server.path" really hermesd?';
  }
  if (Math.floor(hermes.protocolVersion) !== PROTOCOL_VERSION) {
    return (
      `hermesd speaks protocol version ${hermes.protocolVersion}; this extension speaks ${PROTOCOL_VERSION}. ` +
      `Update ${hermes.protocolVersion > PROTOCOL_VERSION ? 'the extension' : `hermesd (pip install -U hermesd)`}.`
    );
  }
  return undefined;
}

/**
 * Restart policy after the server dies: exponential backoff, giving up after
 * `maxAttempts` crashes in a row. A server that stayed up for `stableMs`
 * counts as healthy again and resets the count.
 */
export class RestartBackoff {
  private attempts = 0;
  private startedAt: number | undefined;

  constructor(
    private readonly baseMs = 1000,
    private readonly maxMs = 30_000,
    readonly maxAttempts = 5,
    private readonly stableMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Call when the server started successfully. */
  started(): void {
    this.startedAt = this.now();
  }

  /** Call when the server died; the delay before the next try, or undefined to give up. */
  nextDelay(): number | undefined {
    if (this.startedAt !== undefined && this.now() - this.startedAt >= this.stableMs) {
      this.attempts = 0;
    }
    this.startedAt = undefined;
    if (this.attempts >= this.maxAttempts) {
      return undefined;
    }
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** this.attempts);
    this.attempts += 1;
    return delay;
  }

  /** How many restarts were tried since the last healthy run. */
  get tries(): number {
    return this.attempts;
  }

  /** A user-requested restart starts afresh. */
  reset(): void {
    this.attempts = 0;
    this.startedAt = undefined;
  }
}
