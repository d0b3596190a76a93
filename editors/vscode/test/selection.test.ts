import { describe, expect, it } from 'vitest';
import { fenceFor, formatSelectionPrompt } from '../src/logic/selection';

describe('formatSelectionPrompt', () => {
  it('sends the question, file name, language, lines and code', () => {
    const text = formatSelectionPrompt({
      question: 'Why is this slow?',
      fileName: 'src/app.py',
      languageId: 'python',
      startLine: 10,
      endLine: 12,
      code: 'for x in xs:\n    y = f(x)\n    out.append(y)\n\n',
    });
    expect(text).toBe(
      'Why is this slow?\n\nFrom `src/app.py` (python), lines 10-12:\n\n```python\nfor x in xs:\n    y = f(x)\n    out.append(y)\n```\n',
    );
  });
  it('asks for an explanation by default and names a single line', () => {
    const text = formatSelectionPrompt({ fileName: 'a.ts', languageId: 'typescript', startLine: 3, endLine: 3, code: 'x()' });
    expect(text.startsWith('Explain this code.\n\nFrom `a.ts` (typescript), line 3:')).toBe(true);
  });
  it('uses a longer fence when the code contains backticks', () => {
    expect(fenceFor('no ticks')).toBe('```');
    expect(fenceFor('a ``` b')).toBe('````');
    const text = formatSelectionPrompt({ fileName: 'README.md', languageId: 'markdown', startLine: 1, endLine: 3, code: '```sh\nls\n```' });
    expect(text).toContain('````markdown\n```sh\nls\n```\n````');
  });
  it('drops a language id that could break the fence', () => {
    const text = formatSelectionPrompt({ fileName: 'x', languageId: 'a b`', startLine: 1, endLine: 1, code: 'c' });
    expect(text).toContain('```\nc\n```');
  });
});
