/** The status-bar items: the current model, or the server's trouble; and the open conversation's cost and context. */
import * as vscode from 'vscode';
import type { HermesClient } from './client';
import type { SessionMeter } from './logic/chatTypes';
import { ModelState } from './logic/modelState';
import { describeCurrent, statusBarText } from './logic/modelState';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('hermes.model', vscode.StatusBarAlignment.Right, 100);
  private readonly usage = vscode.window.createStatusBarItem('hermes.usage', vscode.StatusBarAlignment.Right, 99);
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly client: HermesClient,
    private readonly models: ModelState,
  ) {
    this.item.name = 'Hermes Model';
    const sub = models.onDidChange(() => this.update());
    this.disposables.push({ dispose: () => sub.dispose() }, client.onDidChangeStatus(() => this.update()));
    this.update();
    this.item.show();
  }

  private update(): void {
    const server = this.client.serverStatus;
    const item = this.item;
    item.backgroundColor = undefined;
    if (server.state === 'stopped') {
      item.text = '$(warning) Hermes';
      item.tooltip = `${server.message}\nClick to restart hermesd.`;
      item.command = 'hermes.restartServer';
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      return;
    }
    if (server.state === 'starting') {
      item.text = '$(loading~spin) Hermes';
      item.tooltip = 'Starting hermesd…';
      item.command = 'hermes.showLogs';
      return;
    }
    const current = this.models.value.current;
    item.text = statusBarText(current);
    item.tooltip = `Hermes model: ${describeCurrent(current)}\nClick to select a model.`;
    item.command = 'hermes.selectModel';
  }

  /** The conversation's cost (the daemon's `costText`), its totals and context meter in the tooltip; hidden without one. */
  setMeter(meter: SessionMeter): void {
    if (!meter.cost) {
      this.usage.hide();
      return;
    }
    this.usage.name = 'Hermes Usage';
    this.usage.text = `$(graph) ${meter.cost}`;
    this.usage.tooltip = [meter.total, meter.context].filter(Boolean).join('\n');
    this.usage.command = 'hermes.chatView.focus';
    this.usage.show();
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
    this.item.dispose();
    this.usage.dispose();
  }
}
