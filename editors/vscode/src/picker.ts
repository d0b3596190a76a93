/**
 * Hermes: Select Model. A QuickPick over every provider's models, saved with
 * hermes/setConfig so the CLI and Neovim use the same model.
 */
import * as vscode from 'vscode';
import type { HermesClient } from './client';
import { dirnameOf, formatScore } from './logic/config';
import { errorText } from './logic/errors';
import { ModelState } from './logic/modelState';
import { ModelRow, ModelsState, PickerRow, buildPickerRows, providerTitle } from './logic/pickerItems';
import { ListModelsResult, ListProvidersResult, Methods, ProviderInfo } from './protocol';
import { PARETO_MODEL_ID } from './logic/config';

interface Item extends vscode.QuickPickItem {
  row: PickerRow;
}

function toItem(row: PickerRow): Item {
  switch (row.kind) {
    case 'separator':
      return { row, label: row.label, kind: vscode.QuickPickItemKind.Separator };
    case 'model':
      return {
        row,
        label: row.current ? `$(check) ${row.label}` : row.label,
        description: row.description,
        detail: row.detail,
      };
    case 'setup':
      return { row, label: row.label, description: row.description, detail: row.detail };
    case 'info':
      return { row, label: row.label, description: row.description };
  }
}

export class ModelPicker {
  constructor(
    private readonly client: HermesClient,
    private readonly models: ModelState,
    private readonly setMinScore: () => Promise<void>,
  ) {}

  async show(): Promise<void> {
    const quickPick = vscode.window.createQuickPick<Item>();
    quickPick.title = 'Hermes: Select Model';
    quickPick.placeholder = 'Type to filter models of every provider';
    quickPick.matchOnDescription = true;
    quickPick.matchOnDetail = true;
    const refreshButton: vscode.QuickInputButton = {
      iconPath: new vscode.ThemeIcon('refresh'),
      tooltip: 'Refresh providers and model lists',
    };
    quickPick.buttons = [refreshButton];

    let providers: ProviderInfo[] = [];
    const modelStates = new Map<string, ModelsState>();
    let loadGeneration = 0;
    let focusedCurrent = false;

    const render = () => {
      const rows = buildPickerRows({
        providers,
        models: modelStates,
        current: this.models.value.current ?? { provider: '', model: '' },
        minScore: this.models.value.minScore,
      });
      const items = rows.map(toItem);
      quickPick.items = items;
      const current = items.find((i) => i.row.kind === 'model' && i.row.current);
      if (current && !focusedCurrent && !quickPick.value) {
        quickPick.activeItems = [current];
        focusedCurrent = true;
      }
    };

    const load = async (refresh: boolean) => {
      const generation = ++loadGeneration;
      quickPick.busy = true;
      try {
        const listed = await this.client.request<ListProvidersResult>(Methods.listProviders, refresh ? { refresh } : {});
        if (generation !== loadGeneration) {
          return;
        }
        providers = listed.providers;
        modelStates.clear();
        const configured = providers.filter((p) => p.configured);
        configured.forEach((p) => modelStates.set(p.name, { status: 'loading' }));
        render();
        await Promise.all(
          configured.map(async (p) => {
            let state: ModelsState;
            try {
              const params = refresh ? { provider: p.name, refresh } : { provider: p.name };
              state = { status: 'loaded', result: await this.client.request<ListModelsResult>(Methods.listModels, params) };
            } catch (err) {
              state = { status: 'error', message: errorText(err) };
            }
            if (generation === loadGeneration) {
              modelStates.set(p.name, state);
              render();
            }
          }),
        );
      } catch (err) {
        if (generation === loadGeneration) {
          quickPick.items = [
            { row: { kind: 'info', label: '$(error) Could not list providers', provider: '' }, label: '$(error) Could not list providers', description: errorText(err) },
          ];
        }
      } finally {
        if (generation === loadGeneration) {
          quickPick.busy = false;
        }
      }
    };

    const chosen = new Promise<PickerRow | undefined>((resolve) => {
      const subs: vscode.Disposable[] = [];
      subs.push(
        quickPick.onDidAccept(() => {
          const row = quickPick.selectedItems[0]?.row;
          if (row && (row.kind === 'model' || row.kind === 'setup')) {
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
      await this.choose(row, providers.find((p) => p.name === row.provider));
    } else if (row?.kind === 'setup') {
      const provider = providers.find((p) => p.name === row.provider);
      if (provider) {
        await this.explainMissingKey(provider);
      }
    }
  }

  /** Saves the choice and follows up (Pareto score, missing key). */
  private async choose(row: ModelRow, provider: ProviderInfo | undefined): Promise<void> {
    try {
      await this.client.request(Methods.setConfig, { key: 'model.provider', value: row.provider });
      await this.client.request(Methods.setConfig, { key: 'model.default', value: row.model });
    } catch (err) {
      void vscode.window.showErrorMessage(`Hermes: could not save the model: ${errorText(err)}`);
      return;
    }
    this.models.applyChange({ key: 'model.provider', value: row.provider });
    this.models.applyChange({ key: 'model.default', value: row.model });
    vscode.window.setStatusBarMessage(`Hermes: using ${row.model}`, 4000);

    if (row.needsKey && provider) {
      await this.explainMissingKey(provider);
    } else if (row.model === PARETO_MODEL_ID) {
      const score = this.models.value.minScore;
      const floor =
        score === null ? 'with no minimum coding score' : `scoring at least ${formatScore(score ?? 0.65)}`;
      const choice = await vscode.window.showInformationMessage(
        `Pareto Code routes each request to the cheapest coding model ${floor}.`,
        'Set Minimum Score…',
      );
      if (choice) {
        await this.setMinScore();
      }
    }
  }

  private async explainMissingKey(provider: ProviderInfo): Promise<void> {
    const key = provider.keyEnvVars?.[0];
    const configPath = this.models.value.configPath;
    const envFile = configPath ? `${dirnameOf(configPath)}/.env` : '$HERMES_HOME/.env';
    const actions = provider.signupUrl ? ['Get a Key', 'Choose a Model Anyway'] : ['Choose a Model Anyway'];
    const message = key
      ? `${providerTitle(provider)} needs ${key}. Set it in ${envFile} or in the environment VS Code starts from, then select the model again.`
      : `${providerTitle(provider)} signs in outside Hermes${provider.authType ? ` (${provider.authType})` : ''}. ` +
        'Sign in with its own tool, then run "Hermes: Run Doctor" to check.';
    const choice = await vscode.window.showWarningMessage(message, ...actions);
    if (choice === 'Get a Key' && provider.signupUrl) {
      await vscode.env.openExternal(vscode.Uri.parse(provider.signupUrl));
    } else if (choice === 'Choose a Model Anyway') {
      await this.pickFromProvider(provider);
    }
  }

  /** A second picker over one (unconfigured) provider's models. */
  private async pickFromProvider(provider: ProviderInfo): Promise<void> {
    const states = new Map<string, ModelsState>();
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Hermes: listing ${providerTitle(provider)} models…` },
        () => this.client.request<ListModelsResult>(Methods.listModels, { provider: provider.name }),
      );
      states.set(provider.name, { status: 'loaded', result });
    } catch (err) {
      void vscode.window.showErrorMessage(`Hermes: could not list ${providerTitle(provider)} models: ${errorText(err)}`);
      return;
    }
    const rows = buildPickerRows({
      providers: [provider],
      models: states,
      current: this.models.value.current ?? { provider: '', model: '' },
      minScore: this.models.value.minScore,
    });
    const picked = await vscode.window.showQuickPick(rows.map(toItem), {
      title: `Hermes: ${providerTitle(provider)} models`,
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (picked?.row.kind === 'model') {
      await this.choose({ ...picked.row, needsKey: undefined }, provider);
    }
  }
}
