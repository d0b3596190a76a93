import { describe, expect, it, vi } from 'vitest';
import { ModelState, formatConfigErrors } from '../src/logic/modelState';

function daemon(minScore: unknown = 0.65) {
  return vi.fn(async (method: string) => {
    if (method === 'hermes/listProviders') {
      return { providers: [], current: { provider: 'openrouter', model: 'openrouter/pareto-code' } };
    }
    if (method === 'hermes/getConfig') {
      return { path: '/h/config.yaml', config: { openrouter: { min_coding_score: minScore } } };
    }
    throw new Error(`unexpected ${method}`);
  }) as unknown as <R>(method: string, params?: object) => Promise<R>;
}

describe('ModelState', () => {
  it('reads the current model and the Pareto score', async () => {
    const state = new ModelState(daemon());
    const seen = vi.fn();
    state.onDidChange(seen);
    await state.refresh();
    expect(state.value).toEqual({
      current: { provider: 'openrouter', model: 'openrouter/pareto-code' },
      minScore: 0.65,
      configPath: '/h/config.yaml',
      configErrors: [],
    });
    expect(seen).toHaveBeenCalledTimes(1);
    expect(state.header()).toEqual({ model: 'openrouter · openrouter/pareto-code', detail: 'min coding score 0.65' });
  });

  it('shares one refresh between concurrent callers', async () => {
    const request = daemon();
    const state = new ModelState(request);
    await Promise.all([state.refresh(), state.refresh()]);
    expect(request).toHaveBeenCalledTimes(2); // listProviders + getConfig once
  });

  it('applies configChanged notifications at once', async () => {
    const state = new ModelState(daemon());
    await state.refresh();
    state.applyChange({ key: 'openrouter.min_coding_score', value: 0.8 });
    expect(state.header().detail).toBe('min coding score 0.8');
    state.applyChange({ key: 'openrouter.min_coding_score', value: null });
    expect(state.header().detail).toBe('no minimum coding score');
    state.applyChange({ key: 'model.provider', value: 'anthropic' });
    state.applyChange({ key: 'model.default', value: 'claude-sonnet-4-6' });
    expect(state.header()).toEqual({ model: 'anthropic · claude-sonnet-4-6' });
    state.applyChange({ key: 'network.timeout', value: 30 });
    state.applyChange({ key: 'model.default', value: '/m/SmolLM2.gguf', label: 'SmolLM2.gguf' });
    expect(state.value.current?.label).toBe('SmolLM2.gguf');
    state.applyChange({ key: 'model.default', value: 'claude-sonnet-4-6' });
    expect(state.value.current).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4-6' });
  });

  it('formats config errors with the file and line', () => {
    expect(formatConfigErrors('/h/.hermes/config.yaml', [{ message: 'mapping values are not allowed here', line: 3 }, { message: 'bad' }])).toEqual([
      'config.yaml line 3: mapping values are not allowed here',
      'config.yaml: bad',
    ]);
    expect(formatConfigErrors(undefined, undefined)).toEqual([]);
  });

  it('says it is connecting before the first refresh, or what the banner says about the server', () => {
    const state = new ModelState(daemon());
    expect(state.header()).toEqual({ model: 'Connecting to hermesd…' });
    expect(state.header({ state: 'starting' })).toEqual({ model: 'Starting hermesd…' });
    expect(state.header({ state: 'stopped', message: 'x', notFound: true })).toEqual({ model: 'Not connected: hermesd was not found' });
    expect(state.header({ state: 'stopped', message: 'x' })).toEqual({ model: 'Not connected: hermesd is not running' });
  });
});
