/** The "Open Conversation…" rows: the daemon's display-ready lines, as they are. */
import { SessionSummary } from '../protocol';

export interface HistoryItem {
  label: string;
  description: string;
  detail: string;
  sessionId: string;
}

export function historyItems(rows: SessionSummary[]): HistoryItem[] {
  return rows.map((row) => ({ label: row.title, description: row.description, detail: row.detail, sessionId: row.sessionId }));
}
