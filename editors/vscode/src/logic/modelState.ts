/**
 * What the daemon's configuration says about the model in use: provider,
 * model, Pareto minimum score, config file path. Refreshed from
 * hermes/listProviders + hermes/getConfig and kept current by
 * hermes/configChanged, so every window shows what the CLI and Neovim see.
 */
import { ConfigChanged, CurrentModel, GetConfigResult, ListProvidersResult, Methods } from '../protocol';
import { MIN_SCORE_KEY, PARETO_MODEL_ID } from './config';
import { formatScore, minScoreOf } from './config';
import { HeaderInfo } from './chatTypes';
import { describeCurrent } from './pickerItems';

export type Request = <R>(method: string, params?: object) => Promise<R>;

export interface ModelSnapshot {
  current: CurrentModel | undefined;
  minScore: number | null | undefined;
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
  private snapshot: ModelSnapshot = { current: undefined, minScore: undefined, configPath: undefined, configErrors: [] };
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

  /** Reads the current model and score from the daemon. */
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
      minScore: minScoreOf(config.config),
      configPath: config.path,
      configErrors: formatConfigErrors(config.path, config.errors),
    });
  }

  /** Applies a hermes/configChanged notification at once. */
  applyChange(change: ConfigChanged): void {
    const current = { provider: '', model: '', ...this.snapshot.current };
    switch (change.key) {
      case 'model.provider':
        this.set({ current: { ...current, provider: typeof change.value === 'string' ? change.value : '' } });
        break;
      case 'model.default':
        this.set({ current: { ...current, model: typeof change.value === 'string' ? change.value : '' } });
        break;
      case MIN_SCORE_KEY:
        this.set({
          minScore: change.value === null ? null : typeof change.value === 'number' ? change.value : undefined,
        });
        break;
      default:
        break;
    }
  }

  /** The line above the chat input. */
  header(): HeaderInfo {
    const { current, minScore } = this.snapshot;
    const header: HeaderInfo = { model: current ? describeCurrent(current) : 'Connecting to hermesd…' };
    if (current?.model === PARETO_MODEL_ID && minScore !== undefined) {
      header.detail = minScore === null ? 'no minimum coding score' : `min coding score ${formatScore(minScore)}`;
    }
    return header;
  }
}
