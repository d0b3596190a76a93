/**
 * Hermes: Select Model. A QuickPick over hermes/listPicker's rows, rendered
 * as the daemon lists them (order, headings, wording); the choice is saved
 * with hermes/selectModel. With a conversation open it is that
 * conversation's model (saved in its session), and "Make Default" makes it
 * the default for new chats too; otherwise it is the default, one atomic
 * write the CLI and Neovim see too.
 */
import * as vscode from 'vscode';
import type { HermesClient } from './client';
import { errorText } from './logic/errors';
import { ModelState } from './logic/modelState';
import { CurrentModel, ListPickerResult, Methods, PickerItem, SelectModelResult } from './protocol';

interface Item extends vscode.QuickPickItem {
  row?: PickerItem;
}

/** The daemon's rows as QuickPick items: a separator wherever the group changes. */
export function toItems(rows: PickerItem[]): Item[] {
  const items: Item[] = [];
  let group: string | undefined;
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      items.push({ label: row.group, kind: vscode.QuickPickItemKind.Separator });
    }
    items.push({ row, label: row.current ? `$(check) ${row.label}` : row.label, description: row.description });
  }
  return items;
}

/** The chat's open conversation, whose model a choice switches. */
export interface Conversation {
  readonly session: string | undefined;
  chooseModel(current: CurrentModel): void;
}

export class ModelPicker {
  constructor(
    private readonly client: HermesClient,
    private readonly models: ModelState,
    private readonly conversation?: Conversation,
  ) {}

  async show(): Promise<void> {
    const quickPick = vscode.window.createQuickPick<Item>();
    quickPick.title = 'Hermes: Select Model';
    quickPick.matchOnDescription = true;
    const refreshButton: vscode.QuickInputButton = {
      iconPath: new vscode.ThemeIcon('refresh'),
      tooltip: 'Refresh providers and model lists',
    };
    quickPick.buttons = [refreshButton];
    let listing: ListPickerResult | undefined;
    let generation = 0;

    const load = async (refresh: boolean) => {
      const mine = ++generation;
      quickPick.busy = true;
      try {
        const result = await this.client.request<ListPickerResult>(Methods.listPicker, refresh ? { refresh } : {});
        if (mine !== generation) {
          return;
        }
        listing = result;
        quickPick.title = result.title;
        quickPick.placeholder = result.placeholder;
        const items = toItems(result.items);
        quickPick.items = items;
        const current = items.find((i) => i.row?.current);
        if (current && !quickPick.value) {
          quickPick.activeItems = [current];
        }
        for (const error of result.errors ?? []) {
          void vscode.window.showWarningMessage(`Hermes: ${error}`);
        }
      } catch (err) {
        if (mine === generation) {
          quickPick.items = [{ label: '$(error) Could not list models', description: errorText(err) }];
        }
      } finally {
        if (mine === generation) {
          quickPick.busy = false;
        }
      }
    };

    const chosen = new Promise<PickerItem | undefined>((resolve) => {
      const subs: vscode.Disposable[] = [];
      subs.push(
        quickPick.onDidAccept(() => {
          const row = quickPick.selectedItems[0]?.row;
          if (row) {
            resolve(row);
            quickPick.hide();
          }
        }),
        quickPick.onDidTriggerButton((button) => {
          if (button === refreshButton) {
            void load(true);
          }
        }),
        this.client.onProvidersChanged(() => void load(false)),
        quickPick.onDidHide(() => {
          resolve(undefined);
          subs.forEach((s) => s.dispose());
          quickPick.dispose();
        }),
      );
    });

    quickPick.show();
    void load(false);
    const row = await chosen;
    if (row?.kind === 'model') {
      await this.choose(row);
    } else if (row?.kind === 'setup' && listing) {
      await this.setUp(listing);
    } else if (row?.kind === 'notice') {
      await this.explain(row.hint ?? row.label, undefined);
    }
  }

  /** Asks what the row needs first (the daemon says what), then saves the choice in one write. */
  private async choose(row: PickerItem): Promise<void> {
    const params: Record<string, unknown> = { provider: row.provider, model: row.id };
    if (row.input) {
      const text = await vscode.window.showInputBox({
        title: row.label,
        prompt: row.input.prompt,
        value: row.input.value,
        placeHolder: row.input.placeholder,
      });
      if (text === undefined) {
        return;
      }
      params[row.input.param] = text;
    }
    const session = this.conversation?.session;
    if (session) {
      params.sessionId = session; // the daemon's default scope with a session: this conversation only
    }
    const result = await this.select(params);
    if (!result) {
      return;
    }
    if (result.scope === 'session') {
      this.conversation?.chooseModel(result.current);
      const choice = await vscode.window.showInformationMessage(`Hermes: ${result.message}`, 'Make Default');
      if (choice === 'Make Default') {
        const made = await this.select({ ...params, scope: 'default' });
        if (made) {
          this.models.applyCurrent(made.current);
          vscode.window.setStatusBarMessage(`Hermes: ${made.message}`, 4000);
        }
      }
    } else {
      this.models.applyCurrent(result.current);
      vscode.window.setStatusBarMessage(`Hermes: ${result.message}`, 4000);
    }
    if (result.hint) {
      await this.explain(result.hint, result.signupUrl);
    }
  }

  /** hermes/selectModel; a refusal is shown (with its sign-up link as a button) and gives undefined. */
  private async select(params: Record<string, unknown>): Promise<SelectModelResult | undefined> {
    try {
      return await this.client.request<SelectModelResult>(Methods.selectModel, params);
    } catch (err) {
      // A provider refused for a missing key: the daemon's fix, with its sign-up link as a button.
      const signupUrl = (err as { data?: { signupUrl?: unknown } })?.data?.signupUrl;
      if (typeof signupUrl === 'string') {
        await this.explain(errorText(err), signupUrl);
      } else {
        void vscode.window.showErrorMessage(`Hermes: ${errorText(err)}`);
      }
      return undefined;
    }
  }

  /** The providers behind "Set up another provider…", each with how to set it up. */
  private async setUp(listing: ListPickerResult): Promise<void> {
    const picked = await vscode.window.showQuickPick(
      listing.setup.map((row) => ({ label: row.label, description: row.description, row })),
      { title: listing.setupTitle, matchOnDescription: true },
    );
    if (picked) {
      await this.explain(picked.row.hint, picked.row.signupUrl);
    }
  }

  private async explain(hint: string, signupUrl: string | undefined): Promise<void> {
    const choice = await vscode.window.showWarningMessage(`Hermes: ${hint}`, ...(signupUrl ? ['Get a Key'] : []));
    if (choice === 'Get a Key' && signupUrl) {
      await vscode.env.openExternal(vscode.Uri.parse(signupUrl));
    }
  }
}
