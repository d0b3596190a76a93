/** Formatting hermes/doctor results as a readable markdown report. */
import { DoctorCheck } from '../protocol';

const STATUS_ORDER = ['fail', 'warn', 'ok', 'skip'];

const STATUS_BADGE: Record<string, string> = {
  ok: '✅ ok',
  warn: '⚠️ warn',
  fail: '❌ fail',
  skip: '⏭️ skip',
};

export interface DoctorCounts {
  ok: number;
  warn: number;
  fail: number;
  skip: number;
}

export function countChecks(checks: DoctorCheck[]): DoctorCounts {
  const counts: DoctorCounts = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const check of checks) {
    if (check.status in counts) {
      counts[check.status as keyof DoctorCounts] += 1;
    }
  }
  return counts;
}

/** "1 fail · 2 warn · 5 ok · 3 skip" (zero counts left out). */
export function summaryLine(counts: DoctorCounts): string {
  const parts = STATUS_ORDER.filter((s) => counts[s as keyof DoctorCounts] > 0).map(
    (s) => `${counts[s as keyof DoctorCounts]} ${s}`,
  );
  return parts.length ? parts.join(' · ') : 'no checks';
}

export function statusBadge(status: string): string {
  return STATUS_BADGE[status] ?? `❔ ${status}`;
}

/** Escapes text for a markdown table cell: pipes, newlines, HTML. */
export function escapeCell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, '<br>');
}

/** A human name for a check id: "provider:openrouter" → "provider openrouter". */
export function checkName(check: DoctorCheck): string {
  const colon = check.id.indexOf(':');
  if (colon < 0) {
    return check.id;
  }
  return `${check.id.slice(0, colon)} · ${check.id.slice(colon + 1)}`;
}

/** Failures first, then warnings, ok, skipped; stable within a status. */
export function sortChecks(checks: DoctorCheck[]): DoctorCheck[] {
  const rank = (s: string) => {
    const i = STATUS_ORDER.indexOf(s);
    return i < 0 ? STATUS_ORDER.length : i;
  };
  return checks
    .map((check, index) => ({ check, index }))
    .sort((a, b) => rank(a.check.status) - rank(b.check.status) || a.index - b.index)
    .map((x) => x.check);
}

/** One table row: | status | check | summary (and hint) |. */
export function formatRow(check: DoctorCheck): string {
  let details = escapeCell(check.summary);
  if (check.hint) {
    details += `<br>**Hint:** ${escapeCell(check.hint)}`;
  }
  return `| ${statusBadge(check.status)} | ${escapeCell(checkName(check))} | ${details} |`;
}

export interface ReportMeta {
  generatedAt: Date;
  serverVersion?: string;
}

export function formatDoctorReport(checks: DoctorCheck[], meta: ReportMeta): string {
  const counts = countChecks(checks);
  const lines: string[] = [];
  lines.push('# Hermes doctor');
  lines.push('');
  const server = meta.serverVersion ? `hermesd ${meta.serverVersion}` : 'hermesd';
  lines.push(`${server} · ${meta.generatedAt.toLocaleString()}`);
  lines.push('');
  lines.push(`**${summaryLine(counts)}**`);
  lines.push('');
  if (checks.length === 0) {
    lines.push('The daemon reported no checks.');
    lines.push('');
    return lines.join('\n');
  }
  lines.push('| Status | Check | Details |');
  lines.push('| --- | --- | --- |');
  for (const check of sortChecks(checks)) {
    lines.push(formatRow(check));
  }
  lines.push('');
  const hints = sortChecks(checks).filter((c) => c.hint && (c.status === 'fail' || c.status === 'warn'));
  if (hints.length) {
    lines.push('## What to do');
    lines.push('');
    for (const check of hints) {
      lines.push(`- **${checkName(check)}**: ${escapeCell(check.hint ?? '')}`);
    }
    lines.push('');
  }
  lines.push('Run **Hermes: Run Doctor** again after a change; keys are read from the environment and `$HERMES_HOME/.env`.');
  lines.push('');
  return lines.join('\n');
}
