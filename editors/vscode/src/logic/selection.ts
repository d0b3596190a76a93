/** The message sent by "Ask About Selection". */

export interface SelectionContext {
  /** The user's question; a default is used when empty. */
  question?: string;
  /** Workspace-relative file name, or the document's title. */
  fileName: string;
  languageId: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  code: string;
}

export const DEFAULT_QUESTION = 'Explain this code.';

/** A fence longer than any run of backticks in the code (at least ```). */
export function fenceFor(code: string): string {
  let longest = 0;
  for (const match of code.matchAll(/`+/g)) {
    longest = Math.max(longest, match[0].length);
  }
  return '`'.repeat(Math.max(3, longest + 1));
}

export function formatSelectionPrompt(ctx: SelectionContext): string {
  const question = ctx.question?.trim() || DEFAULT_QUESTION;
  const lines = ctx.startLine === ctx.endLine ? `line ${ctx.startLine}` : `lines ${ctx.startLine}-${ctx.endLine}`;
  const fence = fenceFor(ctx.code);
  const lang = /^[\w+#.-]+$/.test(ctx.languageId) ? ctx.languageId : '';
  const code = ctx.code.replace(/\s+$/, '');
  return `${question}\n\nFrom \`${ctx.fileName}\` (${ctx.languageId}), ${lines}:\n\n${fence}${lang}\n${code}\n${fence}\n`;
}
