/** The Hermes commands, each a thin call into the daemon or a view. */
import * as path from 'path';
import * as vscode from 'vscode';
import type { ChatViewProvider } from './chatView';
import type { HermesClient } from './client';
import type { Doctor } from './doctor';
import { formatScore } from './logic/config';
import type { ModelState } from './logic/modelState';
import { parseScoreInput, validateScoreInput } from './logic/score';
import { formatSelectionPrompt } from './logic/selection';
import { errorText } from './logic/errors';
import { ModelPicker } from './picker';
import { Methods } from './protocol';
import { MIN_SCORE_KEY } from './logic/config';

export interface Services {
  client: HermesClient;
  models: ModelState;
  chat: ChatViewProvider;
  doctor: Doctor;
}

/** Hermes: Set Minimum Coding Score (openrouter.min_coding_score). */
export async function setMinCodingScore(services: Services): Promise<void> {
  const { client, models } = services;
  await models.refresh().catch(() => undefined);
  const current = models.value.minScore;
  const text = await vscode.window.showInputBox({
    title: 'Hermes: Minimum Coding Score',
    prompt:
      'Pareto Code routes to the cheapest coding model scoring at least this (0 to 1). "none" sends no floor.',
    value: current === undefined ? '0.65' : current === null ? 'none' : formatScore(current),
    validateInput: validateScoreInput,
  });
  if (text === undefined) {
    return;
  }
  const parsed = parseScoreInput(text);
  if (!parsed.ok) {
    return;
  }
  try {
    // The daemon validates too; its message is shown as it comes.
    const result = await client.request<{ value: unknown }>(Methods.setConfig, { key: MIN_SCORE_KEY, value: parsed.value });
    models.applyChange({ key: MIN_SCORE_KEY, value: result?.value ?? parsed.value });
    const shown = formatScore(models.value.minScore);
    vscode.window.setStatusBarMessage(`Hermes: minimum coding score ${shown}`, 4000);
  } catch (err) {
    void vscode.window.showErrorMessage(`Hermes: ${errorText(err)}`);
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
  await services.chat.send(message);
}

export function registerCommands(services: Services): vscode.Disposable[] {
  const picker = new ModelPicker(services.client, services.models, () => setMinCodingScore(services));
  const register = (id: string, fn: () => unknown) => vscode.commands.registerCommand(id, fn);
  return [
    register('hermes.openChat', () => services.chat.reveal()),
    register('hermes.newChat', async () => {
      await services.chat.reveal();
      services.chat.newChat();
    }),
    register('hermes.selectModel', () => picker.show()),
    register('hermes.setMinCodingScore', () => setMinCodingScore(services)),
    register('hermes.askAboutSelection', () => askAboutSelection(services)),
    register('hermes.runDoctor', () => services.doctor.run()),
    register('hermes.restartServer', () => services.client.restart()),
    register('hermes.showLogs', () => services.client.showLogs()),
  ];
}
