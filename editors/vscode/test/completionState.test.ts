import { describe, expect, it } from 'vitest';
import { SNOOZE_MS, completionLine, type CompletionInputs } from '../src/logic/completionState';

const base: CompletionInputs = {
  enabled: true,
  snoozedUntil: 0,
  now: 1_000_000,
  server: { state: 'running' },
  registered: true,
};

describe('completionLine', () => {
  it('is on, and active, when the daemon registered completion and nothing stops it', () => {
    const line = completionLine(base);
    expect(line).toMatchObject({ kind: 'on', active: true });
    expect(line.tooltip).toContain('Tab accepts');
  });

  it("the user's switch comes first, even with the server down", () => {
    const line = completionLine({ ...base, enabled: false, server: { state: 'stopped', message: 'gone' } });
    expect(line).toMatchObject({ kind: 'off', active: false });
    expect(line.tooltip).toContain('hermes.completion.enabled');
  });

  it('snoozed until a clock time, then on again once it has passed', () => {
    const until = base.now + SNOOZE_MS;
    const line = completionLine({ ...base, snoozedUntil: until });
    expect(line).toMatchObject({ kind: 'snoozed', active: false });
    expect(line.tooltip).toMatch(/snoozed until \d\d:\d\d/);
    expect(completionLine({ ...base, snoozedUntil: until, now: until + 1 }).kind).toBe('on');
  });

  it('says the server is down with its reason, one line', () => {
    const line = completionLine({ ...base, server: { state: 'stopped', message: 'hermesd was not found' } });
    expect(line).toMatchObject({ kind: 'down', active: false });
    expect(line.tooltip).toBe('Hermes completion: the server is not running (hermesd was not found).');
  });

  it('not registered by the daemon: not set up, and no request is made', () => {
    const line = completionLine({ ...base, registered: false });
    expect(line).toMatchObject({ kind: 'unconfigured', active: false });
    expect(line.tooltip).toContain('completion.provider');
  });

  it("the daemon's last error is shown but requests go on (the next one may succeed)", () => {
    const line = completionLine({ ...base, lastError: 'upstream refused: 401' });
    expect(line).toMatchObject({ kind: 'error', active: true, tooltip: 'Hermes completion: upstream refused: 401' });
  });
});
