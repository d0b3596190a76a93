import { describe, expect, it } from 'vitest';
import { age, historyItems } from '../src/logic/history';

const NOW = Date.parse('2026-11-30T12:00:00Z');

describe('Open Conversation rows', () => {
  it('says how old a conversation is', () => {
    expect(age('2026-11-30T11:59:30Z', NOW)).toBe('just now');
    expect(age('2026-11-30T11:55:00Z', NOW)).toBe('5 min ago');
    expect(age('2026-11-30T09:00:00Z', NOW)).toBe('3 h ago');
    expect(age('2026-11-29T10:00:00Z', NOW)).toBe('yesterday');
    expect(age('2026-11-20T10:00:00Z', NOW)).toBe('10 days ago');
    expect(age('2025-01-02T10:00:00Z', NOW)).toBe('2025-01-02');
    expect(age('garbage', NOW)).toBe('garbage');
  });

  it('shows the title, provider and model, age and size, keeping the daemon order', () => {
    const items = historyItems(
      [
        { sessionId: 's-2', title: 'fast fib', provider: 'openrouter', model: 'openrouter/pareto-code', updatedAt: '2026-11-30T11:58:00Z', messageCount: 4 },
        { sessionId: 's-1', title: '(empty)', provider: '', model: '', updatedAt: '2026-11-28T12:00:00Z', messageCount: 1 },
      ],
      NOW,
    );
    expect(items).toEqual([
      { label: 'fast fib', description: 'openrouter · openrouter/pareto-code', detail: '2 min ago · 4 messages', sessionId: 's-2' },
      { label: '(empty)', description: '', detail: '2 days ago · 1 message', sessionId: 's-1' },
    ]);
  });
});
