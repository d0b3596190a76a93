/**
 * A small stand-in for the `vscode` module, enough for the extension's
 * UI modules under vitest. Window functions are vi.fn()s: tests script the
 * user's answers with mockResolvedValue and inspect the calls.
 */
import { vi } from 'vitest';

export class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  dispose(): void {
    this.fn();
  }
}

export class EventEmitter<T> {
  private listeners = new Set<(e: T) => unknown>();
  event = (listener: (e: T) => unknown) => {
    this.listeners.add(listener);
    return new Disposable(() => this.listeners.delete(listener));
  };
  fire(value: T): void {
    [...this.listeners].forEach((l) => l(value));
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static parse(value: string): Uri {
    const colon = value.indexOf(':');
    return new Uri(value.slice(0, colon), decodeURIComponent(value.slice(colon + 1)));
  }
  static file(path: string): Uri {
    return new Uri('file', path);
  }
  get fsPath(): string {
    return this.path;
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, [base.path, ...parts].join('/'));
  }
  toString(): string {
    return `${this.scheme}:${this.path}`;
  }
}

export class ThemeIcon {
  constructor(readonly id: string) {}
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export enum QuickPickItemKind {
  Separator = -1,
  Default = 0,
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export interface QuickPickItemLike {
  label: string;
  kind?: QuickPickItemKind;
  description?: string;
  detail?: string;
}

/** A scriptable QuickPick: tests call accept(label) or hide(). */
export class FakeQuickPick<T extends QuickPickItemLike> {
  items: T[] = [];
  activeItems: T[] = [];
  selectedItems: T[] = [];
  title?: string;
  placeholder?: string;
  value = '';
  busy = false;
  buttons: unknown[] = [];
  matchOnDescription = false;
  matchOnDetail = false;
  visible = false;
  private readonly acceptEmitter = new EventEmitter<void>();
  private readonly hideEmitter = new EventEmitter<void>();
  private readonly buttonEmitter = new EventEmitter<unknown>();
  onDidAccept = this.acceptEmitter.event;
  onDidHide = this.hideEmitter.event;
  onDidTriggerButton = this.buttonEmitter.event;
  show(): void {
    this.visible = true;
  }
  hide(): void {
    if (this.visible) {
      this.visible = false;
      this.hideEmitter.fire();
    }
  }
  dispose(): void {
    this.visible = false;
  }
  accept(label: string): void {
    const item = this.items.find((i) => i.label === label || i.label === `$(check) ${label}`);
    if (!item) {
      throw new Error(`no item ${label}; items: ${this.items.map((i) => i.label).join(', ')}`);
    }
    this.selectedItems = [item];
    this.acceptEmitter.fire();
  }
  triggerButton(button: unknown): void {
    this.buttonEmitter.fire(button);
  }
}

export const quickPicks: FakeQuickPick<QuickPickItemLike>[] = [];

export const window = {
  createQuickPick: vi.fn(() => {
    const qp = new FakeQuickPick<QuickPickItemLike>();
    quickPicks.push(qp);
    return qp;
  }),
  showQuickPick: vi.fn(async (_items: unknown, _options?: unknown) => undefined as unknown),
  showInputBox: vi.fn(async (_options?: unknown) => undefined as string | undefined),
  showInformationMessage: vi.fn(async (_message: string, ..._items: unknown[]) => undefined as string | undefined),
  showWarningMessage: vi.fn(async (_message: string, ..._items: unknown[]) => undefined as string | undefined),
  showErrorMessage: vi.fn(async (_message: string, ..._items: unknown[]) => undefined as string | undefined),
  setStatusBarMessage: vi.fn((_text: string, _timeout?: number) => new Disposable()),
  withProgress: vi.fn(async (_options: unknown, task: (progress: { report: (v: unknown) => void }) => unknown) =>
    task({ report: vi.fn() }),
  ),
  showTextDocument: vi.fn(async (_doc: unknown, _options?: unknown) => undefined),
  showOpenDialog: vi.fn(async (_options?: unknown) => undefined as { fsPath: string }[] | undefined),
  createTerminal: vi.fn((_options: unknown) => ({
    show: vi.fn(),
    sendText: vi.fn((_text: string) => undefined),
    dispose: vi.fn(),
  })),
  onDidCloseTerminal: vi.fn((_listener: (terminal: unknown) => void) => new Disposable()),
  activeTextEditor: undefined as unknown,
};

export const commands = {
  executeCommand: vi.fn(async (_command: string, ..._args: unknown[]) => undefined as unknown),
  registerCommand: vi.fn((_id: string, _fn: unknown) => new Disposable()),
};

export enum ConfigurationTarget {
  Global = 1,
  Workspace = 2,
  WorkspaceFolder = 3,
}

export const extensions = {
  getExtension: vi.fn((_id: string) => undefined as unknown),
};

export const workspace = {
  workspaceFolders: undefined as { uri: Uri }[] | undefined,
  registerTextDocumentContentProvider: vi.fn((_scheme: string, _provider: unknown) => new Disposable()),
  openTextDocument: vi.fn(async (_uri: unknown) => ({}) as unknown),
  getConfiguration: vi.fn((_section?: string) => ({ get: (_key: string) => undefined as unknown })),
  onDidChangeConfiguration: vi.fn((_listener: (e: unknown) => void) => new Disposable()),
  getWorkspaceFolder: vi.fn((_uri: Uri) => undefined as unknown),
  asRelativePath: vi.fn((uri: Uri) => uri.path),
};

export const env = {
  clipboard: { writeText: vi.fn(async (_text: string) => undefined) },
  openExternal: vi.fn(async (_uri: Uri) => true),
};

/** Resets every scripted answer and recorded call between tests. */
export function resetMock(): void {
  quickPicks.length = 0;
  for (const group of [window, commands, workspace, env.clipboard, extensions]) {
    for (const fn of Object.values(group)) {
      if (typeof fn === 'function' && 'mockReset' in fn) {
        // vitest 3: mockReset drops scripted answers and keeps the vi.fn(impl) default.
        (fn as ReturnType<typeof vi.fn>).mockReset();
      }
    }
  }
  env.openExternal.mockReset();
}
