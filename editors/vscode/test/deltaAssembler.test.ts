import { describe, expect, it } from 'vitest';
import { DeltaAssembler } from '../src/logic/deltaAssembler';

const d = (seq: number, text: string, requestId: number | string = 7) => ({ sessionId: 's', requestId, seq, text });

describe('DeltaAssembler', () => {
  it('passes in-order pieces straight through', () => {
    const a = new DeltaAssembler();
    expect(a.push(d(0, 'Hel')).text).toBe('Hel');
    expect(a.push(d(1, 'lo')).text).toBe('lo');
  });
  it('holds an early piece until its predecessors arrive', () => {
    const a = new DeltaAssembler();
    expect(a.push(d(1, 'B')).text).toBe('');
    expect(a.push(d(2, 'C')).text).toBe('');
    expect(a.waiting).toBe(2);
    expect(a.push(d(0, 'A')).text).toBe('ABC');
    expect(a.waiting).toBe(0);
  });
  it('ignores duplicates and malformed seqs', () => {
    const a = new DeltaAssembler();
    a.push(d(0, 'A'));
    expect(a.push(d(0, 'A')).text).toBe('');
    expect(a.push(d(-1, 'x')).text).toBe('');
    expect(a.push(d(1.5, 'x')).text).toBe('');
  });
  it('starts over for a new request', () => {
    const a = new DeltaAssembler();
    a.push(d(0, 'first', 1));
    expect(a.push(d(0, 'second', 2)).text).toBe('second');
  });
  it('collects reasoning separately', () => {
    const a = new DeltaAssembler();
    expect(a.push({ sessionId: 's', requestId: 1, seq: 0, reasoning: 'think' })).toEqual({ text: '', reasoning: 'think' });
  });
});
