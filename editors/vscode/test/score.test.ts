import { describe, expect, it } from 'vitest';
import { parseScoreInput, validateScoreInput } from '../src/logic/score';
import { formatScore, getPath, minScoreOf, shortModelName, dirnameOf } from '../src/logic/config';

describe('validateScoreInput', () => {
  it.each(['0', '1', '0.65', '.5', '1.0', ' 0.3 ', '+0.2'])('accepts %j', (text) => {
    expect(validateScoreInput(text)).toBeUndefined();
  });
  it.each(['1.5', '-0.1', '2'])('rejects %j as out of range', (text) => {
    expect(validateScoreInput(text)).toMatch(/must be from 0 to 1/);
  });
  it.each(['abc', '0x1', '1e-1', '0.6.5', 'NaN', 'Infinity'])('rejects %j as not a number', (text) => {
    expect(validateScoreInput(text)).toMatch(/is not a number/);
  });
  it('rejects empty input with an example', () => {
    expect(validateScoreInput('  ')).toMatch(/for example 0.65/);
  });
  it('reads "none" as no floor (null)', () => {
    expect(parseScoreInput('None')).toEqual({ ok: true, value: null });
    expect(parseScoreInput('0.8')).toEqual({ ok: true, value: 0.8 });
  });
});

describe('config helpers', () => {
  const config = { openrouter: { min_coding_score: 0.7 }, model: { provider: 'openrouter' } };
  it('reads dotted paths', () => {
    expect(getPath(config, 'model.provider')).toBe('openrouter');
    expect(getPath(config, 'model.missing')).toBeUndefined();
    expect(getPath(config, 'model.provider.deeper')).toBeUndefined();
    expect(getPath(undefined, 'a')).toBeUndefined();
  });
  it('reads the min score, distinguishing null from unknown', () => {
    expect(minScoreOf(config)).toBe(0.7);
    expect(minScoreOf({ openrouter: { min_coding_score: null } })).toBeNull();
    expect(minScoreOf({ openrouter: { min_coding_score: '***' } })).toBeUndefined();
    expect(minScoreOf({})).toBeUndefined();
  });
  it('formats scores', () => {
    expect(formatScore(0.65)).toBe('0.65');
    expect(formatScore(0.1 + 0.2)).toBe('0.3');
    expect(formatScore(null)).toBe('no floor');
    expect(formatScore(undefined)).toBe('');
  });
  it('shortens model ids and paths', () => {
    expect(shortModelName('openrouter/pareto-code')).toBe('pareto-code');
    expect(shortModelName('llama3')).toBe('llama3');
    expect(dirnameOf('/home/u/.hermes/config.yaml')).toBe('/home/u/.hermes');
    expect(dirnameOf('C:\\Users\\u\\.hermes\\config.yaml')).toBe('C:\\Users\\u\\.hermes');
  });
});
