/** The Hermes commands, each a thin call into the daemon or a view. */
import * as path from 'path';
import * as vscode from 'vscode';
import type { ChatViewProvider } from './chatView';
import type { HermesClient } from './client';
import type { Doctor } from './doctor';
import type { EditorActions } from './editorActions';
import { openConversation } from './history';
import { getPath } from './logic/config';
import type { ModelState } from './logic/modelState';
import { formatSelectionPrompt } from './logic/selection';
import { errorText } from './logic/errors';
import { ModelPicker } from './picker';
import { ConfigKeyInfo, DescribeConfigResult, GetConfigResult, Methods, SetConfigResult } from './protocol';

export interface Services {
  client: HermesClient;
  models: ModelState;
  chat: ChatViewProvider;
  doctor: Doctor;
  actions: EditorActions;
}

/**
 * The values a key is chosen from, when it has a few (the daemon's rule: a boolean, an enum, and null
 * when null is a value); undefined: typed. The current value first.
 */
export function valueChoices(described: ConfigKeyInfo | undefined, current: unknown): string[] | undefined {
  const values = described?.type === 'boolean' ? ['true', 'false'] : described?.type === 'enum' ? [...(described.enum ?? [])] : undefined;
  if (!values) {
    return undefined;
  }
  if (described?.nullable) {
    values.push('null');
  }
  const shown = current === null || current === undefined ? 'null' : String(current);
  return values.includes(shown) ? [shown, ...values.filter((v) => v !== shown)] : values;
}

/**
 * Asks for one config key's value, with the daemon's description of it: a
 * choice for a boolean or an enum, else typed; the text is sent as it is and
 * the daemon's rule accepts or refuses it.
 */
export async function setConfigKey(services: Services, key: string): Promise<void> {
  const { client } = services;
  let described: ConfigKeyInfo | undefined;
  let value: unknown;
  try {
    const [description, config] = await Promise.all([
      client.request<DescribeConfigResult>(Methods.describeConfig, {}),
      client.request<GetConfigResult>(Methods.getConfig, {}),
    ]);
    described = description.keys.find((k) => k.key === key);
    value = getPath(config.config, key);
  } catch (err) {
    void vscode.window.showErrorMessage(`Hermes: ${errorText(err)}`);
    return;
  }
  const choices = valueChoices(described, value === undefined ? described?.default : value); // unset: its default
  const text = choices
    ? await vscode.window.showQuickPick(choices, { title: `Hermes: ${key}`, placeHolder: described?.doc })
    : await vscode.window.showInputBox({
        title: `Hermes: ${key}`,
        prompt: described?.doc,
        value: typeof value === 'string' ? value : JSON.stringify(value ?? null),
      });
  if (text === undefined) {
    return;
  }
  try {
    const result = await client.request<SetConfigResult>(Methods.setConfig, { key, value: text });
    vscode.window.setStatusBarMessage(`Hermes: ${key} = ${JSON.stringify(result.value ?? null)}`, 4000);
  } catch (err) {
    void vscode.window.showErrorMessage(`Hermes: ${errorText(err)}`);
  }
}

/** Hermes: Change Setting… — every key the daemon describes (as :HermesSet completes them), then its value. */
export async function changeSetting(services: Services): Promise<void> {
  let keys: ConfigKeyInfo[];
  try {
    keys = (await services.client.request<DescribeConfigResult>(Methods.describeConfig, {})).keys;
  } catch (err) {
    void vscode.window.showErrorMessage(`Hermes: ${errorText(err)}`);
    return;
  }
  const picked = await vscode.window.showQuickPick(
    keys.map((k) => ({ label: k.key, detail: k.doc })),
    { title: 'Hermes: Change Setting', placeHolder: 'The setting to change (config.yaml, shared by every editor)', matchOnDetail: true },
  );
  if (picked) {
    await setConfigKey(services, picked.label);
  }
}

/** Hermes: Ask About Selection. */
export async function askAboutSelection(services: Services): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('Hermes: select some code first.');
    return;
  }
  const { document, selection } = editor;
  const question = await vscode.window.showInputBox({
    title: 'Hermes: Ask About Selection',
    prompt: 'Your question about the selected code (leave empty to ask for an explanation)',
    placeHolder: 'Explain this code.',
  });
  if (question === undefined) {
    return;
  }
  const folder = vscode.workspace.getWorkspaceFolder(document.uri);
  const fileName = folder
    ? vscode.workspace.asRelativePath(document.uri, false)
    : document.isUntitled
      ? document.uri.path
      : path.basename(document.fileName);
  const endLine = selection.end.character === 0 && selection.end.line > selection.start.line ? selection.end.line : selection.end.line + 1;
  const message = formatSelectionPrompt({
    question,
    fileName,
    languageId: document.languageId,
    startLine: selection.start.line + 1,
    endLine,
    code: document.getText(selection),
  });
  if (document.uri.scheme === 'file') {
    services.chat.noteRange({
      path: document.uri.fsPath,
      range: {
        start: { line: selection.start.line, character: selection.start.character },
        end: { line: selection.end.line, character: selection.end.character },
      },
    });
  }
  await services.chat.send(message);
}

export function registerCommands(services: Services): vscode.Disposable[] {
  const picker = new ModelPicker(services.client, services.models, services.chat);
  const register = (id: string, fn: () => unknown) => vscode.commands.registerCommand(id, fn);
  return [
    register('hermes.openChat', () => services.chat.reveal()),
    register('hermes.newChat', async () => {
      await services.chat.reveal();
      services.chat.newChat();
    }),
    register('hermes.selectModel', () => picker.show()),
    register('hermes.setMinCodingScore', () => setConfigKey(services, 'openrouter.min_coding_score')),
    register('hermes.changeSetting', () => changeSetting(services)),
    register('hermes.askAboutSelection', () => askAboutSelection(services)),
    register('hermes.runDoctor', () => services.doctor.run()),
    register('hermes.openConversation', () => openConversation(services.client, (id) => services.chat.open(id))),
    register('hermes.acceptProposal', () => services.actions.accept()),
    register('hermes.discardProposal', () => services.actions.discard()),
    register('hermes.addCurrentFile', async () => services.chat.addContext('file')),
    register('hermes.addOpenEditors', async () => services.chat.addContext('editors')),
    register('hermes.addProblems', async () => services.chat.addContext('problems')),
    register('hermes.restartServer', () => services.client.restart()),
    register('hermes.showLogs', () => services.client.showLogs()),
    register('hermes.setServerPath', () => services.client.askServerPath()),
  ];
}
