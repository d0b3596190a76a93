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
