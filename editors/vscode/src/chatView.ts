/**
 * The chat webview view: hosts the webview, forwards its actions to the
 * ChatController and the controller's events to the webview.
 */
import * as vscode from 'vscode';
import type { HermesClient } from './client';
import { ChatController, ChatEvent } from './logic/chatController';
import { FromWebview, ToWebview, ViewState, isFromWebview } from './logic/chatTypes';
import { chatHtml, makeNonce } from './logic/html';
import { ModelState } from './logic/modelState';
import { ChatParams, ChatResult, Methods, NewSessionResult } from './protocol';

export const CHAT_VIEW_ID = 'hermes.chatView';

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private readonly controller: ChatController;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly client: HermesClient,
    private readonly models: ModelState,
  ) {
    this.controller = new ChatController(
      {
        newSession: () => client.request<NewSessionResult>(Methods.newSession, {}),
        chat: (params: ChatParams) => client.request<ChatResult>(Methods.chat, params),
        cancel: (sessionId: string) => client.request(Methods.cancel, { sessionId }),
      },
      (event) => this.onControllerEvent(event),
      () => models.value.current,
    );
    const modelSub = models.onDidChange(() => this.post({ type: 'header', header: models.header(client.serverStatus) }));
    this.disposables.push(
      { dispose: () => modelSub.dispose() },
      client.onChatDelta((delta) => this.controller.onDelta(delta)),
      client.onDidChangeStatus((server) => {
        if (server.state === 'stopped') {
          this.controller.serverLost(server.message);
        }
        this.post({ type: 'server', server });
        this.post({ type: 'header', header: models.header(server) });
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
      header: this.models.header(this.client.serverStatus),
      server: this.client.serverStatus,
    };
  }

  private post(message: ToWebview): void {
    void this.view?.webview.postMessage(message);
  }

  private onControllerEvent(event: ChatEvent): void {
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
      case 'newChat':
        this.newChat();
        break;
      case 'copy':
        await vscode.env.clipboard.writeText(message.text);
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

  newChat(): void {
    this.controller.reset();
    this.post({ type: 'focusInput' });
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
