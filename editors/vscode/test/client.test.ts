import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as vscode from './mocks/vscode';
import { HermesClient, INSTALL_ACTION, ServerNotRunningError } from '../src/client';
import { INSTALL_HINT } from '../src/logic/server';

/** A stand-in for vscode-languageclient's LanguageClient (hoisted above vi.mock). */
const { FakeLanguageClient } = vi.hoisted(() => {
  class FakeLanguageClient {
    static instances: FakeLanguageClient[] = [];
    static startBehaviour: 'ok' | 'fail' | 'hang' | 'slow' = 'ok';
    /** Answers a 'slow' start's initialize. */
    answer: () => void = () => undefined;
    static protocolVersion: number | undefined = 2;
    static serverName = 'hermesd';
    running = false;
    initializeResult: unknown;
    notifications = new Map<string, (params: unknown) => void>();
    stop = vi.fn(async () => {
      this.running = false;
    });
    dispose = vi.fn(async () => undefined);
    sendRequest = vi.fn(async (method: string, params: unknown) => ({ method, params }));
    constructor(
      readonly id: string,
      readonly name: string,
      readonly serverOptions: () => Promise<unknown>,
      readonly clientOptions: { errorHandler: { closed(): unknown }; outputChannel: { appendLine(line: string): void } },
    ) {
      FakeLanguageClient.instances.push(this);
    }
    async start(): Promise<void> {
      if (FakeLanguageClient.startBehaviour === 'fail') {
        throw new Error('spawn failed');
      }
      if (FakeLanguageClient.startBehaviour === 'hang') {
        return new Promise(() => undefined); // never answers initialize
      }
      if (FakeLanguageClient.startBehaviour === 'slow') {
        await new Promise<void>((resolve) => (this.answer = resolve));
      }
      this.running = true;
      const v = FakeLanguageClient.protocolVersion;
      this.initializeResult = {
        serverInfo: { name: FakeLanguageClient.serverName, version: '0.1.0' },
        capabilities: { experimental: v === undefined ? {} : { hermes: { protocolVersion: v } } },
      };
    }
    isRunning(): boolean {
      return this.running;
    }
    /** textDocument/inlineCompletion is a proposed feature of vscode-languageclient 9 (completion.ts). */
    proposedFeatures = false;
    registerProposedFeatures(): void {
      this.proposedFeatures = true;
    }
    needsStop(): boolean {
      return this.running;
    }
    onNotification(method: string, handler: (params: unknown) => void): void {
      this.notifications.set(method, handler);
    }
    onProgress() {
      return { dispose: () => undefined };
    }
    /** The server process died. */
    crash(): void {
      this.running = false;
      this.clientOptions.errorHandler.closed();
    }
  }
  return { FakeLanguageClient };
});

vi.mock('vscode-languageclient/node', () => ({
  LanguageClient: FakeLanguageClient,
  CloseAction: { DoNotRestart: 1, Restart: 2 },
  ErrorAction: { Continue: 1, Shutdown: 2 },
  RevealOutputChannelOn: { Never: 4 },
  WorkDoneProgress: { type: {} },
}));


const output = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), show: vi.fn(), appendLine: vi.fn() };

function setServerPath(path: string, initializeTimeout?: number): void {
  const values: Record<string, unknown> = { path, args: ['-m', 'hermesd'], initializeTimeout };
  vscode.workspace.getConfiguration.mockImplementation(() => ({ get: (key: string) => values[key] }));
}

beforeEach(() => {
  vscode.resetMock();
  FakeLanguageClient.instances = [];
  FakeLanguageClient.startBehaviour = 'ok';
  FakeLanguageClient.protocolVersion = 2;
  FakeLanguageClient.serverName = 'hermesd';
  setServerPath(process.execPath); // an executable that exists
});

afterEach(() => {
  vi.useRealTimers();
});

const flush = async () => {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
};

describe('HermesClient', () => {
  it('starts the server with --stdio, checks the protocol and reports running', async () => {
    const client = new HermesClient(output as never);
    const states: string[] = [];
    client.onDidChangeStatus((s) => states.push(s.state));
    await client.start();
    const lc = FakeLanguageClient.instances[0];
    expect(lc.id).toBe('hermes'); // so `hermes.trace.server` is the trace setting
    expect(typeof lc.serverOptions).toBe('function'); // spawned by the extension, so it can be killed
    expect(lc.proposedFeatures).toBe(true); // inline completion, which the daemon registers when configured
    expect(output.info).toHaveBeenCalledWith(`starting ${process.execPath} -m hermesd --stdio (found via hermes.server.path)`);
    expect(states).toEqual(['starting', 'running']);
    expect(client.serverVersion).toBe('0.1.0');
    expect(await client.request('hermes/listProviders', {})).toEqual({ method: 'hermes/listProviders', params: {} });
  });

  it('routes notifications to its events', async () => {
    const client = new HermesClient(output as never);
    const deltas: unknown[] = [];
    const changes: unknown[] = [];
    client.onChatDelta((d) => deltas.push(d));
    client.onConfigChanged((c) => changes.push(c));
    await client.start();
    const lc = FakeLanguageClient.instances[0];
    lc.notifications.get('hermes/chatDelta')!({ sessionId: 's', requestId: 1, seq: 0, text: 'x' });
    lc.notifications.get('hermes/configChanged')!({ key: 'model.default', value: 'm' });
    expect(deltas).toHaveLength(1);
    expect(changes).toEqual([{ key: 'model.default', value: 'm' }]);
  });

  it('explains what it tried when hermesd is not found, and installs it from a checkout on request', async () => {
    setServerPath('/nonexistent/bin/hermesd');
    vscode.window.showErrorMessage.mockResolvedValueOnce(INSTALL_ACTION);
    const checkout = path.resolve(__dirname, '../../..'); // this repository: its pyproject.toml names hermesd-lsp
    vscode.window.showOpenDialog.mockResolvedValueOnce([{ fsPath: checkout }]);
    const client = new HermesClient(output as never);
    await client.start();
    await flush();
    expect(FakeLanguageClient.instances).toHaveLength(0);
    expect(client.serverStatus).toMatchObject({ state: 'stopped', notFound: true });
    const [message, ...buttons] = vscode.window.showErrorMessage.mock.calls[0];
    expect(message).toContain('hermes.server.path "/nonexistent/bin/hermesd": not found');
    expect(message).toContain('from a checkout of hermesd: "pip install ." there');
    expect(message).not.toContain('pip install hermesd-lsp'); // not on a package registry: it finds nothing
    expect(buttons).toEqual(['Set Path', 'Install from Checkout…']); // no Python extension: no "Select Interpreter"
    const terminal = vscode.window.createTerminal.mock.results[0].value;
    expect(terminal.sendText).toHaveBeenCalledWith(`pip install '${checkout}' && exit`);
    await expect(client.request('hermes/chat', {})).rejects.toBeInstanceOf(ServerNotRunningError);
  });

  it('refuses to install from a folder that is not a checkout of hermesd', async () => {
    setServerPath('/nonexistent/bin/hermesd');
    vscode.window.showErrorMessage.mockResolvedValueOnce(INSTALL_ACTION);
    vscode.window.showOpenDialog.mockResolvedValueOnce([{ fsPath: __dirname }]);
    const client = new HermesClient(output as never);
    await client.start();
    await flush();
    expect(vscode.window.createTerminal).not.toHaveBeenCalled();
    expect(vscode.window.showErrorMessage.mock.calls[1][0]).toBe(
      `Hermes: ${__dirname} is not a checkout of hermesd (its pyproject.toml does not name hermesd-lsp). Install the server ${INSTALL_HINT}.`,
    );
  });

  it('offers Select Interpreter with the Python extension, and Set Path saves a checked path', async () => {
    // Nothing to find anywhere: no hermesd-lsp on PATH, in ~/.local or pipx.
    vi.stubEnv('PATH', '/nonexistent');
    vi.stubEnv('HOME', '/nonexistent-home');
    vi.stubEnv('PIPX_BIN_DIR', '');
    vi.stubEnv('PIPX_HOME', '');
    const update = vi.fn(async () => undefined);
    vscode.workspace.getConfiguration.mockImplementation(() => ({ get: (key: string) => (key === 'path' ? '' : undefined), update }));
    let python = '/nowhere/bin/python';
    let interpreterChanged: (() => unknown) | undefined;
    const environments = {
      getActiveEnvironmentPath: () => ({ id: 'e', path: python }),
      resolveEnvironment: async () => ({ executable: { uri: { fsPath: python } } }),
      onDidChangeActiveEnvironmentPath: (listener: () => unknown) => {
        interpreterChanged = listener;
        return { dispose: () => undefined };
      },
    };
    vscode.extensions.getExtension.mockImplementation(() => ({ isActive: true, activate: async () => undefined, exports: { environments } }));
    vscode.window.showErrorMessage.mockResolvedValueOnce('Set Path');
    let validate: ((text: string) => string | undefined) | undefined;
    vscode.window.showInputBox.mockImplementationOnce(async (options?: unknown) => {
      validate = (options as { validateInput: (t: string) => string | undefined }).validateInput;
      return process.execPath;
    });
    const client = new HermesClient(output as never);
    await client.start();
    await flush();
    const [message, ...buttons] = vscode.window.showErrorMessage.mock.calls[0];
    expect(buttons).toEqual(['Select Interpreter', 'Set Path', 'Install from Checkout…']);
    expect(message).toContain("the Python extension's interpreter /nowhere/bin/python: no hermesd-lsp in /nowhere/bin");
    expect(validate?.('/nonexistent/hermesd')).toBe('No executable file at /nonexistent/hermesd');
    expect(validate?.(process.execPath)).toBeUndefined();
    expect(update).toHaveBeenCalledWith('path', process.execPath, vscode.ConfigurationTarget.Global);

    // The user selects a venv that has hermesd-lsp in the Python extension: it is found and started.
    const venv = fs.mkdtempSync(path.join(os.tmpdir(), 'hermes-venv-'));
    fs.writeFileSync(path.join(venv, 'hermesd-lsp'), '#!/bin/sh\n', { mode: 0o755 });
    python = path.join(venv, 'python');
    interpreterChanged?.();
    await flush();
    await flush();
    expect(FakeLanguageClient.instances).toHaveLength(1);
    expect(output.info).toHaveBeenCalledWith(
      `starting ${path.join(venv, 'hermesd-lsp')} --stdio (found via the Python extension's interpreter (${python}))`,
    );
    expect(client.serverStatus.state).toBe('running');
    fs.rmSync(venv, { recursive: true });
    vi.unstubAllEnvs();
  });

  it('refuses a server speaking another protocol version', async () => {
    FakeLanguageClient.protocolVersion = 3;
    const client = new HermesClient(output as never);
    await client.start();
    expect(client.serverStatus.state).toBe('stopped');
    expect(FakeLanguageClient.instances[0].stop).toHaveBeenCalled();
    expect(vscode.window.showErrorMessage.mock.calls[0][0]).toMatch(/protocol version 3.*Update the extension/);
  });

  it('stops a server that does not answer initialize in time, naming the executable', async () => {
    vi.useFakeTimers();
    setServerPath(process.execPath, 2);
    FakeLanguageClient.startBehaviour = 'hang';
    const client = new HermesClient(output as never);
    const starting = client.start();
    await vi.advanceTimersByTimeAsync(1999);
    expect(client.serverStatus.state).toBe('starting');
    await vi.advanceTimersByTimeAsync(1);
    await starting;
    expect(client.serverStatus.state).toBe('stopped');
    const [message, ...buttons] = vscode.window.showErrorMessage.mock.calls[0];
    expect(message).toContain(`Hermes started ${process.execPath}, but it did not answer the LSP initialize request within 2 s`);
    expect(message).toContain(`Install the server ${INSTALL_HINT}`);
    expect(message).toContain('"hermes.server.path"');
    expect(buttons).toEqual(['Open Settings', 'Show Logs']);
    expect(FakeLanguageClient.instances).toHaveLength(1); // not restarted: it is the wrong program
    await expect(client.request('hermes/chat', {})).rejects.toThrow(/did not answer the LSP initialize request/);
  });

  /** Starts a server (2 s timeout) that has not answered initialize and logs `line` meanwhile. */
  async function startLogging(line: string) {
    vi.useFakeTimers();
    setServerPath(process.execPath, 2);
    FakeLanguageClient.startBehaviour = 'slow';
    const client = new HermesClient(Object.freeze({ ...output }) as never); // as VS Code's channel is
    const starting = client.start();
    await flush();
    const fake = FakeLanguageClient.instances[0];
    // What vscode-languageclient does with a window/logMessage (type Log) before the initialize answer.
    fake.clientOptions.outputChannel.appendLine(line);
    return { client, starting, fake };
  }

  it('waits past the timeout for a server that said hermesd is starting, as the daemon bounds that start itself', async () => {
    const { client, starting, fake } = await startLogging('hermesd 0.3.0: starting the shared daemon');
    expect(output.appendLine).toHaveBeenCalledWith('hermesd 0.3.0: starting the shared daemon');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(client.serverStatus.state).toBe('starting');
    expect(vscode.window.showErrorMessage).not.toHaveBeenCalled();
    fake.answer();
    await starting;
    expect(client.serverStatus.state).toBe('running');
    expect(fake.stop).not.toHaveBeenCalled();
  });

  it('still refuses at the timeout a server whose log lines do not say hermesd is starting', async () => {
    const { client, starting } = await startLogging('hermesd-dashboard: starting on port 8080');
    await vi.advanceTimersByTimeAsync(2000);
    await starting;
    expect(client.serverStatus.state).toBe('stopped');
    expect(vscode.window.showErrorMessage.mock.calls[0][0]).toContain('did not answer the LSP initialize request within 2 s');
  });

  it('checks what the search found too: a hermesd-lsp on PATH that hangs is refused, named by its path', async () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'hermes-path-'));
    const exe = path.join(bin, 'hermesd-lsp');
    fs.writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
    vi.stubEnv('PATH', bin);
    vi.stubEnv('HOME', '/nonexistent-home');
    vi.stubEnv('PIPX_BIN_DIR', '');
    vi.stubEnv('PIPX_HOME', '');
    vscode.workspace.getConfiguration.mockImplementation(() => ({
      get: (key: string) => ({ path: 'hermesd', initializeTimeout: 1 })[key], // plain "hermesd": search
    }));
    vi.useFakeTimers();
    FakeLanguageClient.startBehaviour = 'hang';
    try {
      const client = new HermesClient(output as never);
      const starting = client.start();
      await vi.advanceTimersByTimeAsync(1000);
      await starting;
      expect(output.info).toHaveBeenCalledWith(`starting ${exe} --stdio (found via PATH)`);
      expect(client.serverStatus.state).toBe('stopped');
      const [message, ...buttons] = vscode.window.showErrorMessage.mock.calls[0];
      expect(message).toContain(`Hermes started ${exe}, but it did not answer the LSP initialize request within 1 s`);
      expect(buttons).toEqual(['Open Settings', 'Show Logs']);
    } finally {
      fs.rmSync(bin, { recursive: true });
      vi.unstubAllEnvs();
    }
  });

  it('stops a server that answers initialize as another program', async () => {
    FakeLanguageClient.protocolVersion = undefined;
    FakeLanguageClient.serverName = 'hermesd-dashboard';
    const client = new HermesClient(output as never);
    await client.start();
    expect(client.serverStatus.state).toBe('stopped');
    expect(FakeLanguageClient.instances[0].stop).toHaveBeenCalled();
    expect(vscode.window.showErrorMessage.mock.calls[0][0]).toContain(
      `Hermes started ${process.execPath}, but it answered initialize as "hermesd-dashboard", without a hermes protocol version`,
    );
  });

  it('restarts a crashed server with backoff, then gives up with logs and restart buttons', async () => {
    vi.useFakeTimers();
    const client = new HermesClient(output as never);
    await client.start();
    const delays = [1000, 2000, 4000, 8000, 16000];
    for (const [i, delay] of delays.entries()) {
      FakeLanguageClient.instances[i].crash();
      await vi.advanceTimersByTimeAsync(0);
      expect(client.serverStatus.state).toBe('stopped');
      expect((client.serverStatus as { message: string }).message).toContain(`restarting in ${delay / 1000} s`);
      await vi.advanceTimersByTimeAsync(delay);
      expect(FakeLanguageClient.instances).toHaveLength(i + 2);
      expect(client.serverStatus.state).toBe('running');
    }
    FakeLanguageClient.instances[5].crash();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeLanguageClient.instances).toHaveLength(6);
    expect(client.serverStatus.state).toBe('stopped');
    const [message, ...buttons] = vscode.window.showErrorMessage.mock.calls[0];
    expect(message).toContain('5 times in a row');
    expect(buttons).toEqual(['Show Logs', 'Restart']);
  });

  it('a failed start counts as a crash', async () => {
    vi.useFakeTimers();
    FakeLanguageClient.startBehaviour = 'fail';
    const client = new HermesClient(output as never);
    await client.start();
    expect(client.serverStatus).toMatchObject({ state: 'stopped' });
    expect((client.serverStatus as { message: string }).message).toContain('hermesd failed to start; restarting in 1 s');
    FakeLanguageClient.startBehaviour = 'ok';
    await vi.advanceTimersByTimeAsync(1000);
    expect(client.serverStatus.state).toBe('running');
  });

  it('restart stops the old server, resets the backoff and starts a new one', async () => {
    const client = new HermesClient(output as never);
    await client.start();
    const first = FakeLanguageClient.instances[0];
    await client.restart();
    expect(first.stop).toHaveBeenCalled();
    expect(first.dispose).toHaveBeenCalled();
    expect(FakeLanguageClient.instances).toHaveLength(2);
    expect(client.serverStatus.state).toBe('running');
    // A close of the old client after the restart is not taken for a crash.
    first.clientOptions.errorHandler.closed();
    await flush();
    expect(client.serverStatus.state).toBe('running');
  });

  it('waits for a starting server before sending a request', async () => {
    const client = new HermesClient(output as never);
    const starting = client.start();
    const result = client.request('hermes/getConfig', {});
    await starting;
    await expect(result).resolves.toEqual({ method: 'hermes/getConfig', params: {} });
  });
});
