/** Protocol payloads shaped like docs/protocol.md's examples. */
import { ListModelsResult, ProviderInfo } from '../src/protocol';

export const openrouter: ProviderInfo = {
  name: 'openrouter',
  displayName: 'OpenRouter',
  description: 'One key, hundreds of models',
  authType: 'api_key',
  signupUrl: 'https://openrouter.ai/keys',
  keyEnvVars: ['OPENROUTER_API_KEY'],
  configured: true,
  keyEnvVar: 'OPENROUTER_API_KEY',
  source: 'bundled',
};

export const anthropic: ProviderInfo = {
  name: 'anthropic',
  displayName: 'Anthropic',
  authType: 'api_key',
  keyEnvVars: ['ANTHROPIC_API_KEY'],
  configured: false,
  signupUrl: 'https://console.anthropic.com/',
};

export const nvidia: ProviderInfo = {
  name: 'nvidia',
  displayName: 'NVIDIA',
  authType: 'api_key',
  keyEnvVars: ['NVIDIA_API_KEY', 'NGC_API_KEY'],
  configured: false,
};

export const ollama: ProviderInfo = {
  name: 'ollama',
  displayName: 'Ollama',
  authType: 'external_process',
  configured: true,
};

export const openrouterModels: ListModelsResult = {
  provider: 'openrouter',
  source: 'live',
  models: [
    {
      id: 'openrouter/pareto-code',
      label: 'Pareto Code (router)',
      description: 'Pareto Code router: auto-routes to the cheapest coder scoring at least 0.65',
      group: 'routers',
    },
    { id: 'anthropic/claude-sonnet-4.6', group: 'models' },
    { id: 'qwen/qwen3-coder', label: 'Qwen3 Coder', group: 'models' },
  ],
};
