/**
 * Entry point. Wires the daemon connection to the views and commands; all
 * logic about models, chats and checks stays in hermesd.
 */
import * as vscode from 'vscode';
import { CHAT_VIEW_ID, ChatViewProvider } from './chatView';
import { HermesClient } from './client';
import { InlineCompletion } from './completion';
import { registerCommands } from './commands';
import { Doctor } from './doctor';
import { EditorActions } from './editorActions';
import { errorText } from './logic/errors';
import { ModelState } from './logic/modelState';
import { StatusBar } from './statusBar';

let client: HermesClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Hermes', { log: true });
  client = new HermesClient(output);
  const hermes = client;
  const models = new ModelState((method, params) => hermes.request(method, params));
  const actions = new EditorActions(hermes);
  const chat = new ChatViewProvider(context.extensionUri, hermes, models, actions);
  const doctor = new Doctor(hermes);
  const completion = new InlineCompletion(hermes, output);
  hermes.middleware = completion.middleware();

  const refreshModels = () =>
    models.refresh().catch((err) => output.warn(`could not read the current model: ${errorText(err)}`));

  // A config.yaml the daemon cannot parse: say so once per distinct problem.
  let shownConfigErrors = '';
  const configWatch = models.onDidChange(({ configErrors, configPath }) => {
    const key = configErrors.join('\n');
    if (key === shownConfigErrors) {
      return;
    }
    shownConfigErrors = key;
    if (configErrors.length) {
      void vscode.window
        .showWarningMessage(`Hermes runs on defaults: ${configErrors[0]}. Fix the file to save settings again.`, 'Open config.yaml', 'Run Doctor')
        .then(async (choice) => {
          if (choice === 'Open config.yaml' && configPath) {
            await vscode.window.showTextDocument(vscode.Uri.file(configPath));
          } else if (choice === 'Run Doctor') {
            await vscode.commands.executeCommand('hermes.runDoctor');
          }
        });
    }
  });

  const statusBar = new StatusBar(hermes, models);
  context.subscriptions.push(
    output,
    chat.onDidChangeMeter((meter) => statusBar.setMeter(meter)),
    { dispose: () => configWatch.dispose() },
    { dispose: () => void hermes.dispose() },
    chat,
    actions,
    doctor,
    statusBar,
    completion,
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, chat, { webviewOptions: { retainContextWhenHidden: true } }),
    ...registerCommands({ client: hermes, models, chat, doctor, actions }),
    hermes.onDidChangeStatus((status) => {
      if (status.state === 'running') {
        void refreshModels();
      }
    }),
    hermes.onConfigChanged((change) => {
      output.info(`config changed: ${change.key}`);
      models.applyChange(change);
      void refreshModels();
    }),
    hermes.onProvidersChanged(() => {
      output.info('providers changed (plugins reloaded)');
      void refreshModels();
    }),
  );

  await hermes.start();
}

export async function deactivate(): Promise<void> {
  await client?.dispose();
  client = undefined;
}
