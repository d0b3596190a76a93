/** Reading values out of the daemon's effective configuration. */

/** `getPath(cfg, 'openrouter.min_coding_score')`; undefined when absent. */
export function getPath(config: Record<string, unknown> | undefined, dotted: string): unknown {
  let node: unknown = config;
  for (const part of dotted.split('.')) {
    if (node === null || typeof node !== 'object' || !(part in (node as object))) {
      return undefined;
    }
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * The Pareto minimum coding score from a config: a number in [0, 1], `null`
 * ("no floor"), or undefined when the config does not say.
 */
export function minScoreOf(config: Record<string, unknown> | undefined): number | null | undefined {
  const value = getPath(config, 'openrouter.min_coding_score');
  if (value === null) {
    return null;
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** "0.65", "no floor", or "" when unknown. */
export function formatScore(score: number | null | undefined): string {
  if (score === null) {
    return 'no floor';
  }
  if (score === undefined) {
    return '';
  }
  return String(Math.round(score * 1000) / 1000);
}

/** The last path segment of a model id, for compact display: "pareto-code". */
export function shortModelName(model: string): string {
  const slash = model.lastIndexOf('/');
  return slash >= 0 && slash < model.length - 1 ? model.slice(slash + 1) : model;
}

/** The directory of a file path (POSIX or Windows separators). */
export function dirnameOf(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i > 0 ? path.slice(0, i) : path;
}

// Temporary, until the picker renders hermes/listPicker (issue 16): the daemon owns these.
export const PARETO_MODEL_ID = 'openrouter/pareto-code';
export const MIN_SCORE_KEY = 'openrouter.min_coding_score';
