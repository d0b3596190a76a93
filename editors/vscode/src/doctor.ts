/**
 * Hermes: Run Doctor. Runs hermes/doctor under a progress notification and
 * opens the report as a read-only markdown preview.
 */
import * as vscode from 'vscode';
import type { HermesClient } from './client';
import { countChecks, formatDoctorReport, summaryLine } from './logic/doctorReport';
import { DoctorResult, Methods } from './protocol';
import { errorText } from './logic/errors';

export const REPORT_SCHEME = 'hermes-doctor';
const REPORT_URI = vscode.Uri.parse(`${REPORT_SCHEME}:/Hermes%20Doctor.md`);

/** Serves the latest report as a read-only virtual document. */
class ReportProvider implements vscode.TextDocumentContentProvider {
  private text = '# Hermes doctor\n\nNot run yet.\n';
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  set(text: string): void {
    this.text = text;
    this.changed.fire(REPORT_URI);
  }

  provideTextDocumentContent(): string {
    return this.text;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export class Doctor implements vscode.Disposable {
  private readonly provider = new ReportProvider();
  private readonly registration: vscode.Disposable;
  private runs = 0;

  constructor(private readonly client: HermesClient) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, this.provider);
  }

  async run(): Promise<void> {
    const token = `hermes-doctor-${process.pid}-${++this.runs}`;
    let result: DoctorResult;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Hermes doctor', cancellable: false },
        async (progress) => {
          progress.report({ message: 'checking configuration, plugins and providers…' });
          const sub = this.client.onProgress(token, (value) => {
            if (value.message) {
              progress.report({ message: value.message });
            }
          });
          try {
            return await this.client.request<DoctorResult>(Methods.doctor, { workDoneToken: token });
          } finally {
            sub.dispose();
          }
        },
      );
    } catch (err) {
      const choice = await vscode.window.showErrorMessage(`Hermes doctor failed: ${errorText(err)}`, 'Show Logs', 'Restart Server');
      if (choice === 'Show Logs') {
        this.client.showLogs();
      } else if (choice === 'Restart Server') {
        await this.client.restart();
      }
      return;
    }
    const checks = result.checks ?? [];
    this.provider.set(formatDoctorReport(checks, { generatedAt: new Date(), serverVersion: this.client.serverVersion }));
    await this.open();
    const counts = countChecks(checks);
    const summary = `Hermes doctor: ${summaryLine(counts)}`;
    if (counts.fail > 0) {
      void vscode.window.showWarningMessage(`${summary}. The report lists what to do.`);
    } else {
      vscode.window.setStatusBarMessage(summary, 6000);
    }
  }

  private async open(): Promise<void> {
    try {
      await vscode.commands.executeCommand('markdown.showPreview', REPORT_URI);
    } catch {
      // No markdown preview (extension disabled): show the source instead.
      const doc = await vscode.workspace.openTextDocument(REPORT_URI);
      await vscode.window.showTextDocument(doc, { preview: true });
    }
  }

  dispose(): void {
    this.registration.dispose();
    this.provider.dispose();
  }
}
