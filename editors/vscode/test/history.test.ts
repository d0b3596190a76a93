import { describe, expect, it } from 'vitest';
import { historyItems } from '../src/logic/history';

describe('Open Conversation rows', () => {
  it("shows the daemon's title, description and detail, keeping its order", () => {
    const items = historyItems([
      { sessionId: 's-2', title: 'fast fib', provider: 'openrouter', model: 'openrouter/pareto-code', updatedAt: '2026-11-30T11:58:00Z',
        messageCount: 4, description: 'openrouter · openrouter/pareto-code', detail: '2 min ago · 4 messages' },
      { sessionId: 's-1', title: '(empty)', provider: '', model: '', updatedAt: '2026-11-28T12:00:00Z', messageCount: 1,
        description: '', detail: '2 days ago · 1 message' },
    ]);
    expect(items).toEqual([
      { label: 'fast fib', description: 'openrouter · openrouter/pareto-code', detail: '2 min ago · 4 messages', sessionId: 's-2' },
      { label: '(empty)', description: '', detail: '2 days ago · 1 message', sessionId: 's-1' },
    ]);
  });
});
