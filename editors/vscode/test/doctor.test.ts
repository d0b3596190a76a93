import { beforeEach, describe, expect, it } from 'vitest';
import * as vscode from './mocks/vscode';
import { Doctor, REPORT_SCHEME } from '../src/doctor';
import { fakeClient } from './fakeClient';

beforeEach(() => vscode.resetMock());

const checks = [
  { id: 'config', status: 'ok', summary: 'config.yaml parsed' },
  { id: 'provider:openrouter', status: 'fail', summary: 'OPENROUTER_API_KEY was rejected (401)', hint: 'set a valid key in OPENROUTER_API_KEY' },
];

function providerOf(): { provideTextDocumentContent(): string } {
  return vscode.workspace.registerTextDocumentContentProvider.mock.calls[0][1] as never;
}

describe('Doctor', () => {
  it('runs under a progress notification with a work-done token and opens a markdown preview', async () => {
    const { client, calls, raw } = fakeClient({ 'hermes/doctor': () => ({ checks }) });
    const doctor = new Doctor(client);
    expect(vscode.workspace.registerTextDocumentContentProvider.mock.calls[0][0]).toBe(REPORT_SCHEME);
    await doctor.run();
    expect(vscode.window.withProgress).toHaveBeenCalledTimes(1);
    const token = calls[0].params.workDoneToken as string;
    expect(token).toMatch(/^hermes-doctor-/);
    expect(raw.onProgress).toHaveBeenCalledWith(token, expect.any(Function));
    const report = providerOf().provideTextDocumentContent();
    expect(report).toContain('| ❌ fail | provider · openrouter | OPENROUTER_API_KEY was rejected (401)<br>**Hint:** set a valid key in OPENROUTER_API_KEY |');
    expect(report).toContain('hermesd 0.1.0');
    const [command, uri] = vscode.commands.executeCommand.mock.calls[0] as unknown as [string, vscode.Uri];
    expect(command).toBe('markdown.showPreview');
    expect(uri.scheme).toBe(REPORT_SCHEME);
    expect(vscode.window.showWarningMessage).toHaveBeenCalledWith('Hermes doctor: 1 fail · 1 ok. The report lists what to do.');
  });

  it('falls back to the markdown source when there is no preview', async () => {
    const { client } = fakeClient({ 'hermes/doctor': () => ({ checks: [checks[0]] }) });
    vscode.commands.executeCommand.mockRejectedValueOnce(new Error("command 'markdown.showPreview' not found"));
    await new Doctor(client).run();
    expect(vscode.window.showTextDocument).toHaveBeenCalledTimes(1);
    expect(vscode.window.showWarningMessage).not.toHaveBeenCalled();
    expect(vscode.window.setStatusBarMessage).toHaveBeenCalledWith('Hermes doctor: 1 ok', 6000);
  });

  it('shows why the doctor could not run, with logs and restart', async () => {
    const { client, raw } = fakeClient({
      'hermes/doctor': () => {
        throw new Error('hermesd is not running.');
      },
    });
    vscode.window.showErrorMessage.mockResolvedValueOnce('Restart Server');
    await new Doctor(client).run();
    expect(vscode.window.showErrorMessage).toHaveBeenCalledWith('Hermes doctor failed: hermesd is not running.', 'Show Logs', 'Restart Server');
    expect(raw.restart).toHaveBeenCalledTimes(1);
  });
});
