/** Hermes: Open Conversation… — the daemon's saved sessions, newest first, filtered as you type. */
import * as vscode from 'vscode';
import type { HermesClient } from './client';
import { errorText } from './logic/errors';
import { HistoryItem, historyItems } from './logic/history';
import { ListSessionsResult, Methods } from './protocol';

type Item = vscode.QuickPickItem & { sessionId: string };

export async function openConversation(client: HermesClient, open: (sessionId: string) => Promise<void>): Promise<void> {
  const pick = vscode.window.createQuickPick<Item>();
  pick.title = 'Hermes: Open Conversation';
  pick.placeholder = 'Type to filter by title, provider or model';
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  let asked = 0;
  const load = async (query: string) => {
    const mine = ++asked;
    pick.busy = true;
    try {
      // The daemon pages and filters from its session index; no transcript is read until one is opened.
      const result = await client.request<ListSessionsResult>(Methods.listSessions, query ? { limit: 50, query } : { limit: 50 });
      if (mine === asked) {
        pick.items = historyItems(result.sessions).map((item: HistoryItem) => ({ ...item }));
        if (!result.sessions.length) {
          pick.placeholder = query ? 'No conversation matches' : 'No saved conversations yet';
        }
      }
    } catch (err) {
      void vscode.window.showErrorMessage(`Hermes: ${errorText(err)}`);
    } finally {
      if (mine === asked) {
        pick.busy = false;
      }
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  pick.onDidChangeValue((value) => {
    clearTimeout(timer);
    timer = setTimeout(() => void load(value.trim()), 150);
  });
  pick.onDidAccept(async () => {
    const chosen = pick.selectedItems[0];
    pick.hide();
    if (chosen) {
      try {
        await open(chosen.sessionId);
      } catch (err) {
        void vscode.window.showErrorMessage(`Hermes: could not open the conversation: ${errorText(err)}`);
      }
    }
  });
  pick.onDidHide(() => pick.dispose());
  pick.show();
  await load('');
}
