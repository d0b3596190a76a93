import { describe, expect, it } from 'vitest';
import {
  checkName,
  countChecks,
  escapeCell,
  formatDoctorReport,
  formatRow,
  sortChecks,
  statusBadge,
  summaryLine,
} from '../src/logic/doctorReport';
import { DoctorCheck } from '../src/protocol';

const checks: DoctorCheck[] = [
  { id: 'config', status: 'ok', summary: 'config.yaml parsed (/home/u/.hermes/config.yaml)' },
  {
    id: 'plugin:broken',
    status: 'fail',
    summary: "plugin 'broken' failed to load: NameError",
    hint: 'fix /home/u/.hermes/plugins/broken/__init__.py line 3 or remove the directory',
  },
  { id: 'override:gmi', status: 'warn', summary: 'user plugin gmi overrides the bundled one' },
  { id: 'provider:openrouter', provider: 'openrouter', status: 'ok', summary: 'OPENROUTER_API_KEY is set; catalog reachable (200)' },
  { id: 'provider:nvidia', provider: 'nvidia', status: 'skip', summary: 'no key set', hint: 'set NVIDIA_API_KEY' },
];

describe('doctor rows', () => {
  it('counts by status', () => {
    expect(countChecks(checks)).toEqual({ ok: 2, warn: 1, fail: 1, skip: 1 });
    expect(summaryLine(countChecks(checks))).toBe('1 fail · 1 warn · 2 ok · 1 skip');
    expect(summaryLine({ ok: 3, warn: 0, fail: 0, skip: 0 })).toBe('3 ok');
  });

  it('has a badge per status, and a fallback for unknown ones', () => {
    expect(statusBadge('ok')).toBe('✅ ok');
    expect(statusBadge('warn')).toBe('⚠️ warn');
    expect(statusBadge('fail')).toBe('❌ fail');
    expect(statusBadge('skip')).toBe('⏭️ skip');
    expect(statusBadge('weird')).toBe('❔ weird');
  });

  it('sorts failures first, stable within a status', () => {
    expect(sortChecks(checks).map((c) => c.id)).toEqual([
      'plugin:broken',
      'override:gmi',
      'config',
      'provider:openrouter',
      'provider:nvidia',
    ]);
  });

  it('names checks readably', () => {
    expect(checkName(checks[3])).toBe('provider · openrouter');
    expect(checkName(checks[0])).toBe('config');
  });

  it('formats a row with its hint', () => {
    expect(formatRow(checks[1])).toBe(
      "| ❌ fail | plugin · broken | plugin 'broken' failed to load: NameError<br>**Hint:** fix /home/u/.hermes/plugins/broken/__init__.py line 3 or remove the directory |",
    );
  });

  it('escapes pipes, HTML and newlines so a summary cannot break the table', () => {
    expect(escapeCell('a | b\n<script>')).toBe('a \\| b<br>&lt;script&gt;');
  });
});

describe('formatDoctorReport', () => {
  const report = formatDoctorReport(checks, { generatedAt: new Date(0), serverVersion: '0.1.0' });

  it('starts with a title, the server version and the summary', () => {
    const lines = report.split('\n');
    expect(lines[0]).toBe('# Hermes doctor');
    expect(lines[2]).toMatch(/^hermesd 0\.1\.0 · /);
    expect(report).toContain('**1 fail · 1 warn · 2 ok · 1 skip**');
  });

  it('has one table row per check', () => {
    expect(report.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Status') && !l.startsWith('| ---'))).toHaveLength(5);
  });

  it('lists what to do for failures and warnings with hints only', () => {
    const todo = report.slice(report.indexOf('## What to do'));
    expect(todo).toContain('**plugin · broken**: fix /home/u/.hermes/plugins/broken/__init__.py');
    expect(todo).not.toContain('NVIDIA_API_KEY');
  });

  it('says so when there are no checks', () => {
    expect(formatDoctorReport([], { generatedAt: new Date(0) })).toContain('The daemon reported no checks.');
  });
});
