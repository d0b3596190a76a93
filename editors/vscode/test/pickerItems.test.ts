import { describe, expect, it } from 'vitest';
import {
  ModelRow,
  ModelsState,
  buildPickerRows,
  describeCurrent,
  missingKeyVar,
  paretoDescription,
  sortProviders,
  statusBarText,
} from '../src/logic/pickerItems';
import { anthropic, nvidia, ollama, openrouter, openrouterModels } from './fixtures';

const loaded = (result = openrouterModels): ModelsState => ({ status: 'loaded', result });

describe('sortProviders', () => {
  it('puts configured providers first, keeping registration order in each group', () => {
    const sorted = sortProviders([anthropic, openrouter, nvidia, ollama]);
    expect(sorted.map((p) => p.name)).toEqual(['openrouter', 'ollama', 'anthropic', 'nvidia']);
  });
});

describe('missingKeyVar', () => {
  it('names the first key variable of an unconfigured provider', () => {
    expect(missingKeyVar(nvidia)).toBe('NVIDIA_API_KEY');
    expect(missingKeyVar(openrouter)).toBeUndefined();
  });
});

describe('buildPickerRows', () => {
  const rows = buildPickerRows({
    providers: [anthropic, openrouter],
    models: new Map([['openrouter', loaded()]]),
    current: { provider: 'openrouter', model: 'openrouter/pareto-code' },
    minScore: 0.65,
  });

  it('has a separator per provider, configured first', () => {
    const separators = rows.filter((r) => r.kind === 'separator').map((r) => r.label);
    expect(separators).toEqual(['OpenRouter', 'Anthropic (not configured)']);
  });

  it('lists pareto-code first with its description and current score', () => {
    const first = rows[1] as ModelRow;
    expect(first.kind).toBe('model');
    expect(first.model).toBe('openrouter/pareto-code');
    expect(first.isPareto).toBe(true);
    expect(first.description).toBe('Pareto Code (router) · min coding score 0.65');
    expect(first.detail).toContain('auto-routes to the cheapest coder');
    expect(first.current).toBe(true);
  });

  it('marks the current model only', () => {
    const current = rows.filter((r) => r.kind === 'model' && r.current);
    expect(current).toHaveLength(1);
  });

  it('uses a model label as description when it differs from the id', () => {
    const qwen = rows.find((r) => r.kind === 'model' && r.model === 'qwen/qwen3-coder') as ModelRow;
    expect(qwen.description).toBe('Qwen3 Coder');
  });

  it('gives an unconfigured provider a setup row naming the variable, without listing models', () => {
    const setup = rows.filter((r) => r.provider === 'anthropic' && r.kind !== 'separator');
    expect(setup).toHaveLength(1);
    expect(setup[0]).toMatchObject({ kind: 'setup', keyVar: 'ANTHROPIC_API_KEY' });
    expect(setup[0].label).toBe('$(key) Anthropic needs ANTHROPIC_API_KEY');
  });

  it('moves pareto-code first even when the catalog does not', () => {
    const reversed = { ...openrouterModels, models: [...openrouterModels.models].reverse() };
    const r = buildPickerRows({
      providers: [openrouter],
      models: new Map([['openrouter', loaded(reversed)]]),
      current: { provider: '', model: '' },
      minScore: undefined,
    });
    expect((r[1] as ModelRow).model).toBe('openrouter/pareto-code');
    expect((r[1] as ModelRow).description).toBe('Pareto Code (router)');
  });

  it('shows loading, error and empty states as rows that cannot be chosen', () => {
    const r = buildPickerRows({
      providers: [openrouter, ollama, { ...openrouter, name: 'gmi', displayName: 'GMI' }],
      models: new Map<string, ModelsState>([
        ['openrouter', { status: 'loading' }],
        ['ollama', { status: 'error', message: 'connection refused' }],
        ['gmi', loaded({ provider: 'gmi', source: 'fallback', models: [], error: 'HTTP 503' })],
      ]),
      current: { provider: '', model: '' },
      minScore: 0.5,
    });
    expect(r.map((x) => `${x.kind}:${x.label}`)).toEqual([
      'separator:OpenRouter',
      'info:$(loading~spin) Loading models…',
      'separator:Ollama',
      'info:$(error) Could not list models',
      'separator:GMI (built-in list)',
      'info:No models listed',
    ]);
  });

  it('names the sign-in of a provider that needs no key', () => {
    const r = buildPickerRows({
      providers: [{ name: 'bedrock', displayName: 'AWS Bedrock', authType: 'aws_sdk', configured: false }],
      models: new Map(),
      current: { provider: '', model: '' },
      minScore: undefined,
    });
    expect(r.map((x) => x.label)).toEqual(['AWS Bedrock (not configured)', '$(gear) AWS Bedrock signs in with aws_sdk']);
  });

  it('lists an unconfigured provider\'s models when they were fetched, marked with the key', () => {
    const r = buildPickerRows({
      providers: [{ ...openrouter, configured: false, keyEnvVar: undefined }],
      models: new Map([['openrouter', loaded()]]),
      current: { provider: '', model: '' },
      minScore: null,
    });
    const pareto = r[1] as ModelRow;
    expect(pareto.needsKey).toBe('OPENROUTER_API_KEY');
    expect(pareto.description).toBe('Pareto Code (router) · no minimum coding score · needs OPENROUTER_API_KEY');
  });
});

describe('paretoDescription', () => {
  it('falls back to a generic label', () => {
    expect(paretoDescription({ id: 'openrouter/pareto-code' }, 0.9)).toBe('Pareto Code router · min coding score 0.9');
  });
});

describe('status bar and header text', () => {
  it("shows the daemon's label for the model, the full id in the tooltip", () => {
    const path = '/home/u/models/SmolLM2-135M-Instruct-Q8_0.gguf';
    const current = { provider: 'custom', model: path, label: 'SmolLM2-135M-Instruct-Q8_0.gguf' };
    expect(statusBarText(current)).toBe('$(hubot) SmolLM2-135M-Instruct-Q8_0.gguf');
    expect(describeCurrent(current)).toBe(`custom · ${path}`);
    expect(statusBarText({ provider: 'ollama', model: 'llama3' })).toBe('$(hubot) llama3'); // an older daemon: no label
  });
  it('asks to select a model when none is set', () => {
    expect(statusBarText({ provider: '', model: '' })).toBe('$(hubot) Hermes: select model');
    expect(describeCurrent({ provider: '', model: '' })).toBe('No model selected');
    expect(describeCurrent({ provider: 'openrouter', model: '' })).toBe('openrouter · no model set');
    expect(describeCurrent({ provider: 'openrouter', model: 'x/y' })).toBe('openrouter · x/y');
  });
});
