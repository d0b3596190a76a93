/** The "Open Conversation…" rows: pure, so it is unit-tested without VS Code. */
import { SessionSummary } from '../protocol';

/** "just now", "5 min ago", "3 h ago", "2 days ago", else the date. */
export function age(updatedAt: string, now: number = Date.now()): string {
  const then = Date.parse(updatedAt);
  if (Number.isNaN(then)) {
    return updatedAt;
  }
  const seconds = Math.max(0, (now - then) / 1000);
  if (seconds < 60) {
    return 'just now';
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ago`;
  }
  if (seconds < 86400) {
    return `${Math.floor(seconds / 3600)} h ago`;
  }
  if (seconds < 86400 * 30) {
    const days = Math.floor(seconds / 86400);
    return days === 1 ? 'yesterday' : `${days} days ago`;
  }
  return updatedAt.slice(0, 10);
}

export interface HistoryItem {
  label: string;
  description: string;
  detail: string;
  sessionId: string;
}

export function historyItems(rows: SessionSummary[], now: number = Date.now()): HistoryItem[] {
  return rows.map((row) => ({
    label: row.title,
    description: [row.provider, row.model].filter(Boolean).join(' · '),
    detail: `${age(row.updatedAt, now)} · ${row.messageCount} message${row.messageCount === 1 ? '' : 's'}`,
    sessionId: row.sessionId,
  }));
}
