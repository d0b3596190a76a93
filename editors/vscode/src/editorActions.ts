/**
 * Code from a reply into the editor: "Insert" at the cursor, and "Apply…",
 * which asks hermesd (hermes/planApply) what the file would become and shows
 * that as a diff; nothing is written until the user accepts. Also the
 * context chips' sources: the current file, the open editors, the problems.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { HermesClient } from './client';
import type { CarriedRange } from './logic/chatController';
import type { ContextKind } from './logic/chatTypes';
import { errorText } from './logic/errors';
import { fuzzyRank } from './logic/fuzzy';
import { Attachment, LspRange, Methods, PlanApplyResult } from './protocol';

export const PROPOSAL_SCHEME = 'hermes-proposal';

interface Proposal {
  target: vscode.Uri;
  version: number;
  text: string;
  uri: vscode.Uri;
}

function toLsp(range: vscode.Range): LspRange {
  return {
    start: { line: range.start.line, character: range.start.character },
    end: { line: range.end.line, character: range.end.character },
  };
}

export class EditorActions implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private proposal: Proposal | undefined;
  private counter = 0;
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly client: HermesClient) {
    this.disposables = [
      this.changed,
      vscode.workspace.registerTextDocumentContentProvider(PROPOSAL_SCHEME, this),
      // The chat view takes focus from the editor: remember where the user was.
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor && editor.document.uri.scheme !== PROPOSAL_SCHEME) {
          this.lastEditor = editor;
        }
      }),
    ];
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.proposal && this.proposal.uri.toString() === uri.toString() ? this.proposal.text : '';
  }

  private editor(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active && active.document.uri.scheme !== PROPOSAL_SCHEME) {
      return active;
    }
    const last = this.lastEditor;
    return last && vscode.window.visibleTextEditors.includes(last) ? last : vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme !== PROPOSAL_SCHEME);
  }

  /** "Insert": the block at the cursor (replacing a selection, as typing would). */
  async insert(text: string): Promise<void> {
    const editor = this.editor();
    if (!editor) {
      void vscode.window.showInformationMessage('Hermes: open a file and place the cursor where the code should go.');
      return;
    }
    await vscode.window.showTextDocument(editor.document, editor.viewColumn);
    await editor.edit((edit) => edit.replace(editor.selection, text));
  }

  /** "Apply…": where the block goes is hermesd's rule; the user sees a diff and accepts or discards it. */
  async apply(code: string, language: string, carried: CarriedRange | undefined): Promise<void> {
    let document: vscode.TextDocument | undefined;
    let range: LspRange | undefined;
    const editor = this.editor();
    if (carried) {
      document = await vscode.workspace.openTextDocument(vscode.Uri.file(carried.path));
      range = carried.range;
    } else if (editor) {
      document = editor.document;
      if (!editor.selection.isEmpty) {
        range = toLsp(editor.selection); // the user picked the range
      }
    }
    if (!document) {
      void vscode.window.showInformationMessage('Hermes: open the file to apply the code to first.');
      return;
    }
    let plan: PlanApplyResult;
    try {
      plan = await this.client.request<PlanApplyResult>(Methods.planApply, {
        code,
        language,
        path: document.uri.fsPath,
        text: document.getText(),
        ...(range ? { range } : {}),
      });
    } catch (err) {
      void vscode.window.showErrorMessage(`Hermes: cannot apply this block: ${errorText(err)}`);
      return;
    }
    if (plan.mode === 'needsRange' || plan.text === undefined) {
      void vscode.window.showInformationMessage(`Hermes: ${plan.reason ?? 'select the lines the block replaces, then apply again'}.`);
      return;
    }
    const name = path.basename(document.uri.fsPath);
    const uri = vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path: `/${name}`, query: String(++this.counter) });
    this.proposal = { target: document.uri, version: document.version, text: plan.text, uri };
    this.changed.fire(uri);
    await vscode.commands.executeCommand('setContext', 'hermes.proposalOpen', true);
    const how = { range: 'the selection', diff: 'the diff', file: 'the whole file' }[plan.mode];
    await vscode.commands.executeCommand('vscode.diff', document.uri, uri, `${name} ↔ Hermes' change (${how}): Accept or Discard`);
    // ✓ and ↺ in the diff's title bar (or the commands) accept or discard; a notification would outlive the diff.
    vscode.window.setStatusBarMessage(`Hermes: ✓ in the diff's title bar writes the change to ${name}; nothing is written until then`, 8000);
  }

  /** Hermes: Accept Proposed Change. */
  async accept(): Promise<void> {
    const proposal = this.proposal;
    if (!proposal) {
      void vscode.window.showInformationMessage('Hermes: no proposed change is open.');
      return;
    }
    const document = await vscode.workspace.openTextDocument(proposal.target);
    if (document.version !== proposal.version) {
      void vscode.window.showWarningMessage('Hermes: the file changed since the diff was made; apply the block again.');
      return;
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(proposal.target, new vscode.Range(0, 0, document.lineCount, 0), proposal.text);
    if (!(await vscode.workspace.applyEdit(edit))) {
      void vscode.window.showErrorMessage('Hermes: VS Code refused the edit.');
      return;
    }
    await document.save();
    await this.close(proposal);
    vscode.window.setStatusBarMessage(`Hermes: applied to ${path.basename(proposal.target.fsPath)}`, 4000);
  }

  /** Hermes: Discard Proposed Change. */
  async discard(): Promise<void> {
    if (this.proposal) {
      await this.close(this.proposal);
    }
  }

  private async close(proposal: Proposal): Promise<void> {
    this.proposal = undefined;
    await vscode.commands.executeCommand('setContext', 'hermes.proposalOpen', false);
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        if (tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.toString() === proposal.uri.toString()) {
          await vscode.window.tabGroups.close(tab);
        }
      }
    }
    await vscode.window.showTextDocument(proposal.target);
  }

  /** The context chips' sources. */
  async collect(what: ContextKind): Promise<Attachment[]> {
    const editor = this.editor();
    if (what === 'editors') {
      const uris = new Map<string, vscode.Uri>();
      for (const tab of vscode.window.tabGroups.all.flatMap((g) => g.tabs)) {
        if (tab.input instanceof vscode.TabInputText && tab.input.uri.scheme !== PROPOSAL_SCHEME) {
          uris.set(tab.input.uri.toString(), tab.input.uri);
        }
      }
      const documents = await Promise.all([...uris.values()].map((uri) => vscode.workspace.openTextDocument(uri)));
      return documents.map(fileAttachment);
    }
    if (!editor) {
      void vscode.window.showInformationMessage('Hermes: open a file first.');
      return [];
    }
    if (what === 'file') {
      return [fileAttachment(editor.document)];
    }
    // Problems of the selection, or of the whole file.
    const { document, selection } = editor;
    const within = selection.isEmpty ? undefined : selection;
    const diagnostics = vscode.languages
      .getDiagnostics(document.uri)
      .filter((d) => !within || d.range.intersection(within) !== undefined);
    if (!diagnostics.length) {
      void vscode.window.showInformationMessage(`Hermes: no problems in ${within ? 'the selection' : path.basename(document.uri.fsPath)}.`);
      return [];
    }
    const severity = ['error', 'warning', 'info', 'hint'];
    const text = diagnostics
      .map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${severity[d.severity] ?? 'problem'}: ${d.message}${d.source ? ` (${d.source})` : ''}`)
      .join('\n');
    return [{ kind: 'diagnostics', path: document.uri.fsPath, ...(within ? { range: toLsp(within) } : {}), text }];
  }

  /**
   * The chat view's "+ File": any file of the workspace, found by typing part of its path,
   * fuzzily (logic/fuzzy.ts); the current file comes first, so Enter alone adds it. Files
   * the search excludes (search.exclude: node_modules, …) are left out.
   */
  async pickFile(): Promise<Attachment[]> {
    type Item = vscode.QuickPickItem & { uri: vscode.Uri; relative: string };
    const current = this.editor()?.document.uri;
    const excluded = Object.entries(vscode.workspace.getConfiguration('search').get<Record<string, unknown>>('exclude') ?? {})
      .filter(([, on]) => on === true)
      .map(([glob]) => glob);
    const item = (uri: vscode.Uri, detail?: string): Item => {
      const relative = vscode.workspace.asRelativePath(uri, false).replace(/\\/g, '/');
      const folder = path.posix.dirname(relative);
      // alwaysShow: the ranking is ours (VS Code's own filter matches contiguous text only).
      return { label: path.posix.basename(relative), description: folder === '.' ? '' : folder, detail, uri, relative, alwaysShow: true };
    };
    const pick = vscode.window.createQuickPick<Item>();
    pick.title = 'Hermes: add a file to the chat';
    pick.placeholder = 'Type part of a file name or path (letters in order: "dsgnnt" finds design-notes)';
    pick.matchOnDescription = true;
    let all: Item[] = current && current.scheme !== PROPOSAL_SCHEME ? [item(current, 'the current file')] : [];
    const show = () => {
      pick.items = pick.value.trim() ? fuzzyRank(pick.value, all, (i) => i.relative) : all;
    };
    show();
    pick.busy = true;
    pick.onDidChangeValue(show);
    pick.show();
    const chosen = new Promise<Item | undefined>((resolve) => {
      pick.onDidAccept(() => resolve(pick.selectedItems[0] ?? pick.activeItems[0]));
      pick.onDidHide(() => resolve(undefined));
    });
    void Promise.resolve(vscode.workspace.findFiles('**/*', excluded.length ? `{${excluded.join(',')}}` : undefined, 20_000)).then(
      (uris) => {
        const others = uris
          .filter((uri) => uri.toString() !== current?.toString())
          .map((uri) => item(uri))
          .sort((a, b) => a.relative.localeCompare(b.relative));
        all = [...all.slice(0, all.length && all[0].detail ? 1 : 0), ...others];
        pick.busy = false;
        show();
      },
      () => {
        pick.busy = false; // no search (no folder open): the current file alone
      },
    );
    const picked = await chosen;
    pick.dispose();
    if (!picked) {
      return [];
    }
    try {
      return [fileAttachment(await vscode.workspace.openTextDocument(picked.uri))];
    } catch (err) {
      void vscode.window.showErrorMessage(`Hermes: cannot read ${picked.relative}: ${errorText(err)}`);
      return [];
    }
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

function fileAttachment(document: vscode.TextDocument): Attachment {
  return { kind: 'file', path: document.uri.scheme === 'file' ? document.uri.fsPath : document.uri.toString(), language: document.languageId, text: document.getText() };
}
