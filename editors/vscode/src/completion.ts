/**
 * Ghost-text completion from hermesd (`textDocument/inlineCompletion`, LSP
 * 3.18). The daemon registers the method with this window when completion is
 * configured (client/registerCapability), and vscode-languageclient turns that
 * registration into VS Code's inline completion provider: Tab accepts, and
 * VS Code's own "Accept Next Word" (Ctrl+Right) accepts a word. A newer
 * request cancels the one it supersedes ($/cancelRequest), and the daemon
 * closes that upstream stream.
 *
 * This module adds only the user's switch (`hermes.completion.enabled`), a
 * five-minute snooze, the status-bar line, quiet errors and the "shown"
 * report (accepting runs the item's own command, which the daemon counts).
 * What to complete, when, and from which model is the daemon's.
 */
import * as vscode from 'vscode';
import type { CancellationToken, InlineCompletionContext, Position, TextDocument } from 'vscode';
import {
  InlineCompletionRequest,
  type InlineCompletionItem as ProtocolItem,
  type InlineCompletionList as ProtocolList,
  LanguageClient,
  Middleware,
} from 'vscode-languageclient/node';
import type { HermesClient } from './client';
import { CompletionEventParams, Methods } from './protocol';
import { errorText } from './logic/errors';
import { SNOOZE_MS, completionLine, type CompletionLine } from './logic/completionState';

const METHOD = InlineCompletionRequest.method;

export class InlineCompletion implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('hermes.completion', vscode.StatusBarAlignment.Right, 99);
  private readonly disposables: vscode.Disposable[] = [];
  /** Toggle Inline Completion's choice for this window; the setting is the default. */
  private switched: boolean | undefined;
  private snoozedUntil = 0;
  private snoozeTimer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  private loggedError: string | undefined;

  constructor(
    private readonly client: HermesClient,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.item.name = 'Hermes Completion';
    this.item.command = 'hermes.completion.menu';
    this.disposables.push(
      // The daemon registers inline completion just after the handshake, and again on config changes:
      // vscode-languageclient has no event for a registration, so look again shortly after each.
      client.onDidChangeStatus(() => this.updateSoon()),
      client.onConfigChanged(() => this.updateSoon()),
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('hermes.completion')) {
          this.switched = undefined; // the setting changed: it decides again
          this.update();
        }
      }),
      vscode.commands.registerCommand('hermes.completion.menu', () => this.menu()),
      vscode.commands.registerCommand('hermes.completion.toggle', () => this.toggle()),
      vscode.commands.registerCommand('hermes.completion.snooze', () => this.snooze()),
    );
    this.update();
    this.item.show();
  }

  /** The language client's middleware: the switch, the snooze and quiet errors around the daemon's answer. */
  middleware(): Middleware {
    return {
      provideInlineCompletionItems: (document, position, context, token) => this.provide(document, position, context, token),
    };
  }

  private get enabled(): boolean {
    return this.switched ?? vscode.workspace.getConfiguration('hermes.completion').get<boolean>('enabled', true);
  }

  line(): CompletionLine {
    const lc = this.client.languageClient;
    return completionLine({
      enabled: this.enabled,
      snoozedUntil: this.snoozedUntil,
      now: Date.now(),
      server: this.client.serverStatus,
      registered: !!lc && registered(lc),
      lastError: this.lastError,
    });
  }

  private updateSoon(): void {
    this.update();
    for (const ms of [300, 1500]) {
      setTimeout(() => this.update(), ms);
    }
  }

  private update(): void {
    const line = this.line();
    this.item.text = line.text;
    this.item.tooltip = line.tooltip;
    this.item.backgroundColor =
      line.kind === 'error' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  private async provide(
    document: TextDocument,
    position: Position,
    context: InlineCompletionContext,
    token: CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | vscode.InlineCompletionList | null | undefined> {
    const lc = this.client.languageClient;
    if (!lc || !this.line().active) {
      return null;
    }
    const params = lc.code2ProtocolConverter.asInlineCompletionParams(document, position, context);
    let result: ProtocolItem[] | ProtocolList | null;
    try {
      // The token cancels the request ($/cancelRequest) when VS Code asks again.
      result = await lc.sendRequest(InlineCompletionRequest.type, params, token);
    } catch (err) {
      if (!token.isCancellationRequested) {
        this.failed(errorText(err));
      }
      return null;
    }
    if (token.isCancellationRequested) {
      return null;
    }
    this.succeeded();
    const items = Array.isArray(result) ? result : result?.items ?? [];
    if (!items.length) {
      return null;
    }
    // Accepting runs the item's command (the daemon's hermes.completionAccepted, through
    // workspace/executeCommand): that is the accepted report. VS Code's stable API has no
    // "shown" event: the first item handed to VS Code for the cursor is reported as shown.
    this.reportShown(items[0]);
    return lc.protocol2CodeConverter.asInlineCompletionResult(result, token);
  }

  /** hermes/completionEvent with the suggestion's id (its command's argument). */
  private reportShown(item: ProtocolItem): void {
    const id = item.command?.arguments?.[0];
    const lc = this.client.languageClient;
    if (typeof id !== 'string' || !lc) {
      return;
    }
    const params: CompletionEventParams = { id, event: 'shown' };
    void lc.sendNotification(Methods.completionEvent, params).catch(() => undefined);
  }

  /** One line, no toast: typing must not raise an error per keystroke. */
  private failed(message: string): void {
    this.lastError = message.split('\n')[0];
    if (this.loggedError !== this.lastError) {
      this.loggedError = this.lastError;
      this.output.warn(`completion: ${this.lastError}`);
    }
    this.update();
  }

  private succeeded(): void {
    if (this.lastError) {
      this.lastError = undefined;
      this.loggedError = undefined;
      this.update();
    }
  }

  /** On or off for this window (hermes.completion.enabled sets it for every window). */
  toggle(): void {
    this.switched = !this.enabled;
    if (this.switched) {
      this.resume();
    } else {
      void vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
    }
    this.update();
  }

  snooze(): void {
    this.snoozedUntil = Date.now() + SNOOZE_MS;
    clearTimeout(this.snoozeTimer);
    this.snoozeTimer = setTimeout(() => this.resume(), SNOOZE_MS);
    void vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
    this.update();
  }

  private resume(): void {
    this.snoozedUntil = 0;
    clearTimeout(this.snoozeTimer);
    this.snoozeTimer = undefined;
    this.update();
  }

  /** The status-bar item's menu: the state line, then what can be done about it. */
  private async menu(): Promise<void> {
    const line = this.line();
    const actions: { label: string; run: () => unknown }[] = [];
    if (line.kind === 'snoozed') {
      actions.push({ label: '$(play) Resume completion', run: () => this.resume() });
    } else if (this.enabled) {
      actions.push({ label: '$(clock) Snooze completion for 5 minutes', run: () => this.snooze() });
    }
    actions.push(
      this.enabled
        ? { label: '$(circle-slash) Turn completion off', run: () => this.toggle() }
        : { label: '$(sparkle) Turn completion on', run: () => this.toggle() },
    );
    if (line.kind === 'down' || line.kind === 'unconfigured' || line.kind === 'error') {
      actions.push({ label: '$(pulse) Run Doctor', run: () => vscode.commands.executeCommand('hermes.runDoctor') });
    }
    const choice = await vscode.window.showQuickPick(actions, { title: line.tooltip, placeHolder: line.tooltip });
    await choice?.run();
  }

  dispose(): void {
    clearTimeout(this.snoozeTimer);
    this.disposables.forEach((d) => d.dispose());
    this.item.dispose();
  }
}

/** Whether the daemon registered inline completion with this client. */
function registered(lc: LanguageClient): boolean {
  const state = lc.getFeature(METHOD)?.getState();
  return state?.kind === 'document' && state.registrations;
}
