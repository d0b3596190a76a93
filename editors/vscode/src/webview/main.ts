/**
 * The chat webview's script. Draws the transcript the extension sends and
 * posts the user's actions back; it holds no conversation logic of its own.
 * Loaded with a nonce under a strict CSP: no inline handlers, no eval.
 */
import type { ChatEntry, Chip, ContextKind, FromWebview, HeaderInfo, ServerStatus, SessionMeter, ToWebview, WebviewCommand } from '../logic/chatTypes';
import { metaParts, renderError, renderMarkdown } from './render';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): { draft?: string } | undefined;
  setState(state: { draft?: string }): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const transcript = $<HTMLElement>('transcript');
const empty = $<HTMLElement>('empty');
const form = $<HTMLFormElement>('form');
const input = $<HTMLTextAreaElement>('input');
const sendButton = $<HTMLButtonElement>('send');
const stopButton = $<HTMLButtonElement>('stop');
const newChatButton = $<HTMLButtonElement>('new-chat');
const modelButton = $<HTMLButtonElement>('model-button');
const modelName = $<HTMLElement>('model-name');
const modelDetail = $<HTMLElement>('model-detail');
const sessionUsage = $<HTMLElement>('session-usage');
const banner = $<HTMLElement>('server-banner');
const chips = $<HTMLElement>('chips');
const historyButton = $<HTMLButtonElement>('history');
const previewButton = $<HTMLButtonElement>('preview');

interface Rendered {
  entry: ChatEntry;
  el: HTMLElement;
}

const rendered = new Map<number, Rendered>();
const dirty = new Set<number>();
let frame: number | undefined;
let busy = false;

function post(message: FromWebview): void {
  vscode.postMessage(message);
}

function nearBottom(): boolean {
  return transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
}

function scrollToBottom(): void {
  transcript.scrollTop = transcript.scrollHeight;
}

function createEntryElement(entry: ChatEntry): HTMLElement {
  const el = document.createElement('article');
  el.className = `entry ${entry.role}`;
  el.dataset.id = String(entry.id);
  const role = document.createElement('div');
  role.className = 'role';
  role.textContent = entry.role === 'user' ? 'You' : 'Hermes';
  const reasoning = document.createElement('details');
  reasoning.className = 'reasoning hidden';
  const summary = document.createElement('summary');
  summary.textContent = 'Reasoning';
  const reasoningBody = document.createElement('div');
  reasoningBody.className = 'reasoning-body';
  reasoning.append(summary, reasoningBody);
  const content = document.createElement('div');
  content.className = 'content markdown';
  const error = document.createElement('div');
  error.className = 'error';
  const meta = document.createElement('div');
  meta.className = 'meta';
  const attached = document.createElement('div');
  attached.className = 'attached';
  el.append(role, attached, reasoning, content, error, meta);
  return el;
}

function paint(item: Rendered): void {
  const { entry, el } = item;
  el.classList.toggle('streaming', !!entry.streaming);
  el.classList.toggle('failed', !!entry.error);
  const content = el.querySelector<HTMLElement>('.content')!;
  // renderMarkdown escapes all HTML in the text (markdown-it, html: false).
  content.innerHTML = entry.text ? renderMarkdown(entry.text, { codeActions: entry.role === 'assistant' }) : entry.streaming ? '<p class="muted">…</p>' : '';
  const reasoning = el.querySelector<HTMLDetailsElement>('.reasoning')!;
  reasoning.classList.toggle('hidden', !entry.reasoning);
  if (entry.reasoning) {
    reasoning.querySelector<HTMLElement>('.reasoning-body')!.textContent = entry.reasoning;
  }
  el.querySelector<HTMLElement>('.error')!.innerHTML = renderError(entry);
  const attached = el.querySelector<HTMLElement>('.attached')!;
  attached.replaceChildren(
    ...(entry.attachments ?? []).map((label) => {
      const chip = document.createElement('span');
      chip.className = 'chip';
      chip.textContent = label;
      return chip;
    }),
  );
  const meta = el.querySelector<HTMLElement>('.meta')!;
  meta.textContent = metaParts(entry).join(' · ');
  if (entry.routedModel && entry.routedModel !== entry.model) {
    meta.title = `Routed by ${entry.model ?? 'the router'} to ${entry.routedModel}`;
  }
}

function schedulePaint(id: number): void {
  dirty.add(id);
  if (frame === undefined) {
    frame = requestAnimationFrame(flush);
  }
}

function flush(): void {
  frame = undefined;
  const stick = nearBottom();
  for (const id of dirty) {
    const item = rendered.get(id);
    if (item) {
      paint(item);
    }
  }
  dirty.clear();
  if (stick) {
    scrollToBottom();
  }
}

function upsert(entry: ChatEntry): void {
  const stick = nearBottom();
  let item = rendered.get(entry.id);
  if (!item) {
    item = { entry, el: createEntryElement(entry) };
    rendered.set(entry.id, item);
    transcript.append(item.el);
  } else {
    item.entry = entry;
  }
  empty.classList.add('hidden');
  paint(item);
  if (stick || entry.role === 'user') {
    scrollToBottom();
  }
}

function clearTranscript(): void {
  for (const { el } of rendered.values()) {
    el.remove();
  }
  rendered.clear();
  dirty.clear();
  empty.classList.remove('hidden');
}

function setBusy(value: boolean): void {
  busy = value;
  stopButton.classList.toggle('hidden', !busy);
  sendButton.classList.toggle('hidden', busy);
  sendButton.disabled = busy;
}

function setHeader(header: HeaderInfo): void {
  modelName.textContent = header.model;
  modelDetail.textContent = header.detail ?? '';
}

/** The session's total and context meter beside the model, in the daemon's words. */
function setMeter(meter: SessionMeter | undefined): void {
  sessionUsage.textContent = meter?.total ?? '';
  sessionUsage.title = meter?.context ?? '';
}

function setServer(server: ServerStatus): void {
  banner.replaceChildren();
  if (server.state === 'running') {
    banner.classList.add('hidden');
    return;
  }
  banner.classList.remove('hidden');
  const text = document.createElement('span');
  text.textContent = server.state === 'starting' ? 'Starting hermesd…' : server.message;
  banner.append(text);
  if (server.state === 'stopped') {
    const actions = document.createElement('span');
    actions.className = 'banner-actions';
    const buttons: [string, WebviewCommand][] = [
      ...(server.notFound ? [['Set Path', 'hermes.setServerPath'] as [string, WebviewCommand]] : []),
      ['Restart Server', 'hermes.restartServer'],
      ['Show Logs', 'hermes.showLogs'],
    ];
    for (const [label, command] of buttons) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.dataset.command = command;
      button.textContent = label;
      actions.append(button);
    }
    banner.append(actions);
  }
}

function setChips(list: Chip[]): void {
  chips.replaceChildren(
    ...list.map((c) => {
      const chip = document.createElement('span');
      chip.className = 'chip';
      chip.title = c.title ?? c.label;
      const label = document.createElement('span');
      label.textContent = `${c.label} · ${c.size}`;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'remove-chip link-button';
      remove.dataset.chip = String(c.id);
      remove.title = `Remove ${c.label}`;
      remove.textContent = '×';
      chip.append(label, remove);
      return chip;
    }),
  );
}

function send(): void {
  const text = input.value;
  if (busy || !text.trim()) {
    return;
  }
  post({ type: 'send', text });
  input.value = '';
  vscode.setState({ draft: '' });
}

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const msg = event.data;
  switch (msg.type) {
    case 'state':
      clearTranscript();
      msg.state.entries.forEach(upsert);
      setBusy(msg.state.busy);
      setHeader(msg.state.header);
      setServer(msg.state.server);
      setChips(msg.state.chips);
      setMeter(msg.state.meter);
      scrollToBottom();
      break;
    case 'chips':
      setChips(msg.chips);
      break;
    case 'entry':
      upsert(msg.entry);
      break;
    case 'append': {
      const item = rendered.get(msg.id);
      if (item) {
        item.entry.text += msg.text;
        if (msg.reasoning) {
          item.entry.reasoning = (item.entry.reasoning ?? '') + msg.reasoning;
        }
        schedulePaint(msg.id);
      }
      break;
    }
    case 'busy':
      setBusy(msg.busy);
      break;
    case 'header':
      setHeader(msg.header);
      break;
    case 'meter':
      setMeter(msg.meter);
      break;
    case 'server':
      setServer(msg.server);
      break;
    case 'focusInput':
      input.focus();
      break;
  }
});

form.addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});

input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});

input.addEventListener('input', () => vscode.setState({ draft: input.value }));

stopButton.addEventListener('click', () => post({ type: 'stop' }));
newChatButton.addEventListener('click', () => post({ type: 'newChat' }));
modelButton.addEventListener('click', () => post({ type: 'command', command: 'hermes.selectModel' }));
historyButton.addEventListener('click', () => post({ type: 'command', command: 'hermes.openConversation' }));
previewButton.addEventListener('click', () => post({ type: 'preview', text: input.value }));
for (const [id, what] of [['add-file', 'file'], ['add-editors', 'editors'], ['add-problems', 'problems']] as const) {
  $<HTMLButtonElement>(id).addEventListener('click', () => post({ type: 'addContext', what: what as ContextKind }));
}

document.body.addEventListener('click', (event) => {
  const target = event.target as HTMLElement | null;
  const copy = target?.closest<HTMLElement>('.copy-code');
  if (copy) {
    const code = copy.closest('.code-block')?.querySelector('code')?.textContent ?? '';
    post({ type: 'copy', text: code });
    copy.textContent = 'Copied';
    setTimeout(() => (copy.textContent = 'Copy'), 1500);
    return;
  }
  const codeAction = target?.closest<HTMLElement>('.insert-code, .apply-code');
  if (codeAction) {
    const block = codeAction.closest('.code-block');
    const code = block?.querySelector('code')?.textContent ?? '';
    const language = block?.querySelector('.code-lang')?.textContent ?? '';
    post(codeAction.classList.contains('insert-code') ? { type: 'insert', text: code } : { type: 'apply', text: code, language: language === 'text' ? '' : language });
    return;
  }
  if (target?.closest('.retry')) {
    post({ type: 'retry' });
    return;
  }
  const removeChip = target?.closest<HTMLElement>('.remove-chip');
  if (removeChip?.dataset.chip) {
    post({ type: 'removeChip', id: Number(removeChip.dataset.chip) });
    return;
  }
  const commandButton = target?.closest<HTMLElement>('[data-command]');
  if (commandButton?.dataset.command) {
    post({ type: 'command', command: commandButton.dataset.command as WebviewCommand });
  }
});

input.value = vscode.getState()?.draft ?? '';
setBusy(false);
post({ type: 'ready' });
input.focus();
