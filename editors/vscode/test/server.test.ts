import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SERVER_PATH,
  RestartBackoff,
  checkProtocol,
  expandHome,
  findExecutable,
  initializeTimeoutMs,
  initializeTimeoutProblem,
  lastHermesdLine,
  serverCommand,
  wrongServerMessage,
} from '../src/logic/server';

describe('serverCommand', () => {
  it('defaults to hermesd-lsp --stdio', () => {
    expect(serverCommand({})).toEqual({ command: 'hermesd-lsp', args: ['--stdio'] });
    expect(serverCommand({ path: '  ', args: 'nonsense' })).toEqual({ command: 'hermesd-lsp', args: ['--stdio'] });
  });
  it('puts extra arguments before --stdio, once', () => {
    expect(serverCommand({ path: 'python3', args: ['-m', 'hermesd'] })).toEqual({
      command: 'python3',
      args: ['-m', 'hermesd', '--stdio'],
    });
    expect(serverCommand({ args: ['--stdio', '--log-level', 'debug'] }).args).toEqual(['--stdio', '--log-level', 'debug']);
    expect(serverCommand({ args: ['-v', 3, null] }).args).toEqual(['-v', '--stdio']);
  });
  it('adds --no-shared when hermes.server.shared is off, once', () => {
    expect(serverCommand({ shared: false }).args).toEqual(['--no-shared', '--stdio']);
    expect(serverCommand({ shared: false, args: ['--no-shared'] }).args).toEqual(['--no-shared', '--stdio']);
    expect(serverCommand({ shared: true }).args).toEqual(['--stdio']);
  });
  it('expands ~', () => {
    expect(serverCommand({ path: '~/.local/bin/hermesd' }, '/home/u').command).toBe('/home/u/.local/bin/hermesd');
    expect(expandHome('~', '/home/u')).toBe('/home/u');
    expect(expandHome('/abs/~x', '/home/u')).toBe('/abs/~x');
  });
});

describe('findExecutable', () => {
  const exists = (files: string[]) => (f: string) => files.includes(f);
  it('searches PATH in order', () => {
    const found = findExecutable('hermesd', { PATH: '/a:/b:/c' }, 'linux', exists(['/b/hermesd', '/c/hermesd']));
    expect(found).toBe('/b/hermesd');
  });
  it('returns undefined when missing', () => {
    expect(findExecutable('hermesd', { PATH: '/a' }, 'linux', exists([]))).toBeUndefined();
    expect(findExecutable('hermesd', {}, 'linux', exists([]))).toBeUndefined();
  });
  it('checks a path directly', () => {
    expect(findExecutable('/opt/h/hermesd', { PATH: '/a' }, 'linux', exists(['/opt/h/hermesd']))).toBe('/opt/h/hermesd');
    expect(findExecutable('./bin/hermesd', { PATH: '/a' }, 'linux', exists([]))).toBeUndefined();
  });
  it('tries PATHEXT on Windows', () => {
    const found = findExecutable('hermesd', { PATH: 'C:\\py\\Scripts', PATHEXT: '.EXE;.CMD' }, 'win32', exists(['C:\\py\\Scripts\\hermesd.EXE']));
    expect(found).toBe('C:\\py\\Scripts\\hermesd.EXE');
  });
  it('really finds an executable file and skips a non-executable one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hermes-which-'));
    const exe = path.join(dir, 'hermesd');
    fs.writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
    const plain = path.join(dir, 'plain');
    fs.writeFileSync(plain, '', { mode: 0o644 });
    expect(findExecutable('hermesd', { PATH: dir })).toBe(exe);
    if (process.platform !== 'win32' && process.getuid?.() !== 0) {
      expect(findExecutable('plain', { PATH: dir })).toBeUndefined();
    }
    expect(findExecutable(dir, { PATH: '' })).toBeUndefined(); // a directory is not an executable
    fs.rmSync(dir, { recursive: true });
  });
});

describe('checkProtocol', () => {
  it('accepts version 2', () => {
    expect(checkProtocol({ hermes: { protocolVersion: 2, methods: [] } })).toBeUndefined();
  });
  it('rejects another major version, saying what to update', () => {
    expect(checkProtocol({ hermes: { protocolVersion: 3 } })).toMatch(/Update the extension/);
    expect(checkProtocol({ hermes: { protocolVersion: 1 } })).toContain('Update the server (in its checkout: git pull, then "pip install ." again)');
  });
  it('rejects a server that is not hermesd, naming the executable and what it answered', () => {
    expect(checkProtocol(undefined, '/usr/bin/hermesd', 'hermesd-dashboard')).toBe(
      wrongServerMessage('/usr/bin/hermesd', 'answered initialize as "hermesd-dashboard", without a hermes protocol version'),
    );
    expect(checkProtocol({}, '/usr/bin/hermesd')).toContain('answered initialize as a server, without');
  });
});

describe('a server that is not hermesd', () => {
  it('is launched by a name only hermesd-lsp installs', () => {
    expect(DEFAULT_SERVER_PATH).toBe('hermesd-lsp');
    expect(serverCommand({}).command).toBe('hermesd-lsp');
  });
  it('has a few seconds to answer initialize, configurable', () => {
    expect(initializeTimeoutMs(undefined)).toBe(5000);
    expect(initializeTimeoutMs(2.5)).toBe(2500);
    expect(initializeTimeoutMs(0)).toBe(5000);
    expect(initializeTimeoutMs('3')).toBe(5000);
  });
  it('is described by what it printed, or by its silence', () => {
    expect(initializeTimeoutProblem(5000, '')).toBe('did not answer the LSP initialize request within 5 s');
    expect(initializeTimeoutProblem(2000, 'hermesd 2026.9.26: TUI dashboard\nusage: hermesd\n')).toBe(
      'printed "hermesd 2026.9.26: TUI dashboard" instead of answering the LSP initialize request within 2 s',
    );
  });
  it('gets a message naming the executable and how to point the extension at the right one', () => {
    const m = wrongServerMessage('/home/me/.local/bin/hermesd', 'did not answer');
    expect(m).toContain('Hermes started /home/me/.local/bin/hermesd, but it did not answer');
    expect(m).toContain('Install the server from a checkout of hermesd: "pip install ." there ("pipx install ." keeps it apart');
    expect(m).toContain('"hermes.server.path"');
  });
});

describe('RestartBackoff', () => {
  it('doubles up to the cap, then gives up', () => {
    const b = new RestartBackoff(1000, 4000, 4, 60_000, () => 0);
    expect([b.nextDelay(), b.nextDelay(), b.nextDelay(), b.nextDelay(), b.nextDelay()]).toEqual([1000, 2000, 4000, 4000, undefined]);
    expect(b.tries).toBe(4);
  });
  it('resets after a stable run', () => {
    let now = 0;
    const b = new RestartBackoff(1000, 30_000, 5, 60_000, () => now);
    b.nextDelay();
    b.nextDelay();
    b.started();
    now = 61_000;
    expect(b.nextDelay()).toBe(1000);
  });
  it('does not reset after a short run', () => {
    let now = 0;
    const b = new RestartBackoff(1000, 30_000, 5, 60_000, () => now);
    b.nextDelay();
    b.started();
    now = 5_000;
    expect(b.nextDelay()).toBe(2000);
  });
  it('resets on request', () => {
    const b = new RestartBackoff(1000, 30_000, 1, 60_000, () => 0);
    b.nextDelay();
    expect(b.nextDelay()).toBeUndefined();
    b.reset();
    expect(b.nextDelay()).toBe(1000);
  });
});

describe('lastHermesdLine', () => {
  it("keeps the forwarder's own last line, not a traceback's", () => {
    const chunk = 'Traceback (most recent call last):\nhermesd: first\n  File "x"\nhermesd: the shared daemon stopped and could not be restarted: 3 tries; the last: why\n';
    expect(lastHermesdLine(chunk)).toBe('hermesd: the shared daemon stopped and could not be restarted: 3 tries; the last: why');
    expect(lastHermesdLine('nothing of ours\n')).toBeUndefined();
    expect(lastHermesdLine('hermesd: ' + 'x'.repeat(1000))).toHaveLength(300);
  });
});

