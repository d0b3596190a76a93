import { describe, expect, it, vi } from 'vitest';
import { ModelState, formatConfigErrors, statusBarText } from '../src/logic/modelState';

function daemon(detail: () => string | undefined = () => 'minimum coding score 0.65') {
  return vi.fn(async (method: string) => {
    if (method === 'hermes/listProviders') {
      return { providers: [], current: { provider: 'openrouter', model: 'openrouter/pareto-code', detail: detail() } };
    }
    if (method === 'hermes/getConfig') {
      return { path: '/h/config.yaml', config: {} };
    }
    throw new Error(`unexpected ${method}`);
  }) as unknown as <R>(method: string, params?: object) => Promise<R>;
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('ModelState', () => {
  it('reads the current model and the detail the daemon shows beside it', async () => {
    const state = new ModelState(daemon());
    const seen = vi.fn();
    state.onDidChange(seen);
    await state.refresh();
    expect(state.value).toEqual({
      current: { provider: 'openrouter', model: 'openrouter/pareto-code', detail: 'minimum coding score 0.65' },
      configPath: '/h/config.yaml',
      configErrors: [],
    });
    expect(seen).toHaveBeenCalledTimes(1);
    expect(state.header()).toEqual({ model: 'openrouter · openrouter/pareto-code', detail: 'minimum coding score 0.65' });
  });

  it('shares one refresh between concurrent callers', async () => {
    const request = daemon();
    const state = new ModelState(request);
    await Promise.all([state.refresh(), state.refresh()]);
    expect(request).toHaveBeenCalledTimes(2); // listProviders + getConfig once
  });

  it('applies a model change at once and asks the daemon for the detail after any change', async () => {
    let detail: string | undefined = 'minimum coding score 0.65';
    const state = new ModelState(daemon(() => detail));
    await state.refresh();
    detail = 'minimum coding score 0.8';
    state.applyChange({ key: 'openrouter.min_coding_score', value: 0.8 });
    await settle();
    expect(state.header().detail).toBe('minimum coding score 0.8');
    state.applyChange({ key: 'model.default', value: 'x/y' });
    expect(state.header()).toEqual({ model: 'openrouter · x/y' });
    state.applyChange({ key: 'model.default', value: '/m/SmolLM2.gguf', label: 'SmolLM2.gguf' });
    expect(state.value.current?.label).toBe('SmolLM2.gguf');
    expect(statusBarText(state.value.current)).toBe('$(hubot) SmolLM2.gguf');
    expect(state.header().model).toBe('openrouter · SmolLM2.gguf'); // the model line too: never the path
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
