/** The chat webview's HTML shell and its Content-Security-Policy. */
import { randomBytes } from 'crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[+/=]/g, '');
}

export function escapeAttr(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * default-src 'none'; scripts only with the nonce; styles and fonts only from
 * the extension; images only from the extension and data: (a reply's remote
 * images render as links, so a reply cannot make the editor fetch a URL).
 * No 'unsafe-inline' anywhere, so inline handlers and style attributes are dead.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export interface ChatHtmlOptions {
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
}

export function chatHtml(o: ChatHtmlOptions): string {
  const csp = contentSecurityPolicy(o.cspSource, o.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(o.styleUri)}">
<title>Hermes Chat</title>
</head>
<body>
<div id="server-banner" class="banner hidden" role="alert"></div>
<main id="transcript" aria-live="polite" aria-label="Conversation">
  <div id="empty" class="empty">
    <p class="empty-title">Ask Hermes anything.</p>
    <p>Replies stream from the model selected below. Select code and run <strong>Hermes: Ask About Selection</strong> to ask about it.</p>
  </div>
</main>
<footer id="composer">
  <div id="model-bar" class="model-bar">
    <button id="model-button" class="link-button" type="button" title="Select model (Hermes: Select Model)">
      <span id="model-name">…</span>
    </button>
    <span id="model-detail" class="muted"></span>
    <span id="session-usage" class="muted session-usage"></span>
  </div>
  <div id="context-bar" class="context-bar">
    <div id="chips" class="chips" aria-label="Context sent with the next message"></div>
    <span class="context-actions">
      <button id="add-file" class="link-button" type="button" title="Send a file of the workspace (the current one first) with the next message">+ File</button>
      <button id="add-editors" class="link-button" type="button" title="Send every open editor with the next message">+ Open editors</button>
      <button id="add-problems" class="link-button" type="button" title="Send the problems of the selection (or the file)">+ Problems</button>
    </span>
  </div>
  <form id="form" autocomplete="off">
    <textarea id="input" rows="3" placeholder="Ask Hermes… (Enter to send, Shift+Enter for a new line)" aria-label="Message"></textarea>
    <div class="actions">
      <button id="history" class="secondary" type="button" title="Open an earlier conversation (Hermes: Open Conversation…)">History</button>
      <button id="preview" class="secondary" type="button" title="Show exactly what would be sent (hermes/previewRequest)">Preview</button>
      <button id="new-chat" class="secondary" type="button" title="Start a new conversation">New Chat</button>
      <button id="stop" class="danger hidden" type="button" title="Stop the reply">Stop</button>
      <button id="send" type="submit" title="Send (Enter)">Send</button>
    </div>
  </form>
</footer>
<script nonce="${o.nonce}" src="${escapeAttr(o.scriptUri)}"></script>
</body>
</html>`;
}
