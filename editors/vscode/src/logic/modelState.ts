/**
 * What the daemon says about the model in use: provider, model, the detail
 * it shows beside them, config file path. Refreshed from
 * hermes/listProviders + hermes/getConfig and kept current by
 * hermes/configChanged, so every window shows what the CLI and Neovim see.
 */
import { ConfigChanged, CurrentModel, GetConfigResult, ListProvidersResult, Methods } from '../protocol';
import { HeaderInfo, ServerStatus } from './chatTypes';

export type Request = <R>(method: string, params?: object) => Promise<R>;

export interface ModelSnapshot {
  current: CurrentModel | undefined;
  configPath: string | undefined;
  /** Why config.yaml could not be read (the daemon then runs on defaults). */
  configErrors: string[];
}

/** "config.yaml line 3: mapping values are not allowed here". */
export function formatConfigErrors(path: string | undefined, errors: GetConfigResult['errors'] | undefined): string[] {
  const file = path ? path.replace(/^.*[\\/]/, '') : 'config.yaml';
  return (errors ?? []).map((e) => `${file}${e.line ? ` line ${e.line}` : ''}: ${e.message}`);
}

export class ModelState {
  private snapshot: ModelSnapshot = { current: undefined, configPath: undefined, configErrors: [] };
  private readonly listeners = new Set<(s: ModelSnapshot) => void>();
  private refreshing: Promise<void> | undefined;

  constructor(private readonly request: Request) {}

  get value(): ModelSnapshot {
    return this.snapshot;
  }

  onDidChange(listener: (s: ModelSnapshot) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private set(next: Partial<ModelSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...next };
    for (const listener of this.listeners) {
      listener(this.snapshot);
    }
  }

  /** Reads the current model and its detail from the daemon. */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => (this.refreshing = undefined));
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const [providers, config] = await Promise.all([
      this.request<ListProvidersResult>(Methods.listProviders, {}),
      this.request<GetConfigResult>(Methods.getConfig, {}),
    ]);
    this.set({
      current: providers.current ?? { provider: '', model: '' },
      configPath: config.path,
      configErrors: formatConfigErrors(config.path, config.errors),
    });
  }

  /** The current model as hermes/selectModel returned it. */
  applyCurrent(current: CurrentModel): void {
    this.set({ current });
  }

  /**
   * Applies a hermes/configChanged notification: the model and provider at
   * once; anything else may change the detail the daemon shows, so ask it.
   */
  applyChange(change: ConfigChanged): void {
    const current: CurrentModel = { provider: '', model: '', label: '', ...this.snapshot.current };
    if (change.key === 'model.provider') {
      const provider = typeof change.value === 'string' ? change.value : '';
      this.set({ current: { provider, model: current.model, label: current.label } });
    } else if (change.key === 'model.default') {
      const model = typeof change.value === 'string' ? change.value : '';
      this.set({ current: { provider: current.provider, model, label: typeof change.label === 'string' ? change.label : '' } });
    }
    void this.refresh().catch(() => undefined);
  }

  /** The line above the chat input; before the first answer it tells the server's state, as the banner does. */
  header(server?: ServerStatus, conversation?: CurrentModel): HeaderInfo {
    // A conversation with a model of its own shows that one; the default otherwise.
    const current = conversation ?? this.snapshot.current;
    const header: HeaderInfo = { model: current ? describeCurrent(current) : waitingText(server) };
    if (current?.detail) {
      header.detail = current.detail;
    }
    return header;
  }
}

/** What the model line says while no model is known: the same state as the server banner. */
export function waitingText(server: ServerStatus | undefined): string {
  if (server?.state === 'stopped') {
    return server.notFound ? 'Not connected: hermesd was not found' : 'Not connected: hermesd is not running';
  }
  return server?.state === 'starting' ? 'Starting hermesd…' : 'Connecting to hermesd…';
}

/** The text of the status-bar item: "$(hubot) pareto-code". */
export function statusBarText(current: CurrentModel | undefined): string {
  if (!current || !current.model) {
    return '$(hubot) Hermes: select model';
  }
  return `$(hubot) ${current.label || current.model}`;
}

/** "openrouter · openrouter/pareto-code", or a hint when nothing is set. */
export function describeCurrent(current: CurrentModel | undefined): string {
  if (!current || (!current.provider && !current.model)) {
    return 'No model selected';
  }
  if (!current.model) {
    return `${current.provider} · no model set`;
  }
  const model = current.label || current.model; // the daemon's short label (a path's file name)
  return current.provider ? `${current.provider} · ${model}` : model;
}
