/**
 * Hermes: Select Model. A QuickPick over hermes/listPicker's rows, rendered
 * as the daemon lists them (order, headings, wording); the choice is saved
 * with hermes/selectModel, one atomic write the CLI and Neovim see too.
 */
import * as vscode from 'vscode';
import type { HermesClient } from './client';
import { errorText } from './logic/errors';
import { ModelState } from './logic/modelState';
import { ListPickerResult, Methods, PickerItem, SelectModelResult } from './protocol';

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

export class ModelPicker {
  constructor(
    private readonly client: HermesClient,
    private readonly models: ModelState,
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
    let result: SelectModelResult;
    try {
      result = await this.client.request<SelectModelResult>(Methods.selectModel, params);
    } catch (err) {
      // A provider refused for a missing key: the daemon's fix, with its sign-up link as a button.
      const signupUrl = (err as { data?: { signupUrl?: unknown } })?.data?.signupUrl;
      if (typeof signupUrl === 'string') {
        await this.explain(errorText(err), signupUrl);
      } else {
        void vscode.window.showErrorMessage(`Hermes: ${errorText(err)}`);
      }
      return;
    }
    this.models.applyCurrent(result.current);
    vscode.window.setStatusBarMessage(`Hermes: ${result.message}`, 4000);
    if (result.hint) {
      await this.explain(result.hint, result.signupUrl);
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
