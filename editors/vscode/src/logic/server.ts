/**
 * Finding and supervising the hermesd process: command line from the
 * settings, PATH lookup, protocol check, restart backoff. No vscode import.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HermesCapabilities, PROTOCOL_VERSION } from '../protocol';

/** A name only this project's distribution installs (the registry's `hermesd` is another program). */
export const DEFAULT_SERVER_PATH = 'hermesd-lsp';
export const INSTALL_COMMAND = 'pip install hermesd-lsp';
/** How long a server has to answer `initialize` before it is stopped as not hermesd. */
export const DEFAULT_INITIALIZE_TIMEOUT_S = 5;

export interface ServerSettings {
  path?: string;
  args?: unknown;
  shared?: unknown;
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

/** The command line for `hermesd --stdio` from hermes.server.path / .args / .shared. */
export function serverCommand(settings: ServerSettings, home?: string): ServerCommand {
  const raw = typeof settings.path === 'string' ? settings.path.trim() : '';
  const command = expandHome(raw || DEFAULT_SERVER_PATH, home);
  const args = Array.isArray(settings.args) ? settings.args.filter((a): a is string => typeof a === 'string') : [];
  if (settings.shared === false && !args.includes('--no-shared')) {
    args.push('--no-shared'); // a daemon for this window alone, not the shared per-user one
  }
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

/** hermes.server.initializeTimeout (seconds) in milliseconds; the default when unset or not positive. */
export function initializeTimeoutMs(seconds: unknown): number {
  const s = typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_INITIALIZE_TIMEOUT_S;
  return Math.round(s * 1000);
}

/**
 * The message for a program that is not hermesd's server (it hung, printed
 * something else, or answered as another program): names the executable it
 * ran and how to point the extension at the right one.
 */
export function wrongServerMessage(executable: string, problem: string): string {
  return (
    `Hermes started ${executable}, but it ${problem}: it is not hermesd's language server ` +
    `(the package registry's "hermesd" is another program). Install the server with "${INSTALL_COMMAND}" ` +
    `(pipx or a venv keeps it apart) and set "hermes.server.path" to its hermesd-lsp executable, then restart the server.`
  );
}

/**
 * The last line of a stderr chunk the forwarder wrote about itself (`hermesd: ...`), at most 300
 * characters: why it gave up on the shared daemon (docs/protocol.md, "When the daemon restarts").
 */
export function lastHermesdLine(chunk: string): string | undefined {
  const lines = chunk.split(/\r?\n/).filter((line) => line.startsWith('hermesd: '));
  return lines.length ? lines[lines.length - 1].slice(0, 300) : undefined;
}

/**
 * Whether a log line is hermesd's "hermesd <version>: starting …", which
 * `hermesd --stdio` sends before it starts a daemon (docs/protocol.md, "Lifecycle").
 */
export function saysStarting(line: string): boolean {
  return /^hermesd \S+: starting /.test(line);
}

/** What a server that did not answer `initialize` in time did, from the first output it printed. */
export function initializeTimeoutProblem(timeoutMs: number, printed: string): string {
  const within = `within ${timeoutMs / 1000} s`;
  const first = printed.trim().split(/\r?\n/)[0]?.slice(0, 120) ?? '';
  return first
    ? `printed "${first}" instead of answering the LSP initialize request ${within}`
    : `did not answer the LSP initialize request ${within}`;
}

/** Reads the protocol version; an error message when it is not ours. */
export function checkProtocol(experimental: unknown, executable = 'the server', serverName?: unknown): string | undefined {
  const hermes = (experimental as { hermes?: HermesCapabilities } | undefined)?.hermes;
  if (!hermes || typeof hermes.protocolVersion !== 'number') {
    const as = typeof serverName === 'string' && serverName ? `"${serverName}"` : 'a server';
    return wrongServerMessage(executable, `answered initialize as ${as}, without a hermes protocol version`);
  }
  if (Math.floor(hermes.protocolVersion) !== Math.floor(PROTOCOL_VERSION)) {
    return (
      `hermesd speaks protocol version ${hermes.protocolVersion}; this extension speaks ${PROTOCOL_VERSION}. ` +
      `Update ${hermes.protocolVersion > PROTOCOL_VERSION ? 'the extension' : `the server (${INSTALL_COMMAND} --upgrade)`}.`
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
