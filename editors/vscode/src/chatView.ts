/**
 * The chat webview view: hosts the webview, forwards its actions to the
 * ChatController and the controller's events to the webview.
 */
import * as vscode from 'vscode';
import type { HermesClient } from './client';
import type { EditorActions } from './editorActions';
import { CarriedRange, ChatController, ChatEvent } from './logic/chatController';
import { FromWebview, SessionMeter, ToWebview, ViewState, isFromWebview } from './logic/chatTypes';
import { errorText } from './logic/errors';
import { chatHtml, makeNonce } from './logic/html';
import { ModelState } from './logic/modelState';
import { ChatParams, ChatResult, CurrentModel, GetSessionResult, Methods, NeedsConfirmationData, NewSessionResult } from './protocol';

export const CHAT_VIEW_ID = 'hermes.chatView';
const PREVIEW_SCHEME = 'hermes-preview';

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private readonly controller: ChatController;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly previews = new Map<string, string>();
  /** config.yaml warnings already shown (hermes/chat's configWarnings). */
  private readonly warned = new Set<string>();
  private readonly meterChanged = new vscode.EventEmitter<SessionMeter>();
  /** The open conversation's total and context meter changed (a reply ended, another conversation opened). */
  readonly onDidChangeMeter = this.meterChanged.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly client: HermesClient,
    private readonly models: ModelState,
    private readonly actions: EditorActions,
  ) {
    this.controller = new ChatController(
      {
        newSession: () => client.request<NewSessionResult>(Methods.newSession, {}),
        chat: (params: ChatParams) => client.request<ChatResult>(Methods.chat, params),
        cancel: (sessionId: string) => client.request(Methods.cancel, { sessionId }),
        confirm: (found) => confirmAttachments(found),
        warnConfig: (warnings) => this.warnConfig(warnings),
      },
      (event) => this.onControllerEvent(event),
      () => models.value.current,
    );
    const modelSub = models.onDidChange(() => this.postHeader());
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, {
        provideTextDocumentContent: (uri) => this.previews.get(uri.toString()) ?? '',
      }),
      { dispose: () => modelSub.dispose() },
      this.meterChanged,
      client.onChatDelta((delta) => this.controller.onDelta(delta)),
      client.onDidChangeStatus((server) => {
        if (server.state === 'stopped') {
          this.controller.serverLost(server.message);
        }
        this.post({ type: 'server', server });
        this.postHeader(server);
      }),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const mediaRoot = vscode.Uri.joinPath(this.extensionUri, 'media');
    const distRoot = vscode.Uri.joinPath(this.extensionUri, 'dist');
    view.webview.options = { enableScripts: true, localResourceRoots: [mediaRoot, distRoot] };
    view.webview.html = chatHtml({
      cspSource: view.webview.cspSource,
      nonce: makeNonce(),
      scriptUri: view.webview.asWebviewUri(vscode.Uri.joinPath(distRoot, 'webview.js')).toString(),
      styleUri: view.webview.asWebviewUri(vscode.Uri.joinPath(mediaRoot, 'chat.css')).toString(),
    });
    this.disposables.push(
      view.webview.onDidReceiveMessage((message: unknown) => {
        if (isFromWebview(message)) {
          void this.onWebviewMessage(message);
        }
      }),
      view.onDidDispose(() => {
        if (this.view === view) {
          this.view = undefined;
        }
      }),
    );
  }

  private state(): ViewState {
    return {
      entries: this.controller.snapshot(),
      busy: this.controller.busy,
      header: this.models.header(this.client.serverStatus, this.controller.chosenModel),
      server: this.client.serverStatus,
      chips: this.controller.chips(),
      meter: this.controller.meter,
    };
  }

  private post(message: ToWebview): void {
    void this.view?.webview.postMessage(message);
  }

  private postHeader(server = this.client.serverStatus): void {
    this.post({ type: 'header', header: this.models.header(server, this.controller.chosenModel) });
  }

  /** The conversation open now, if any: the picker switches its model. */
  get session(): string | undefined {
    return this.controller.session;
  }

  /** The daemon switched this conversation's model (hermes/selectModel with its sessionId). */
  chooseModel(current: CurrentModel): void {
    this.controller.chooseModel(current);
    this.postHeader();
  }

  private onControllerEvent(event: ChatEvent): void {
    if (event.type === 'reset' || event.type === 'meter') {
      this.meterChanged.fire(this.controller.meter);
    }
    if (event.type === 'reset') {
      this.post({ type: 'state', state: this.state() });
    } else {
      this.post(event);
    }
  }

  private async onWebviewMessage(message: FromWebview): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.post({ type: 'state', state: this.state() });
        break;
      case 'send':
        await this.controller.send(message.text);
        break;
      case 'stop':
        await this.stop();
        break;
      case 'retry':
        await this.controller.retry();
        break;
      case 'newChat':
        this.newChat();
        break;
      case 'copy':
        await vscode.env.clipboard.writeText(message.text);
        break;
      case 'insert':
        await this.actions.insert(message.text);
        break;
      case 'apply':
        await this.actions.apply(message.text, message.language, this.controller.carriedRange);
        break;
      case 'addContext':
        // The view's "+ File" picks any workspace file; the command adds the current one.
        this.controller.addAttachments(message.what === 'file' ? await this.actions.pickFile() : await this.actions.collect(message.what));
        break;
      case 'removeChip':
        this.controller.removeAttachment(message.id);
        break;
      case 'preview':
        await this.preview(message.text);
        break;
      case 'command':
        await vscode.commands.executeCommand(message.command);
        break;
    }
  }

  /** Reveals the view and focuses its input. */
  async reveal(): Promise<void> {
    await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
    this.post({ type: 'focusInput' });
  }

  /** Sends a message as if typed (Ask About Selection). */
  async send(text: string): Promise<void> {
    await this.reveal();
    if (this.controller.busy) {
      void vscode.window.showWarningMessage('Hermes is still replying. Stop the reply or wait, then ask again.');
      return;
    }
    await this.controller.send(text);
  }

  async stop(): Promise<void> {
    try {
      await this.controller.stop();
    } catch (err) {
      void vscode.window.showErrorMessage(`Hermes: could not stop the reply: ${err instanceof Error ? err.message : err}`);
    }
  }

  /** Adds context chips (the commands and the view's buttons). */
  async addContext(what: 'file' | 'editors' | 'problems'): Promise<void> {
    this.controller.addAttachments(await this.actions.collect(what));
  }

  /** Each config.yaml value a chat ignored, once a window: the daemon says it with every reply until it is fixed. */
  private warnConfig(warnings: string[]): void {
    for (const warning of warnings) {
      if (!this.warned.has(warning)) {
        this.warned.add(warning);
        void vscode.window.showWarningMessage(`Hermes: config.yaml: ${warning}`);
      }
    }
  }

  /** Reopens a saved conversation: its transcript, then the next message continues it. */
  async open(sessionId: string): Promise<void> {
    const session = await this.client.request<GetSessionResult>(Methods.getSession, { sessionId });
    await this.reveal();
    this.controller.load(session);
    this.postHeader();
  }

  /** Ask About Selection: Apply… then replaces that selection by default. */
  noteRange(carried: CarriedRange): void {
    this.controller.noteRange(carried);
  }

  /** Exactly what the next message would send (hermes/previewRequest), in a JSON editor. */
  async preview(text: string): Promise<void> {
    const params: ChatParams = { message: text.trim() || '(your message)' };
    const session = this.controller.session;
    if (session) {
      params.sessionId = session;
    }
    const current = this.controller.nextModel();
    if (current?.provider && current.model) {
      params.provider = current.provider;
      params.model = current.model;
    }
    if (this.controller.attachments.length) {
      params.attachments = this.controller.attachments.map((a) => ({ ...a, confirmed: true }));
    }
    try {
      const preview = await this.client.request<unknown>(Methods.previewRequest, params);
      // A read-only document: it closes without asking to be saved.
      const uri = vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: '/Hermes request preview.json', query: String(Date.now()) });
      this.previews.set(uri.toString(), JSON.stringify(preview, null, 2));
      const document = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(document, { preview: true, viewColumn: vscode.ViewColumn.Active });
    } catch (err) {
      void vscode.window.showErrorMessage(`Hermes: ${errorText(err)}`);
    }
  }

  newChat(): void {
    this.controller.reset();
    this.post({ type: 'focusInput' });
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

/** The daemon flagged attachments as possibly secret (-32004): the user decides. */
async function confirmAttachments(found: NeedsConfirmationData['attachments']): Promise<boolean> {
  const list = found.map((f) => `${f.path} (${f.reason})`).join('\n');
  const choice = await vscode.window.showWarningMessage(
    'Send files that may hold secrets?',
    { modal: true, detail: `${list}\n\nThey go to the model and are saved with the conversation.` },
    'Send Anyway',
  );
  return choice === 'Send Anyway';
}
