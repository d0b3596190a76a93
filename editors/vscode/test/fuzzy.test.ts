import { describe, expect, it } from 'vitest';
import { fuzzyRank, fuzzyScore } from '../src/logic/fuzzy';

describe('the "+ File" picker\'s fuzzy match', () => {
  it('takes the letters in order anywhere, in any case', () => {
    expect(fuzzyScore('dsgnnotes', 'docs/design-notes.md')).toBeDefined();
    expect(fuzzyScore('DN', 'docs/design-notes.md')).toBeDefined();
    expect(fuzzyScore('notesdesign', 'docs/design-notes.md')).toBeUndefined();
    expect(fuzzyScore('xyz', 'fib.py')).toBeUndefined();
  });

  it("ranks a match in the file's name first, then runs and word starts, then shorter paths", () => {
    const paths = ['src/fib/other.ts', 'docs/fast-fib.md', 'fib.py', 'tests/test_fib.py', 'node/f/i/b.js'];
    expect(fuzzyRank('fib', paths, (p) => p)).toEqual(['fib.py', 'tests/test_fib.py', 'docs/fast-fib.md', 'src/fib/other.ts', 'node/f/i/b.js']);
    expect(fuzzyRank('tfib', paths, (p) => p)[0]).toBe('tests/test_fib.py');
    expect(fuzzyRank('fib', paths, (p) => p, 2)).toHaveLength(2);
  });
});
