/** The minimum coding score input: validation and parsing, no vscode. */

export const NO_FLOOR_WORDS = ['none', 'null', 'off'];

/**
 * Validates what the user typed. Returns an error message, or undefined when
 * the text is acceptable (a number from 0 to 1, or "none" for no floor).
 */
export function validateScoreInput(text: string): string | undefined {
  const parsed = parseScoreInput(text);
  if (parsed.ok) {
    return undefined;
  }
  return parsed.error;
}

export type ParsedScore = { ok: true; value: number | null } | { ok: false; error: string };

export function parseScoreInput(text: string): ParsedScore {
  const trimmed = text.trim();
  if (trimmed === '') {
    return { ok: false, error: 'Enter a number from 0 to 1 (for example 0.65), or "none" for no floor.' };
  }
  if (NO_FLOOR_WORDS.includes(trimmed.toLowerCase())) {
    return { ok: true, value: null };
  }
  // Number('') and Number(' ') are 0, hex and exponents parse too: insist on
  // a plain decimal.
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(trimmed)) {
    return { ok: false, error: `"${trimmed}" is not a number. Enter a number from 0 to 1, such as 0.65.` };
  }
  const value = Number(trimmed);
  if (!(value >= 0 && value <= 1)) {
    return { ok: false, error: `The minimum coding score must be from 0 to 1 (got ${trimmed}).` };
  }
  return { ok: true, value };
}
