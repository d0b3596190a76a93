/**
 * Fuzzy matching for the "+ File" picker: a query's characters in order anywhere in a path
 * ("dsgnnotes" finds docs/design-notes.md), as fzf or Telescope match. VS Code's quick pick
 * matches a label's contiguous substrings only, so the picker ranks the files itself.
 */

const WORD_START = /[\\/._\- ]/;

/** How well `query` matches `text` (its characters in order, any case): higher is better; undefined: no match. */
export function fuzzyScore(query: string, text: string): number | undefined {
  const q = query.toLowerCase().replace(/\s+/g, '');
  const t = text.toLowerCase();
  let score = 0;
  let at = 0;
  let previous = -2;
  for (const ch of q) {
    const found = t.indexOf(ch, at);
    if (found < 0) {
      return undefined;
    }
    score += found === previous + 1 ? 4 : 1; // a run of characters counts more than word starts
    if (found === 0 || WORD_START.test(t[found - 1])) {
      score += 2; // the start of a word (after / . _ -)
    }
    previous = found;
    at = found + 1;
  }
  return score;
}

/** The paths `query` matches, best first: a match in the file's name beats one across its folders; then shorter. */
export function fuzzyRank<T>(query: string, items: T[], pathOf: (item: T) => string, limit = 200): T[] {
  const scored: { item: T; score: number; length: number }[] = [];
  for (const item of items) {
    const full = pathOf(item);
    const name = full.slice(full.lastIndexOf('/') + 1);
    const inName = fuzzyScore(query, name);
    const score = inName !== undefined ? inName + 100 : fuzzyScore(query, full);
    if (score !== undefined) {
      scored.push({ item, score, length: full.length });
    }
  }
  scored.sort((a, b) => b.score - a.score || a.length - b.length);
  return scored.slice(0, limit).map((s) => s.item);
}
