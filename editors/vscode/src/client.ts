/**
 * The connection to hermesd: finds `hermesd-lsp` (logic/locate.ts), starts it
 * with `--stdio` through vscode-languageclient, refuses a program that is not
 * hermesd (no timely initialize, another protocol), restarts with backoff
 * when the process dies, and tells the user what to do when it cannot run.
 */
import { ChildProcess, spawn } from 'child_process';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  RevealOutputChannelOn,
  ServerOptions,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from 'vscode-languageclient/node';
import { ChatDelta, ConfigChanged, Notifications } from './protocol';
import {
  INSTALL_COMMAND,
  INSTALL_HINT,
  RestartBackoff,
  checkProtocol,
  checkoutInstallLine,
  expandHome,
  findExecutable,
  initializeTimeoutMs,
  initializeTimeoutProblem,
  isCheckout,
  lastHermesdLine,
  saysStarting,
  serverCommand,
  wrongServerMessage,
} from './logic/server';
import { PYTHON_EXTENSION_ID, PythonExtensionLike, explicitSetting, locateServer, notFoundText } from './logic/locate';
import { ServerStatus } from './logic/chatTypes';

export class ServerNotRunningError extends Error {
  readonly hint = 'Run "Hermes: Restart Server", or "Hermes: Show Logs" to see why it stopped.';
  constructor(message: string) {
    super(message);
    this.name = 'ServerNotRunningError';
  }
}

export type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

/** A language client that stays quiet once Hermes has explained a failure itself. */
class HermesLanguageClient extends LanguageClient {
  quiet = false;
  override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
    super.error(message, data, this.quiet ? false : showNotification);
  }
}

/** The not-found notification's button: hermesd is installed from a checkout, not a package registry. */
export const INSTALL_ACTION = 'Install from Checkout…';

export class HermesClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly exited = new WeakSet<LanguageClient>();
  /** Each server's last `hermesd: ...` stderr line after its handshake: why the forwarder gave up on the shared daemon. */
  private readonly lastWords = new WeakMap<LanguageClient, string>();
  /** The process behind each client (spawned here, so stopping it is ours to finish). */
  private readonly processes = new WeakMap<LanguageClient, ChildProcess>();
  private readonly backoff = new RestartBackoff();
  private installTerminal: vscode.Terminal | undefined;
  private interpreterWatch: { dispose(): unknown } | undefined;
  private status: ServerStatus = { state: 'stopped', message: 'hermesd has not been started.' };
  private disposed = false;

  private readonly stateEmitter = new vscode.EventEmitter<ServerStatus>();
  private readonly deltaEmitter = new vscode.EventEmitter<ChatDelta>();
  private readonly configEmitter = new vscode.EventEmitter<ConfigChanged>();
  private readonly providersEmitter = new vscode.EventEmitter<unknown>();
  private readonly disposables: vscode.Disposable[] = [];

  /** Server status changes (starting, running, stopped). */
  readonly onDidChangeStatus = this.stateEmitter.event;
  readonly onChatDelta = this.deltaEmitter.event;
  readonly onConfigChanged = this.configEmitter.event;
  readonly onProvidersChanged = this.providersEmitter.event;

  /** Middleware for the language features the daemon registers (inline completion: completion.ts). */
  middleware: Middleware = {};

  constructor(private readonly output: vscode.LogOutputChannel) {
    this.disposables.push(
      this.stateEmitter,
      this.deltaEmitter,
      this.configEmitter,
      this.providersEmitter,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('hermes.server')) {
          this.output.info('hermes.server settings changed: restarting hermesd');
          void this.restart();
        }
      }),
      vscode.window.onDidCloseTerminal((terminal) => {
        if (terminal === this.installTerminal) {
          this.installTerminal = undefined;
          void this.restart();
        }
      }),
    );
  }

  get serverStatus(): ServerStatus {
    return this.status;
  }

  /** The running language client, for features that talk LSP themselves (completion.ts). */
  get languageClient(): LanguageClient | undefined {
    return this.client?.isRunning() ? this.client : undefined;
  }

  get serverVersion(): string | undefined {
    return this.client?.initializeResult?.serverInfo?.version;
  }

  private setStatus(status: ServerStatus): void {
    this.status = status;
    this.stateEmitter.fire(status);
  }

  /** Starts the server unless it is running or starting. */
  start(): Promise<void> {
    if (this.disposed) {
      return Promise.resolve();
    }
    if (this.client?.isRunning()) {
      return Promise.resolve();
    }
    if (!this.starting) {
      this.starting = this.doStart().finally(() => (this.starting = undefined));
    }
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.clearRestartTimer();
    const settings = vscode.workspace.getConfiguration('hermes.server');
    const { args } = serverCommand({ path: settings.get('path'), args: settings.get('args'), shared: settings.get('shared') });
    this.setStatus({ state: 'starting' });
    const located = await locateServer({
      setting: settings.get<string>('path'),
      pythonExtension: () => vscode.extensions.getExtension(PYTHON_EXTENSION_ID) as PythonExtensionLike | undefined,
      resource: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    this.watchInterpreter();
    if (!located.found) {
      const message = notFoundText(located.tried);
      this.output.error(message);
      this.setStatus({ state: 'stopped', message, notFound: true });
      void this.showNotFound(message, located.pythonExtension);
      return;
    }
    const executable = located.found.command;
    this.output.info(`starting ${executable} ${args.join(' ')} (found via ${located.found.source})`);
    // Spawned here, not by the language client, so that a server that never
    // answers initialize (another program called hermesd) can be killed.
    // Whatever the search found goes through the same check.
    const proc: { child?: ChildProcess; printed: string; starting?: boolean } = { printed: '' };
    const serverOptions: ServerOptions = () =>
      new Promise<ChildProcess>((resolve, reject) => {
        const child = spawn(executable, args, { env: process.env });
        child.once('error', reject);
        child.once('spawn', () => {
          proc.child = child;
          this.processes.set(client, child);
          child.stdout?.on('data', (data: Buffer) => {
            if (!client.initializeResult && proc.printed.length < 400) {
              proc.printed += data.toString('utf8');
            }
          });
          child.stderr?.on('data', (data: Buffer) => {
            const said = client.initializeResult ? lastHermesdLine(data.toString('utf8')) : undefined;
            if (said) {
              this.lastWords.set(client, said);
            }
          });
          resolve(child);
        });
      });
    const self: { client?: LanguageClient } = {};
    const options = this.clientOptions(() => self.client, () => (proc.starting = true));
    const client = new HermesLanguageClient('hermes', 'Hermes', serverOptions, options);
    // textDocument/inlineCompletion (LSP 3.18) is a proposed feature of vscode-languageclient 9: the daemon
    // registers it when completion is configured (completion.ts).
    client.registerProposedFeatures();
    self.client = client;
    this.client = client;
    this.registerHandlers(client);
    const timeoutMs = initializeTimeoutMs(settings.get('initializeTimeout'));
    let timer: NodeJS.Timeout | undefined;
    const started = client.start().then(() => true);
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    let answered: boolean;
    try {
      answered = await Promise.race([started, timedOut]);
      if (!answered && proc.starting) {
        // It said it is hermesd, starting a daemon, and bounds that start itself
        // (15 s, then in its own process: docs/protocol.md, "Lifecycle").
        this.output.info(`no initialize answer within ${timeoutMs / 1000} s, but hermesd said it is starting: waiting`);
        answered = await started;
      }
    } catch (err) {
      this.output.error(`hermesd failed to start: ${err instanceof Error ? err.message : String(err)}`);
      this.handleExit(client, 'hermesd failed to start');
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.client !== client) {
      return; // restarted or disposed meanwhile
    }
    if (!answered) {
      started.catch(() => undefined); // it fails when the process is killed
      client.quiet = true; // ...and the language client's "couldn't create connection" would say less than ours
      await this.refuse(client, wrongServerMessage(executable, initializeTimeoutProblem(timeoutMs, proc.printed)), proc.child);
      return;
    }
    const initialized = client.initializeResult;
    const protocolError = checkProtocol(initialized?.capabilities.experimental, executable, initialized?.serverInfo?.name);
    if (protocolError) {
      await this.refuse(client, protocolError);
      return;
    }
    this.backoff.started();
    const version = this.serverVersion;
    this.output.info(`hermesd ${version ?? ''} is running`);
    this.setStatus({ state: 'running', version });
  }

  /** Stops a server that is not the one this extension speaks to, and says why. */
  private async refuse(client: LanguageClient, message: string, child?: ChildProcess): Promise<void> {
    this.output.error(message);
    this.exited.add(client);
    this.client = undefined;
    if (child) {
      child.kill(); // it never finished the handshake: nothing to shut down politely
    } else {
      await client.stop().catch(() => undefined);
    }
    void client.dispose().catch(() => undefined);
    this.setStatus({ state: 'stopped', message });
    void vscode.window.showErrorMessage(message, 'Open Settings', 'Show Logs').then((choice) => {
      if (choice === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'hermes.server');
      } else if (choice === 'Show Logs') {
        this.output.show();
      }
    });
  }

  private clientOptions(owner: () => LanguageClient | undefined, onStarting: () => void): LanguageClientOptions {
    // The daemon's "hermesd <version>: starting …" log message comes before the
    // initialize answer, when the language client's handlers are not yet ours:
    // it reaches only the output channel (a window/logMessage of type Log).
    // Defined, not assigned: VS Code's channel object is frozen.
    const output: vscode.LogOutputChannel = Object.create(this.output, {
      appendLine: {
        value: (line: string) => {
          if (saysStarting(line)) {
            onStarting();
          }
          this.output.appendLine(line);
        },
      },
    });
    return {
      documentSelector: [],
      outputChannel: output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: { clientName: 'vscode' },
      middleware: this.middleware,
      initializationFailedHandler: () => false,
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: true }),
        closed: () => {
          const client = owner();
          if (client) {
            // Let the language client finish its own bookkeeping first.
            setTimeout(() => {
              const said = this.lastWords.get(client);
              this.handleExit(client, said ? `hermesd stopped unexpectedly (${said})` : 'hermesd stopped unexpectedly');
            }, 0);
          }
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
  }

  private registerHandlers(client: LanguageClient): void {
    client.onNotification(Notifications.chatDelta, (params: ChatDelta) => this.deltaEmitter.fire(params));
    client.onNotification(Notifications.configChanged, (params: ConfigChanged) => this.configEmitter.fire(params));
    client.onNotification(Notifications.providersChanged, (params: unknown) => this.providersEmitter.fire(params));
  }

  /** The process died or never came up: schedule a restart, or give up. */
  private handleExit(client: LanguageClient, what: string): void {
    if (this.exited.has(client) || this.client !== client || this.disposed) {
      return;
    }
    this.exited.add(client);
    this.client = undefined;
    void client.dispose().catch(() => undefined);
    const delay = this.backoff.nextDelay();
    if (delay === undefined) {
      const message = `${what} ${this.backoff.maxAttempts} times in a row; Hermes stopped restarting it.`;
      this.output.error(message);
      this.setStatus({ state: 'stopped', message });
      void this.showCrashed(message);
      return;
    }
    const seconds = Math.round(delay / 1000);
    const message = `${what}; restarting in ${seconds} s (attempt ${this.backoff.tries} of ${this.backoff.maxAttempts}).`;
    this.output.warn(message);
    this.setStatus({ state: 'stopped', message });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.start();
    }, delay);
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
  }

  private async showNotFound(message: string, pythonExtension: boolean): Promise<void> {
    const actions = [...(pythonExtension ? ['Select Interpreter'] : []), 'Set Path', INSTALL_ACTION];
    const choice = await vscode.window.showErrorMessage(message, ...actions);
    if (choice === 'Select Interpreter') {
      await this.selectInterpreter();
    } else if (choice === 'Set Path') {
      await this.askServerPath();
    } else if (choice === INSTALL_ACTION) {
      await this.installFromCheckout();
    }
  }

  /** Asks for a checkout of hermesd (it is not on a package registry) and installs it in a terminal. */
  private async installFromCheckout(): Promise<void> {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      title: 'Hermes: the checkout of hermesd to install the server from',
      openLabel: 'Install from This Checkout',
    });
    const folder = picked?.[0]?.fsPath;
    if (!folder) {
      return;
    }
    if (!isCheckout(folder)) {
      void vscode.window.showErrorMessage(
        `Hermes: ${folder} is not a checkout of hermesd (its pyproject.toml does not name hermesd-lsp). Install the server ${INSTALL_HINT}.`,
      );
      return;
    }
    this.installTerminal?.dispose();
    this.installTerminal = vscode.window.createTerminal({ name: 'Hermes: install hermesd' });
    this.installTerminal.show();
    // The terminal closes when the install succeeds; its closing restarts the server.
    this.installTerminal.sendText(checkoutInstallLine(folder));
  }

  /** The Python extension's interpreter picker; hermesd beside the new choice is used at once. */
  async selectInterpreter(): Promise<void> {
    await vscode.commands.executeCommand('python.setInterpreter');
    if (!this.interpreterWatch) {
      await this.restart(); // an extension without the change event: look again now
    }
  }

  /** Another interpreter selected in the Python extension: look for hermesd again (unless the setting pins it). */
  private watchInterpreter(): void {
    const extension = vscode.extensions.getExtension(PYTHON_EXTENSION_ID) as PythonExtensionLike | undefined;
    const onChange = extension?.isActive ? extension.exports?.environments?.onDidChangeActiveEnvironmentPath : undefined;
    if (this.interpreterWatch || !onChange) {
      return;
    }
    this.interpreterWatch = onChange(() => {
      if (!explicitSetting(vscode.workspace.getConfiguration('hermes.server').get<string>('path'))) {
        this.output.info('the Python interpreter changed: looking for hermesd again');
        void this.restart();
      }
    });
  }

  /** Asks for the hermesd-lsp executable (checked before it is saved) and saves it as hermes.server.path. */
  async askServerPath(): Promise<void> {
    const value = await vscode.window.showInputBox({
      title: 'Hermes: path to hermesd-lsp',
      prompt: `The hermesd-lsp executable, e.g. ~/.venvs/tools/bin/hermesd-lsp (where "${INSTALL_COMMAND}" in hermesd's checkout put it)`,
      placeHolder: '/path/to/venv/bin/hermesd-lsp',
      ignoreFocusOut: true,
      validateInput: (text) =>
        !text.trim() || findExecutable(expandHome(text.trim())) ? undefined : `No executable file at ${text.trim()}`,
    });
    if (!value?.trim()) {
      return;
    }
    // Changing the setting restarts the server (see the configuration listener).
    await vscode.workspace.getConfiguration('hermes.server').update('path', value.trim(), vscode.ConfigurationTarget.Global);
  }

  private async showCrashed(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(
      `${message} See the log for its error; installing it again ("${INSTALL_COMMAND}" in its checkout) may help.`,
      'Show Logs',
      'Restart',
    );
    if (choice === 'Show Logs') {
      this.output.show();
    } else if (choice === 'Restart') {
      await this.restart();
    }
  }

  /** User-requested restart: stops the server and starts afresh. */
  async restart(): Promise<void> {
    this.backoff.reset();
    this.clearRestartTimer();
    await this.starting?.catch(() => undefined);
    await this.stopClient();
    await this.start();
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) {
      return;
    }
    this.exited.add(client);
    try {
      if (client.needsStop()) {
        await client.stop(2000);
      }
    } catch (err) {
      this.output.warn(`stopping hermesd: ${err instanceof Error ? err.message : String(err)}`);
    }
    await client.dispose().catch(() => undefined);
    // As the language client does for processes it spawns: one that has not
    // exited 2 s after `exit` is terminated.
    const child = this.processes.get(client);
    setTimeout(() => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill();
      }
    }, 2000).unref?.();
  }

  /** Sends a request, waiting for a server that is starting. */
  async request<R>(method: string, params: object = {}): Promise<R> {
    if (this.starting) {
      await this.starting;
    }
    const client = this.client;
    if (!client || !client.isRunning()) {
      throw new ServerNotRunningError(
        this.status.state === 'stopped' ? this.status.message : 'hermesd is not running.',
      );
    }
    return client.sendRequest<R>(method, params);
  }

  /** Follows $/progress for a work-done token the caller put in its params. */
  onProgress(token: string, handler: (value: ProgressValue) => void): vscode.Disposable {
    const client = this.client;
    if (!client) {
      return new vscode.Disposable(() => undefined);
    }
    return client.onProgress(WorkDoneProgress.type, token, handler);
  }

  showLogs(): void {
    this.output.show(true);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.clearRestartTimer();
    await this.stopClient();
    this.installTerminal?.dispose();
    this.interpreterWatch?.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
