/**
 * The model picker's rows, computed from hermes/listProviders and
 * hermes/listModels results. No vscode import: picker.ts maps these rows to
 * QuickPickItems.
 *
 * Configured providers come first, with their models. An unconfigured
 * provider gets a separator naming the variable it needs and one "set up"
 * row; its models are listed only when the user asks for them (so opening
 * the picker never probes providers the user has no key for).
 */
import { CurrentModel, ListModelsResult, ModelInfo, ProviderInfo } from '../protocol';
import { PARETO_MODEL_ID } from './config';
import { formatScore } from './config';

export type ModelsState =
  | { status: 'loading' }
  | { status: 'loaded'; result: ListModelsResult }
  | { status: 'error'; message: string };

export interface SeparatorRow {
  kind: 'separator';
  label: string;
  provider: string;
}

export interface ModelRow {
  kind: 'model';
  label: string;
  description?: string;
  detail?: string;
  provider: string;
  model: string;
  current: boolean;
  configured: boolean;
  isPareto: boolean;
  /** The variable to set when the provider is not configured. */
  needsKey?: string;
}

/**
 * The row of a provider that has no key yet: choosing it explains which
 * variable to set (its models are not fetched until then).
 */
export interface SetupRow {
  kind: 'setup';
  label: string;
  description?: string;
  detail?: string;
  provider: string;
  keyVar?: string;
  signupUrl?: string;
}

/** A row that cannot be chosen (loading, error, empty list). */
export interface InfoRow {
  kind: 'info';
  label: string;
  description?: string;
  provider: string;
}

export type PickerRow = SeparatorRow | ModelRow | SetupRow | InfoRow;

export interface PickerInput {
  providers: ProviderInfo[];
  models: ReadonlyMap<string, ModelsState>;
  current: CurrentModel;
  /** openrouter.min_coding_score: number, null (no floor) or unknown. */
  minScore: number | null | undefined;
}

/** Configured providers first, each group in registration order. */
export function sortProviders(providers: ProviderInfo[]): ProviderInfo[] {
  return [...providers.filter((p) => p.configured), ...providers.filter((p) => !p.configured)];
}

/** The variable an unconfigured provider needs, or undefined. */
export function missingKeyVar(provider: ProviderInfo): string | undefined {
  if (provider.configured) {
    return undefined;
  }
  return provider.keyEnvVars?.[0];
}

export function providerTitle(provider: ProviderInfo): string {
  return provider.displayName || provider.name;
}

function separatorLabel(provider: ProviderInfo, state: ModelsState | undefined): string {
  let label = providerTitle(provider);
  if (!provider.configured) {
    label += ' (not configured)';
  }
  if (state?.status === 'loaded' && state.result.source === 'fallback') {
    label += ' (built-in list)';
  }
  return label;
}

export function paretoDescription(model: ModelInfo, minScore: number | null | undefined): string {
  const parts = [model.label && model.label !== model.id ? model.label : 'Pareto Code router'];
  if (minScore === null) {
    parts.push('no minimum coding score');
  } else if (minScore !== undefined) {
    parts.push(`min coding score ${formatScore(minScore)}`);
  }
  return parts.join(' · ');
}

function modelRow(provider: ProviderInfo, model: ModelInfo, input: PickerInput): ModelRow {
  const isPareto = model.id === PARETO_MODEL_ID;
  const needsKey = missingKeyVar(provider);
  const current = input.current.provider === provider.name && input.current.model === model.id;
  const descriptionParts: string[] = [];
  if (isPareto) {
    descriptionParts.push(paretoDescription(model, input.minScore));
  } else if (model.label && model.label !== model.id) {
    descriptionParts.push(model.label);
  }
  if (needsKey) {
    descriptionParts.push(`needs ${needsKey}`);
  }
  return {
    kind: 'model',
    label: model.id,
    description: descriptionParts.join(' · ') || undefined,
    detail: isPareto ? model.description : undefined,
    provider: provider.name,
    model: model.id,
    current,
    configured: provider.configured,
    isPareto,
    needsKey,
  };
}

function setupRow(provider: ProviderInfo): SetupRow {
  const key = missingKeyVar(provider);
  const title = providerTitle(provider);
  const needs = key ? `$(key) ${title} needs ${key}` : `$(gear) ${title} signs in with ${provider.authType || 'its own tool'}`;
  return {
    kind: 'setup',
    label: needs,
    description: 'choose for setup help',
    provider: provider.name,
    keyVar: key,
    signupUrl: provider.signupUrl,
  };
}

/** Pareto Code first within its provider; otherwise the daemon's order. */
function orderModels(models: ModelInfo[]): ModelInfo[] {
  const pareto = models.filter((m) => m.id === PARETO_MODEL_ID);
  return [...pareto, ...models.filter((m) => m.id !== PARETO_MODEL_ID)];
}

export function buildPickerRows(input: PickerInput): PickerRow[] {
  const rows: PickerRow[] = [];
  for (const provider of sortProviders(input.providers)) {
    const state = input.models.get(provider.name);
    rows.push({ kind: 'separator', label: separatorLabel(provider, state), provider: provider.name });
    if (!provider.configured && !state) {
      rows.push(setupRow(provider));
      continue;
    }
    if (!state || state.status === 'loading') {
      rows.push({ kind: 'info', label: '$(loading~spin) Loading models…', provider: provider.name });
      continue;
    }
    if (state.status === 'error') {
      rows.push({
        kind: 'info',
        label: '$(error) Could not list models',
        description: state.message,
        provider: provider.name,
      });
      continue;
    }
    const models = orderModels(state.result.models);
    if (models.length === 0) {
      rows.push({ kind: 'info', label: 'No models listed', description: state.result.error, provider: provider.name });
      continue;
    }
    for (const model of models) {
      rows.push(modelRow(provider, model, input));
    }
  }
  return rows;
}

/** The text of the status-bar item: "$(hubot) pareto-code". */
export function statusBarText(current: CurrentModel | undefined): string {
  if (!current || !current.model) {
    return '$(hubot) Hermes: select model';
  }
  const slash = current.model.lastIndexOf('/');
  const short = slash >= 0 ? current.model.slice(slash + 1) : current.model;
  return `$(hubot) ${short}`;
}

/** "openrouter · openrouter/pareto-code", or a hint when nothing is set. */
export function describeCurrent(current: CurrentModel | undefined): string {
  if (!current || (!current.provider && !current.model)) {
    return 'No model selected';
  }
  if (!current.model) {
    return `${current.provider} · no model set`;
  }
  return current.provider ? `${current.provider} · ${current.model}` : current.model;
}
